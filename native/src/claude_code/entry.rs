//! One line of a Claude Code session log, reduced to what the conversion reads: the values
//! `llmobs/agents/claude_code.py` takes from the dict `json.loads` makes of it, with the same
//! meaning (a later duplicate key wins, a value of another type counts as that code treats it).
//! Whatever this reader is not sure Python would read the same way makes the line unsure
//! (`None`): a string it would have to `str()`, a timestamp of another shape, an escaped
//! surrogate in a value it keeps, a number too large to be sure of.

use crate::json::Cursor;

/// A JSON value as far as the conversion looks at it: a string, or only its truthiness.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Other { truthy: bool },
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(text) => Some(text),
            Value::Other { .. } => None,
        }
    }

    pub fn truthy(&self) -> bool {
        match self {
            Value::Str(text) => !text.is_empty(),
            Value::Other { truthy } => *truthy,
        }
    }

    /// `str(value or "")` where Python would give a string of it: the text, or "" for a falsy
    /// value; None (unsure) for a truthy value that is not a string.
    pub fn text_or_empty(value: Option<&Value>) -> Option<&str> {
        match value {
            None => Some(""),
            Some(value) if !value.truthy() => Some(""),
            Some(value) => value.as_str(),
        }
    }
}

/// Fields `str()`-ed or compared: kept as strings, any other value as its truthiness.
fn value(cursor: &mut Cursor<'_>) -> Option<Value> {
    Some(match cursor.peek()? {
        b'"' => Value::Str(cursor.string()?.into_owned()),
        b'{' | b'[' => {
            let empty = cursor.empty_container_next();
            cursor.pass_value()?;
            Value::Other { truthy: !empty }
        }
        b't' | b'f' => Value::Other { truthy: cursor.boolean()? },
        b'n' => {
            cursor.null().then_some(())?;
            Value::Other { truthy: false }
        }
        _ => {
            let (text, integer) = cursor.number_text()?;
            let zero = if integer { text.bytes().all(|byte| byte == b'-' || byte == b'0') } else { text.parse::<f64>().ok()? == 0.0 };
            Value::Other { truthy: !zero }
        }
    })
}

fn truthy(cursor: &mut Cursor<'_>) -> Option<bool> {
    value(cursor).map(|value| value.truthy())
}

/// `_count(value)`: a non-negative int as itself, anything else (a float, a bool, a string) 0.
/// Integers of 2^53 or more are left to Python.
fn count(cursor: &mut Cursor<'_>) -> Option<u64> {
    if cursor.peek()? == b'-' || cursor.peek()?.is_ascii_digit() {
        let (text, integer) = cursor.number_text()?;
        if !integer || text.starts_with('-') {
            return Some(0);
        }
        let parsed = text.parse::<u64>().ok()?;
        return (parsed < 1 << 53).then_some(parsed);
    }
    cursor.pass_value()?;
    Some(0)
}

/// A logged cost: a non-negative number as a float, else None; a number whose float is not
/// finite is left to Python.
fn cost(cursor: &mut Cursor<'_>) -> Option<Option<f64>> {
    if cursor.peek()? == b'-' || cursor.peek()?.is_ascii_digit() {
        let (text, _) = cursor.number_text()?;
        let parsed = text.parse::<f64>().ok().filter(|parsed| parsed.is_finite())?;
        return Some((parsed >= 0.0).then_some(parsed));
    }
    cursor.pass_value()?;
    Some(None)
}

/// A message's `usage`: the token counts as `_count` reads them, and which keys were written.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub cache_write_1h: u64,
    pub reported: bool, // `input_tokens` or `output_tokens` present, whatever their value
}

impl Usage {
    /// How far a usage snapshot had got: output tokens, then all input.
    pub fn size(&self) -> (u64, u64) {
        (self.output, self.input + self.cache_read + self.cache_write)
    }
}

/// A dict read by `read`; None for any other value, passed over (what `isinstance(v, dict)` sees).
fn dict<T>(cursor: &mut Cursor<'_>, read: impl FnOnce(&mut Cursor<'_>) -> Option<T>) -> Option<Option<T>> {
    if cursor.peek()? == b'{' {
        read(cursor).map(Some)
    } else {
        cursor.pass_value()?;
        Some(None)
    }
}

fn usage(cursor: &mut Cursor<'_>) -> Option<Usage> {
    let mut usage = Usage::default();
    cursor.object(|cursor, key| {
        match key {
            b"input_tokens" => {
                usage.input = count(cursor)?;
                usage.reported = true;
            }
            b"output_tokens" => {
                usage.output = count(cursor)?;
                usage.reported = true;
            }
            b"cache_read_input_tokens" => usage.cache_read = count(cursor)?,
            b"cache_creation_input_tokens" => usage.cache_write = count(cursor)?,
            b"cache_creation" => {
                let mut hour = 0;
                dict(cursor, |cursor| {
                    cursor.object(|cursor, key| if key == b"ephemeral_1h_input_tokens" { count(cursor).map(|found| hour = found) } else { cursor.pass_value() })
                })?;
                usage.cache_write_1h = hour;
            }
            _ => cursor.pass_value()?,
        }
        Some(())
    })?;
    Some(usage)
}

/// One content block (a dict in `message.content`).
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub kind: Option<Value>,
    pub text: Option<Value>,
    pub id: Option<Value>,
    pub name: Option<Value>,
    pub tool_use_id: Option<Value>,
    pub is_error: bool,
}

impl Block {
    pub fn is(&self, kind: &str) -> bool {
        self.kind.as_ref().and_then(Value::as_str) == Some(kind)
    }
}

fn block(cursor: &mut Cursor<'_>) -> Option<Block> {
    let mut block = Block::default();
    cursor.object(|cursor, key| {
        match key {
            b"type" => block.kind = Some(value(cursor)?),
            b"text" => block.text = Some(value(cursor)?),
            b"id" => block.id = Some(value(cursor)?),
            b"name" => block.name = Some(value(cursor)?),
            b"tool_use_id" => block.tool_use_id = Some(value(cursor)?),
            b"is_error" => block.is_error = truthy(cursor)?,
            _ => cursor.pass_value()?,
        }
        Some(())
    })?;
    // `str(block.get("name") or "tool")` of a truthy name that is not a string is Python's to write
    if block.name.as_ref().is_some_and(|name| name.truthy() && name.as_str().is_none()) {
        return None;
    }
    Some(block)
}

/// `message.content`: a string, the list's dict items, or nothing readable.
#[derive(Clone, Debug, Default)]
pub enum Content {
    #[default]
    None,
    Text(String),
    Blocks(Vec<Block>),
}

fn content(cursor: &mut Cursor<'_>) -> Option<Content> {
    match cursor.peek()? {
        b'"' => Some(Content::Text(cursor.string()?.into_owned())),
        b'[' => {
            let mut blocks = Vec::new();
            cursor.list(|cursor| {
                if cursor.peek()? == b'{' {
                    blocks.push(block(cursor)?);
                    Some(())
                } else {
                    cursor.pass_value()
                }
            })?;
            Some(Content::Blocks(blocks))
        }
        _ => {
            cursor.pass_value()?;
            Some(Content::None)
        }
    }
}

/// A line's API `message` (a dict; anything else reads as an empty one).
#[derive(Clone, Debug, Default)]
pub struct Message {
    pub id: Option<Value>,
    pub model: Option<Value>,
    pub usage: Option<Usage>,
    pub content: Content,
}

fn message(cursor: &mut Cursor<'_>) -> Option<Message> {
    let mut message = Message::default();
    cursor.object(|cursor, key| {
        match key {
            b"id" => message.id = Some(value(cursor)?),
            b"model" => message.model = Some(value(cursor)?),
            b"usage" => message.usage = dict(cursor, usage)?,
            b"content" => message.content = content(cursor)?,
            _ => cursor.pass_value()?,
        }
        Some(())
    })?;
    Some(message)
}

/// A `progress` line's `data`: what says whether it embeds a subagent's line.
#[derive(Clone, Debug, Default)]
pub struct Data {
    pub kind: Option<Value>,
    pub agent_id: Option<Value>,
    pub message: Option<Box<Entry>>, // `data.message` when it is a dict
}

fn data(cursor: &mut Cursor<'_>, depth: u32) -> Option<Data> {
    let mut data = Data::default();
    cursor.object(|cursor, key| {
        match key {
            b"type" => data.kind = Some(value(cursor)?),
            b"agentId" => data.agent_id = Some(value(cursor)?),
            b"message" => data.message = dict(cursor, |cursor| entry(cursor, depth + 1))?.map(Box::new),
            _ => cursor.pass_value()?,
        }
        Some(())
    })?;
    Some(data)
}

/// A timestamp as `datetime.fromisoformat(stamp.replace("Z", "+00:00"))` reads it, when it is
/// written as Claude Code writes them (`YYYY-MM-DDTHH:MM:SS`, 1 to 6 fraction digits, `Z` or
/// `±HH:MM`): microseconds since the epoch. None for any other shape (Python's to judge).
pub fn moment(stamp: &str) -> Option<i64> {
    let bytes = stamp.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes.get(range).is_some_and(|part| part.iter().all(u8::is_ascii_digit));
    let shape = bytes.len() >= 20
        && digits(0..4)
        && bytes[4] == b'-'
        && digits(5..7)
        && bytes[7] == b'-'
        && digits(8..10)
        && bytes[10] == b'T'
        && digits(11..13)
        && bytes[13] == b':'
        && digits(14..16)
        && bytes[16] == b':'
        && digits(17..19);
    if !shape {
        return None;
    }
    let mut zone = 19;
    if bytes[19] == b'.' {
        let fraction = bytes[20..].iter().take_while(|byte| byte.is_ascii_digit()).count();
        if !(1..=6).contains(&fraction) {
            return None;
        }
        zone = 20 + fraction;
    }
    let zone_ok = match &bytes[zone..] {
        [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|byte| byte.is_ascii_digit()),
        _ => false,
    };
    if !zone_ok {
        return None;
    }
    crate::time::rfc3339_micros(bytes)
}

/// The line's own fields: each `Some` when its key was written (a later one replacing an
/// earlier), strings kept, other values as their truthiness.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    pub kind: Option<Value>,
    pub timestamp: Option<Value>,
    pub session_id: Option<Value>,
    pub uuid: Option<Value>,
    pub agent_id: Option<Value>,
    pub cwd: Option<Value>,
    pub git_branch: Option<Value>,
    pub request_id: Option<Value>,
    pub is_sidechain: Option<bool>,
    pub is_meta: bool,
    pub is_compact_summary: bool,
    pub is_visible_in_transcript_only: bool,
    pub tool_use_result: Option<Option<String>>, // present: the agent id it names, if it is a dict naming one
    pub cost: Option<f64>,
    pub message: Option<Message>,
    pub data: Option<Data>,
}

impl Entry {
    pub fn kind(&self) -> Option<&str> {
        self.kind.as_ref().and_then(Value::as_str)
    }

    pub fn blocks(&self) -> &[Block] {
        match self.message.as_ref().map(|message| &message.content) {
            Some(Content::Blocks(blocks)) => blocks,
            _ => &[],
        }
    }

    /// The subagent's line inside an `agent_progress` line, as a sidechain line of its own: the
    /// inner line's fields over the outer line's session, cwd and timestamp.
    pub fn embedded(&self) -> Option<Entry> {
        let data = self.data.as_ref()?;
        if data.kind.as_ref().and_then(Value::as_str) != Some("agent_progress") {
            return None;
        }
        let inner = data.message.as_deref()?;
        if !matches!(inner.kind(), Some("user" | "assistant")) {
            return None;
        }
        let mut embedded = inner.clone();
        embedded.session_id = inner.session_id.clone().or_else(|| Some(self.session_id.clone().unwrap_or(Value::Other { truthy: false })));
        embedded.cwd = inner.cwd.clone().or_else(|| Some(self.cwd.clone().unwrap_or(Value::Other { truthy: false })));
        embedded.timestamp = inner.timestamp.clone().or_else(|| Some(self.timestamp.clone().unwrap_or(Value::Other { truthy: false })));
        embedded.is_sidechain = Some(true);
        embedded.agent_id = match &data.agent_id {
            Some(agent) if agent.truthy() => Some(agent.clone()),
            _ => inner.agent_id.clone(),
        };
        Some(embedded)
    }

    /// Where the line's fields that Python would `str()` or parse are not ones this reader can
    /// be sure of: then the whole line is Python's.
    fn sure(&self) -> bool {
        let str_able = |value: &Option<Value>| Value::text_or_empty(value.as_ref()).is_some();
        let timestamp_ok = match self.timestamp.as_ref().and_then(Value::as_str) {
            Some(stamp) => moment(stamp).is_some(),
            None => true,
        };
        str_able(&self.session_id) && str_able(&self.uuid) && str_able(&self.agent_id) && timestamp_ok
    }
}

fn entry(cursor: &mut Cursor<'_>, depth: u32) -> Option<Entry> {
    let mut entry = Entry::default();
    cursor.object(|cursor, key| {
        match key {
            b"type" => entry.kind = Some(value(cursor)?),
            b"timestamp" => entry.timestamp = Some(value(cursor)?),
            b"sessionId" => entry.session_id = Some(value(cursor)?),
            b"uuid" => entry.uuid = Some(value(cursor)?),
            b"agentId" => entry.agent_id = Some(value(cursor)?),
            b"cwd" => entry.cwd = Some(value(cursor)?),
            b"gitBranch" => entry.git_branch = Some(value(cursor)?),
            b"requestId" => entry.request_id = Some(value(cursor)?),
            b"isSidechain" => entry.is_sidechain = Some(truthy(cursor)?),
            b"isMeta" => entry.is_meta = truthy(cursor)?,
            b"isCompactSummary" => entry.is_compact_summary = truthy(cursor)?,
            b"isVisibleInTranscriptOnly" => entry.is_visible_in_transcript_only = truthy(cursor)?,
            b"costUSD" => entry.cost = cost(cursor)?,
            b"message" => entry.message = dict(cursor, message)?,
            b"data" if depth == 0 => entry.data = dict(cursor, |cursor| data(cursor, depth))?,
            b"toolUseResult" => {
                let mut agent = None;
                dict(cursor, |cursor| {
                    cursor.object(|cursor, key| if key == b"agentId" { value(cursor).map(|found| agent = found.as_str().map(str::to_owned)) } else { cursor.pass_value() })
                })?;
                entry.tool_use_result = Some(agent);
            }
            _ => cursor.pass_value()?,
        }
        Some(())
    })?;
    entry.sure().then_some(entry)
}

/// What one line of a file is, to the conversion.
pub enum Line {
    /// Only whitespace (as `bytes.strip()` sees it): not a line to read.
    Blank,
    Entry(Box<Entry>),
    /// Not read here: Python decides whether it is valid JSON and, if so, the line is converted
    /// by Python as a whole.
    Unsure,
}

/// One line (without its newline).
pub fn read_line(line: &[u8]) -> Line {
    if line.iter().all(|byte| matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)) {
        return Line::Blank;
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return Line::Unsure;
    };
    let mut cursor = Cursor::new(text);
    if cursor.peek() != Some(b'{') {
        return Line::Unsure;
    }
    match entry(&mut cursor, 0) {
        Some(entry) if cursor.at_end() => Line::Entry(Box::new(entry)),
        _ => Line::Unsure,
    }
}

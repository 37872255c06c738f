//! One JSONL line to one record, for the lines this decoder is sure of.
//!
//! The pydantic models in `llmobs.records` are the judge. This decoder accepts a subset of what
//! they accept, with identical values; for every other line it answers `None` ("unsure") and the
//! line goes to the models, which give the verdict and the reason. Anything unusual is left to
//! them: escapes of surrogates, a BOM, a number where a string belongs, null for a defaulted
//! field (which the models refuse, with their reason), a key read twice (however it is escaped),
//! a timestamp in a rare shape, an id Python's `int(…, 16)` reads oddly, a group attribute that is
//! not a string, a newer format version.
//!
//! It is a single pass over the line's bytes: the keys the records know are parsed as their
//! fields; every other value is only checked to be valid JSON (as the models check the whole line).

use std::borrow::Cow;
use std::mem::take;

use crate::ids::id64;
use crate::json::Cursor;
use crate::time::rfc3339_micros;

/// The largest count JSON and every reader represent exactly (`MAX_COUNT` in records.py).
pub const MAX_COUNT: u64 = 1 << 53;
/// The smallest sampling probability the format allows (`MIN_SAMPLE_RATE`): 2⁻⁵⁶.
pub const MIN_SAMPLE_RATE: f64 = 1.0 / 72_057_594_037_927_936.0;
/// The attribute names a span's model is read from, in order of preference.
pub const MODEL_ATTRS: [&str; 3] = ["gen_ai.request.model", "gen_ai.response.model", "llm.model_name"];
/// A root span's attributes kept as its request's texts: the input (previewed) and the request id.
const ROOT_TEXT_ATTRS: [&str; 2] = ["input", "request.id"];
/// Characters of a root span's `input` kept as the request's preview.
pub const INPUT_PREVIEW_CHARS: usize = 500;

/// A field's value as written: absent, null, or a value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
enum Field<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Field<T> {
    /// The value of a field that may be null or absent.
    fn nullable(self) -> Option<T> {
        match self {
            Field::Value(value) => Some(value),
            _ => None,
        }
    }
}

/// What a line holds, every field of the three record types side by side: a field that does not
/// belong to the line's type is parsed too, so a badly typed one makes the line unsure (the models
/// would ignore it), which only ever sends more lines to them.
#[derive(Default)]
struct Line<'a> {
    record_type: Field<Cow<'a, str>>,
    v: Field<u64>,
    trace_id: Field<Cow<'a, str>>,
    span_id: Field<Cow<'a, str>>,
    parent_id: Field<Cow<'a, str>>,
    name: Field<Cow<'a, str>>,
    kind: Field<Cow<'a, str>>,
    start: Field<Cow<'a, str>>,
    duration_ms: Field<f64>,
    status: Field<Cow<'a, str>>,
    error: Field<ErrorInfo<'a>>,
    attempt: Field<u64>,
    retry_of: Field<Cow<'a, str>>,
    attrs: Field<Attrs<'a>>,
    sample_rate: Field<f64>,
    time: Field<Cow<'a, str>>,
    provider: Field<Cow<'a, str>>,
    model: Field<Cow<'a, str>>,
    input_tokens: Field<u64>,
    output_tokens: Field<u64>,
    cache_read_tokens: Field<u64>,
    cache_write_tokens: Field<u64>,
    cache_write_1h_tokens: Field<u64>,
    reasoning_tokens: Field<u64>,
    cost_usd: Field<f64>,
    scope: Field<Cow<'a, str>>,
    passed: Field<bool>,
    score: Field<f64>,
    query: Field<Cow<'a, str>>,
}

/// Group attributes a line can be decoded with here (each takes a bit of a 64-bit mask).
const MAX_GROUP_ATTRS: usize = 58;

/// What the columns use of a span's attributes.
#[derive(Default)]
struct Attrs<'a> {
    /// The non-empty string values of MODEL_ATTRS, in their order.
    models: [Option<Cow<'a, str>>; 3],
    input: Option<Cow<'a, str>>,
    request_id: Option<Cow<'a, str>>,
    /// Per group attribute asked for: its string value; None when absent or null.
    groups: Vec<Option<Cow<'a, str>>>,
}

#[derive(Default)]
struct ErrorInfo<'a> {
    error_type: Field<Cow<'a, str>>,
}

/// An attribute value as far as the columns care: a string, null, or anything else the models
/// accept (a number, a bool, a list of scalars).
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue<'a> {
    Text(Cow<'a, str>),
    Null,
    Other,
}

impl<'a> Cursor<'a> {
    fn text_or_null(&mut self) -> Option<Field<Cow<'a, str>>> {
        if self.null() {
            return Some(Field::Null);
        }
        self.string().map(Field::Value)
    }

    fn count_or_null(&mut self) -> Option<Field<u64>> {
        if self.null() {
            return Some(Field::Null);
        }
        self.number()?.count().map(Field::Value)
    }

    fn float_or_null(&mut self) -> Option<Field<f64>> {
        if self.null() {
            return Some(Field::Null);
        }
        self.number()?.float().map(Field::Value)
    }

    fn bool_or_null(&mut self) -> Option<Field<bool>> {
        if self.null() {
            return Some(Field::Null);
        }
        self.boolean().map(Field::Value)
    }

    fn error_info(&mut self) -> Option<Field<ErrorInfo<'a>>> {
        if self.null() {
            return Some(Field::Null);
        }
        let mut info = ErrorInfo::default();
        let mut seen_message = false;
        self.object(|cursor, key| {
            match key {
                b"type" if info.error_type == Field::Absent => info.error_type = cursor.text_or_null()?,
                b"message" if !seen_message => {
                    seen_message = true;
                    cursor.text_or_null()?;
                }
                b"type" | b"message" => return None,
                _ => cursor.skip_value()?,
            }
            Some(())
        })?;
        Some(Field::Value(info))
    }

    /// A span's attributes: every value checked to be one the models accept (a scalar or a list
    /// of scalars), and the few the columns use kept. An attribute the columns use that appears
    /// twice (the models keep the last), or a group value that is not a string, leaves the line to
    /// the models.
    fn attrs(&mut self, group_attrs: &[String]) -> Option<Field<Attrs<'a>>> {
        if self.null() {
            return Some(Field::Null);
        }
        if group_attrs.len() > MAX_GROUP_ATTRS {
            return None;
        }
        let mut found = Attrs { groups: vec![None; group_attrs.len()], ..Attrs::default() };
        let mut seen = 0u64;
        self.object(|cursor, key| {
            // MODEL_ATTRS in their order, then the root span's texts
            let fixed = MODEL_ATTRS.iter().chain(&ROOT_TEXT_ATTRS).position(|name| name.as_bytes() == key);
            let group = group_attrs.iter().position(|name| name.as_bytes() == key);
            if fixed.is_none() && group.is_none() {
                return cursor.attr_value().map(drop);
            }
            for bit in fixed.into_iter().chain(group.map(|group| 5 + group)) {
                if seen & (1 << bit) != 0 {
                    return None;
                }
                seen |= 1 << bit;
            }
            let value = cursor.attr_value()?;
            if let Some(group) = group {
                found.groups[group] = match &value {
                    AttrValue::Text(text) => Some(text.clone()),
                    AttrValue::Null => None,
                    AttrValue::Other => return None,
                };
            }
            match (fixed, value) {
                (Some(slot @ 0..=2), AttrValue::Text(text)) if !text.is_empty() => found.models[slot] = Some(text),
                (Some(3), AttrValue::Text(text)) => found.input = Some(text),
                (Some(4), AttrValue::Text(text)) => found.request_id = Some(text),
                _ => {}
            }
            Some(())
        })?;
        Some(Field::Value(found))
    }

    fn attr_value(&mut self) -> Option<AttrValue<'a>> {
        Some(match self.peek()? {
            b'"' => AttrValue::Text(self.string()?),
            b'n' => {
                self.null().then_some(())?;
                AttrValue::Null
            }
            b'[' => {
                self.list_of_scalars()?;
                AttrValue::Other
            }
            b'{' => return None,
            _ => {
                self.scalar()?;
                AttrValue::Other
            }
        })
    }
}

/// Set a field read from the line, unless the line already had it (the models would keep the
/// last; this decoder leaves such a line to them).
fn once<T>(field: &mut Field<T>, value: Option<Field<T>>) -> Option<()> {
    if !matches!(field, Field::Absent) {
        return None;
    }
    *field = value?;
    Some(())
}

/// The fields records have, found by a key's length first (a jump), then its bytes.
fn field_of(key: &[u8]) -> Option<u8> {
    Some(match (key.len(), key) {
        (1, b"v") => 0,
        (4, b"type") => 1,
        (4, b"name") => 2,
        (4, b"kind") => 3,
        (4, b"time") => 4,
        (5, b"start") => 5,
        (5, b"error") => 6,
        (5, b"attrs") => 7,
        (5, b"model") => 8,
        (5, b"scope") => 9,
        (5, b"score") => 10,
        (5, b"query") => 11,
        (6, b"status") => 12,
        (6, b"passed") => 13,
        (7, b"span_id") => 14,
        (7, b"attempt") => 15,
        (7, b"comment") => 16,
        (8, b"trace_id") => 17,
        (8, b"retry_of") => 18,
        (8, b"provider") => 19,
        (8, b"cost_usd") => 20,
        (9, b"parent_id") => 21,
        (11, b"duration_ms") => 22,
        (11, b"sample_rate") => 23,
        (12, b"input_tokens") => 24,
        (13, b"output_tokens") => 25,
        (16, b"reasoning_tokens") => 26,
        (17, b"cache_read_tokens") => 27,
        (18, b"cache_write_tokens") => 28,
        (21, b"cache_write_1h_tokens") => 29,
        _ => return None,
    })
}

/// Parse `text` into `line` (empty on entry): filled in place, since a line of every field is a
/// kilobyte, and moving it costs more than parsing a short value.
fn parse_line<'a>(text: &'a str, group_attrs: &[String], line: &mut Line<'a>) -> Option<()> {
    let mut cursor = Cursor::new(text);
    let mut comment_seen = false;
    cursor.object(|cursor, key| match field_of(key) {
        Some(0) => once(&mut line.v, cursor.count_or_null()),
        Some(1) => once(&mut line.record_type, cursor.text_or_null()),
        Some(2) => once(&mut line.name, cursor.text_or_null()),
        Some(3) => once(&mut line.kind, cursor.text_or_null()),
        Some(4) => once(&mut line.time, cursor.text_or_null()),
        Some(5) => once(&mut line.start, cursor.text_or_null()),
        Some(6) => once(&mut line.error, cursor.error_info()),
        Some(7) => once(&mut line.attrs, cursor.attrs(group_attrs)),
        Some(8) => once(&mut line.model, cursor.text_or_null()),
        Some(9) => once(&mut line.scope, cursor.text_or_null()),
        Some(10) => once(&mut line.score, cursor.float_or_null()),
        Some(11) => once(&mut line.query, cursor.text_or_null()),
        Some(12) => once(&mut line.status, cursor.text_or_null()),
        Some(13) => once(&mut line.passed, cursor.bool_or_null()),
        Some(14) => once(&mut line.span_id, cursor.text_or_null()),
        Some(15) => once(&mut line.attempt, cursor.count_or_null()),
        Some(16) if !std::mem::replace(&mut comment_seen, true) => cursor.text_or_null().map(drop),
        Some(16) => None,
        Some(17) => once(&mut line.trace_id, cursor.text_or_null()),
        Some(18) => once(&mut line.retry_of, cursor.text_or_null()),
        Some(19) => once(&mut line.provider, cursor.text_or_null()),
        Some(20) => once(&mut line.cost_usd, cursor.float_or_null()),
        Some(21) => once(&mut line.parent_id, cursor.text_or_null()),
        Some(22) => once(&mut line.duration_ms, cursor.float_or_null()),
        Some(23) => once(&mut line.sample_rate, cursor.float_or_null()),
        Some(24) => once(&mut line.input_tokens, cursor.count_or_null()),
        Some(25) => once(&mut line.output_tokens, cursor.count_or_null()),
        Some(26) => once(&mut line.reasoning_tokens, cursor.count_or_null()),
        Some(27) => once(&mut line.cache_read_tokens, cursor.count_or_null()),
        Some(28) => once(&mut line.cache_write_tokens, cursor.count_or_null()),
        Some(29) => once(&mut line.cache_write_1h_tokens, cursor.count_or_null()),
        _ => cursor.skip_value(),
    })?;
    cursor.at_end().then_some(())
}

/// A span the models accept, with the values its columns take.
#[derive(Debug, PartialEq)]
pub struct SpanRow<'a> {
    pub trace_id: Cow<'a, str>,
    pub name: Cow<'a, str>,
    pub kind: Option<Cow<'a, str>>,
    pub start_us: i64,
    pub duration_ms: f64,
    pub is_root: bool,
    /// The error type of a failed span ("unspecified" when it names none); None when it succeeded.
    pub error_type: Option<Cow<'a, str>>,
    pub attempt: i32,
    pub retry_of: i64,
    pub model: Option<Cow<'a, str>>,
    pub span_id: i64,
    pub parent: i64,
    pub sample_rate: f64,
    /// Per group attribute asked for: its string value, None when absent or null.
    pub groups: Vec<Option<Cow<'a, str>>>,
    /// A root span's `input` (its first INPUT_PREVIEW_CHARS characters) and `request.id`.
    pub input: Option<Cow<'a, str>>,
    pub request_id: Option<Cow<'a, str>>,
}

#[derive(Debug, PartialEq)]
pub struct UsageRow<'a> {
    pub trace_id: Cow<'a, str>,
    pub time_us: i64,
    pub provider: Option<Cow<'a, str>>,
    pub model: Cow<'a, str>,
    /// -1 when not reported.
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub cache_write_1h_tokens: i64,
    pub reasoning_tokens: i64,
    /// NaN when not logged.
    pub cost_usd: f64,
    /// 0 when the usage names no span.
    pub span: i64,
    pub span_scope: bool,
    pub sample_rate: f64,
}

#[derive(Debug, PartialEq)]
pub struct EvalRow<'a> {
    pub trace_id: Cow<'a, str>,
    pub time_us: i64,
    pub name: Cow<'a, str>,
    /// 1 passed, 0 failed, -1 null.
    pub passed: i8,
    /// NaN when null.
    pub score: f64,
    /// Kept for failed evals only.
    pub query: Option<Cow<'a, str>>,
}

#[derive(Debug, PartialEq)]
pub enum Record<'a> {
    Span(SpanRow<'a>),
    Usage(UsageRow<'a>),
    Eval(EvalRow<'a>),
}

/// The record on `line` (without its newline), or None when the models must judge it.
pub fn decode<'a>(line: &'a [u8], group_attrs: &[String]) -> Option<Record<'a>> {
    let mut parsed = Line::default();
    parse_line(std::str::from_utf8(line).ok()?, group_attrs, &mut parsed)?;
    if !matches!(parsed.v, Field::Absent | Field::Value(1)) {
        return None;
    }
    let Field::Value(record_type) = take(&mut parsed.record_type) else { return None };
    match record_type.as_ref() {
        "span" => span(&mut parsed, group_attrs).map(Record::Span),
        "usage" => usage(&mut parsed).map(Record::Usage),
        "eval" => eval(&mut parsed).map(Record::Eval),
        _ => None,
    }
}

/// A required string that may not be empty.
fn non_empty(field: Field<Cow<'_, str>>) -> Option<Cow<'_, str>> {
    field.nullable().filter(|value| !value.is_empty())
}

/// A string that may be null or absent, but not empty.
fn non_empty_or_none(field: Field<Cow<'_, str>>) -> Option<Option<Cow<'_, str>>> {
    match field {
        Field::Value(value) if value.is_empty() => None,
        other => Some(other.nullable()),
    }
}

/// A field with a default that may not be null.
fn defaulted<T>(field: Field<T>, default: T) -> Option<T> {
    match field {
        Field::Absent => Some(default),
        Field::Null => None,
        Field::Value(value) => Some(value),
    }
}

fn sample_rate(field: Field<f64>) -> Option<f64> {
    defaulted(field, 1.0).filter(|rate| (MIN_SAMPLE_RATE..=1.0).contains(rate))
}

fn count(field: Field<u64>) -> Option<i64> {
    defaulted(field, 0).filter(|&count| count <= MAX_COUNT).map(|count| count as i64)
}

/// A reported count: -1 when null or absent.
fn reported(field: Field<u64>) -> Option<i64> {
    match field {
        Field::Value(count) if count <= MAX_COUNT => Some(count as i64),
        Field::Value(_) => None,
        _ => Some(-1),
    }
}

fn span<'a>(line: &mut Line<'a>, group_attrs: &[String]) -> Option<SpanRow<'a>> {
    let trace_id = non_empty(take(&mut line.trace_id))?;
    let span_id = non_empty(take(&mut line.span_id))?;
    let name = non_empty(take(&mut line.name))?;
    let start_us = rfc3339_micros(take(&mut line.start).nullable()?.as_bytes())?;
    let duration_ms = line.duration_ms.nullable().filter(|value| *value >= 0.0)?;
    let is_error = match take(&mut line.status).nullable()?.as_ref() {
        "ok" => false,
        "error" => true,
        _ => return None,
    };
    let error_type = match take(&mut line.error) {
        Field::Value(info) => Some(non_empty(info.error_type)?),
        _ => None,
    };
    let attempt = i32::try_from(defaulted(line.attempt, 1)?).ok().filter(|&attempt| attempt >= 1)?;
    let parent_id = non_empty_or_none(take(&mut line.parent_id))?;
    let retry_of = non_empty_or_none(take(&mut line.retry_of))?;
    if attempt > 1 && retry_of.is_none() {
        return None;
    }
    let is_root = parent_id.is_none();
    let mut row = SpanRow {
        trace_id,
        name,
        kind: take(&mut line.kind).nullable(),
        start_us,
        duration_ms,
        is_root,
        error_type: is_error.then(|| error_type.unwrap_or(Cow::Borrowed("unspecified"))),
        attempt,
        retry_of: match retry_of {
            Some(origin) if attempt != 1 => id64(&origin)?,
            _ => 0,
        },
        model: None,
        span_id: id64(&span_id)?,
        parent: match parent_id {
            Some(parent) => id64(&parent)?,
            None => 0,
        },
        sample_rate: sample_rate(line.sample_rate)?,
        groups: vec![None; group_attrs.len()],
        input: None,
        request_id: None,
    };
    if let Field::Value(attrs) = take(&mut line.attrs) {
        row.model = attrs.models.into_iter().flatten().next();
        row.groups = attrs.groups;
        if is_root {
            row.input = attrs.input.map(preview);
            row.request_id = attrs.request_id;
        }
    }
    Some(row)
}

/// The first INPUT_PREVIEW_CHARS characters (code points, as Python counts them).
fn preview(text: Cow<'_, str>) -> Cow<'_, str> {
    match text.char_indices().nth(INPUT_PREVIEW_CHARS) {
        None => text,
        Some((cut, _)) => match text {
            Cow::Borrowed(value) => Cow::Borrowed(&value[..cut]),
            Cow::Owned(mut value) => {
                value.truncate(cut);
                Cow::Owned(value)
            }
        },
    }
}

fn usage<'a>(line: &mut Line<'a>) -> Option<UsageRow<'a>> {
    let span_scope = match take(&mut line.scope) {
        Field::Absent => false,
        Field::Null => return None,
        Field::Value(scope) => match scope.as_ref() {
            "call" => false,
            "span" => true,
            _ => return None,
        },
    };
    let cost_usd = match line.cost_usd {
        Field::Value(cost) if cost >= 0.0 => cost,
        Field::Value(_) => return None,
        _ => f64::NAN,
    };
    Some(UsageRow {
        trace_id: non_empty(take(&mut line.trace_id))?,
        time_us: rfc3339_micros(take(&mut line.time).nullable()?.as_bytes())?,
        provider: take(&mut line.provider).nullable(),
        model: non_empty(take(&mut line.model))?,
        input_tokens: reported(line.input_tokens)?,
        output_tokens: reported(line.output_tokens)?,
        cache_read_tokens: count(line.cache_read_tokens)?,
        cache_write_tokens: count(line.cache_write_tokens)?,
        cache_write_1h_tokens: count(line.cache_write_1h_tokens)?,
        reasoning_tokens: count(line.reasoning_tokens)?,
        cost_usd,
        span: match take(&mut line.span_id).nullable() {
            Some(span_id) => id64(&span_id)?,
            None => 0,
        },
        span_scope,
        sample_rate: sample_rate(line.sample_rate)?,
    })
}

fn eval<'a>(line: &mut Line<'a>) -> Option<EvalRow<'a>> {
    let passed = match line.passed {
        Field::Value(true) => 1,
        Field::Value(false) => 0,
        _ => -1,
    };
    Some(EvalRow {
        trace_id: non_empty(take(&mut line.trace_id))?,
        time_us: rfc3339_micros(take(&mut line.time).nullable()?.as_bytes())?,
        name: non_empty(take(&mut line.name))?,
        passed,
        score: line.score.nullable().unwrap_or(f64::NAN),
        query: if passed == 0 { take(&mut line.query).nullable() } else { None },
    })
}

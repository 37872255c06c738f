//! Claude Code's lines into llmobs records: the same turns, calls, copies and tool spans as
//! `llmobs/agents/claude_code.py` (whose docstring tells the traps), step for step, so that the
//! two give equal records on every input this reader is sure of.

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::emit::{hex_id, RecordWriter};
use super::entry::{Block, Content, Entry, Value};

const AGENT: &str = "claude-code";
const PROMPT_CHARS: usize = 2000;
const KNOWN_UNMAPPED: [&str; 10] =
    ["summary", "system", "file-history-snapshot", "progress", "queue-operation", "custom-title", "agent-name", "tag", "pr-link", "last-prompt"];
const NOT_TYPED: [&str; 8] = [
    "<local-command-stdout>",
    "<local-command-stderr>",
    "<local-command-caveat>",
    "<bash-stdout>",
    "<bash-stderr>",
    "<task-notification>",
    "<system-reminder>",
    "[Request interrupted by user",
];
const IN_FILE: u8 = 0;
const EMBEDDED: u8 = 1;

/// One file's lines as read: (line number, entry) for each line read, and the lines that were not.
pub struct FileLines {
    pub stem: String,
    pub lines: u64,
    pub entries: Vec<(u64, Entry)>,
    pub bad: Vec<(u64, String)>,
}

/// What reading one file found, as `Converted` in Python holds it.
#[derive(Debug, Default, PartialEq)]
pub struct Account {
    pub lines: u64,
    pub bad: Vec<(u64, String)>,
    pub skipped: Vec<(String, u64)>, // in the order first seen
    pub copies: u64,
}

impl Account {
    fn skip(&mut self, kind: String) {
        match self.skipped.iter_mut().find(|(seen, _)| *seen == kind) {
            Some((_, count)) => *count += 1,
            None => self.skipped.push((kind, 1)),
        }
    }
}

/// Python's `str.isspace`: Unicode whitespace and the four separators \x1c-\x1f.
fn is_python_space(character: char) -> bool {
    character.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&character)
}

/// The text of a prompt the user typed; None for any other line.
fn prompt_text(entry: &Entry) -> Option<String> {
    if entry.kind() != Some("user") || entry.is_sidechain.unwrap_or(false) || entry.is_meta || entry.is_compact_summary {
        return None;
    }
    if entry.is_visible_in_transcript_only || entry.tool_use_result.is_some() {
        return None;
    }
    let text = match entry.message.as_ref().map(|message| &message.content) {
        Some(Content::Text(text)) => text.clone(),
        _ => {
            let blocks = entry.blocks();
            if blocks.is_empty() || blocks.iter().any(|block| block.is("tool_result")) {
                return None;
            }
            let texts: Vec<&str> = blocks.iter().filter(|block| block.is("text")).filter_map(|block| block.text.as_ref()?.as_str()).collect();
            if texts.is_empty() {
                return None;
            }
            texts.join("\n")
        }
    };
    let start = text.trim_start_matches(is_python_space);
    if start.is_empty() || NOT_TYPED.iter().any(|prefix| start.starts_with(prefix)) {
        return None;
    }
    Some(text)
}

/// `PurePath(cwd).name or cwd`.
fn project_of(cwd: &str) -> &str {
    cwd.split('/').rfind(|part| !part.is_empty() && *part != ".").unwrap_or(cwd)
}

/// Where a line's entry is: one of a file's own, or a copy made of one embedded in a progress line.
#[derive(Clone, Copy)]
enum EntryRef<'a> {
    Own(&'a Entry),
    Embedded(usize),
}

struct Line<'a> {
    entry: EntryRef<'a>,
    moment: i64,
    chain: String,
    origin: u8,
    order: (usize, u64),
}

struct Turn<'a> {
    first: EntryRef<'a>,
    start: i64,
    end: i64,
    lines: Vec<usize>, // into Converter::lines
    trace_id: String,
}

#[derive(Default)]
struct Session {
    turns: Vec<usize>,
    agents: HashMap<String, usize>,
}

struct Call {
    best: usize, // a line
    turn: usize,
    usage: usize, // the line whose usage is the largest snapshot
    cost: Option<f64>,
}

struct Copy {
    start: i64,
    end: i64,
    lines: Vec<usize>,
}

/// Not sure: the batch is Python's to convert.
#[derive(Debug)]
pub struct Unsure(pub &'static str);

struct Converter<'a> {
    files: &'a [FileLines],
    embedded: Vec<Entry>,
    lines: Vec<Line<'a>>,
    turns: Vec<Turn<'a>>,
    turn_of_trace: HashMap<String, usize>,
    sessions: HashMap<String, Session>,
}

impl<'a> Converter<'a> {
    fn entry(&self, at: EntryRef<'a>) -> &Entry {
        match at {
            EntryRef::Own(entry) => entry,
            EntryRef::Embedded(index) => &self.embedded[index],
        }
    }

    fn session_key(entry: &Entry) -> String {
        Value::text_or_empty(entry.session_id.as_ref()).unwrap_or_default().to_owned()
    }

    fn trace_id_of(entry: &Entry) -> String {
        let uuid = entry.uuid.as_ref().filter(|uuid| uuid.truthy()).and_then(Value::as_str);
        let timestamp = entry.timestamp.as_ref().and_then(Value::as_str).unwrap_or_default();
        hex_id(&[AGENT, uuid.unwrap_or(timestamp)], 16)
    }

    /// The turn this line starts; the same one again when another file holds a copy of it.
    fn turn_at(&mut self, entry_index: EntryRef<'a>, moment: i64, session: &str) -> usize {
        let trace_id = Self::trace_id_of(self.entry(entry_index));
        if let Some(&turn) = self.turn_of_trace.get(&trace_id) {
            return turn;
        }
        let turn = self.turns.len();
        self.turns.push(Turn { first: entry_index, start: moment, end: moment, lines: Vec::new(), trace_id: trace_id.clone() });
        self.turn_of_trace.insert(trace_id, turn);
        self.sessions.entry(session.to_owned()).or_default().turns.push(turn);
        turn
    }

    /// Read one file: main-chain lines go to turns (a new one at each typed prompt), sidechain
    /// lines in the file's flow to the current turn; a file holding only a sidechain (a
    /// subagent's own file) is returned, to be attached once every file's turns are known.
    fn read_file(&mut self, file_index: usize, account: &mut Account) -> Vec<usize> {
        let files = self.files;
        let file = &files[file_index];
        let mut current: Option<usize> = None;
        let mut side = Vec::new();
        for (number, entry) in &file.entries {
            let Some(kind) = entry.kind() else {
                account.bad.push((*number, "a Claude Code line without a type".to_owned()));
                continue;
            };
            let embedded = if kind == "progress" { entry.embedded() } else { None };
            let unmapped = KNOWN_UNMAPPED.contains(&kind);
            if unmapped && embedded.is_none() {
                continue;
            }
            if !unmapped && kind != "user" && kind != "assistant" {
                account.skip(format!("{AGENT}:{kind}"));
                continue;
            }
            let is_embedded = embedded.is_some();
            let entry_index = match embedded {
                Some(copy) => {
                    self.embedded.push(copy);
                    EntryRef::Embedded(self.embedded.len() - 1)
                }
                None => EntryRef::Own(entry),
            };
            let line_entry = self.entry(entry_index);
            let Some(moment) = line_entry.timestamp.as_ref().and_then(Value::as_str).and_then(super::entry::moment) else {
                account.bad.push((*number, "a Claude Code line without a readable timestamp".to_owned()));
                continue;
            };
            let session = Self::session_key(line_entry);
            let agent = line_entry.agent_id.as_ref().filter(|agent| agent.truthy()).and_then(Value::as_str).map(str::to_owned);
            let sidechain = line_entry.is_sidechain.unwrap_or(false) || is_embedded;
            let chain = if sidechain { agent.clone().unwrap_or_else(|| file.stem.clone()) } else { String::new() };
            let typed = !sidechain && prompt_text(line_entry).is_some();
            let tool_agent = line_entry.tool_use_result.clone().flatten();
            let line = self.lines.len();
            self.lines.push(Line { entry: entry_index, moment, chain, origin: if is_embedded { EMBEDDED } else { IN_FILE }, order: (file_index, *number) });
            if !sidechain {
                if typed || current.is_none() {
                    current = Some(self.turn_at(entry_index, moment, &session));
                }
                let turn = current.expect("set just above");
                self.turns[turn].end = self.turns[turn].end.max(moment);
                if let Some(agent) = tool_agent {
                    self.sessions.entry(session.clone()).or_default().agents.entry(agent).or_insert(turn);
                }
            }
            if sidechain && is_embedded {
                if let (Some(turn), Some(agent)) = (current, agent) {
                    self.sessions.entry(session.clone()).or_default().agents.entry(agent).or_insert(turn);
                }
            }
            match current {
                Some(turn) => self.turns[turn].lines.push(line),
                None => side.push(line), // a sidechain with no main chain (yet) in this file: attached later
            }
        }
        side
    }

    /// A subagent's file belongs to the turn that started it (see the Python `_attach`).
    fn attach(&mut self, side: Vec<usize>) {
        let first = &self.lines[side[0]];
        let (first_entry, first_moment, first_chain) = (first.entry, first.moment, first.chain.clone());
        let session_key = Self::session_key(self.entry(first_entry));
        let session = self.sessions.entry(session_key.clone()).or_default();
        let mut turn = session.agents.get(&first_chain).copied();
        if turn.is_none() {
            turn = session.turns.iter().copied().rfind(|&turn| self.turns[turn].start <= first_moment);
        }
        let turn = match turn {
            Some(turn) => turn,
            None => {
                let turn = self.turn_at(first_entry, first_moment, &session_key);
                let latest = side.iter().map(|&line| self.lines[line].moment).max().unwrap_or(first_moment);
                self.turns[turn].end = self.turns[turn].end.max(latest);
                turn
            }
        };
        self.turns[turn].lines.extend(side);
    }
}

fn message_key(entry: &Entry, order: (usize, u64)) -> String {
    let message_id = entry.message.as_ref().and_then(|message| message.id.as_ref()).and_then(Value::as_str).filter(|id| !id.is_empty());
    if let Some(id) = message_id {
        return format!("message:{id}");
    }
    if let Some(request) = entry.request_id.as_ref().and_then(Value::as_str).filter(|id| !id.is_empty()) {
        return format!("request:{request}");
    }
    match entry.uuid.as_ref().filter(|uuid| uuid.truthy()).and_then(Value::as_str) {
        Some(uuid) => format!("line:{uuid}"),
        None => format!("line:({}, {}, 0)", order.0, order.1),
    }
}

type Lane = (String, u8);

/// Every file's records and accounting. `files` are in the order given; each file's lines were
/// read by `entry::read_line`, the unsure ones already judged bad by Python.
pub fn convert(files: &[FileLines]) -> Result<(Vec<u8>, Vec<Account>), Unsure> {
    let mut converter = Converter {
        files,
        embedded: Vec::new(),
        lines: Vec::new(),
        turns: Vec::new(),
        turn_of_trace: HashMap::default(),
        sessions: HashMap::default(),
    };
    let mut accounts = Vec::with_capacity(files.len());
    let mut sidechain_files = Vec::new();
    for (file_index, file) in files.iter().enumerate() {
        let mut account = Account { lines: file.lines, bad: file.bad.clone(), ..Account::default() };
        let side = converter.read_file(file_index, &mut account);
        if !side.is_empty() {
            sidechain_files.push(side);
        }
        account.bad.sort();
        accounts.push(account);
    }
    for side in sidechain_files {
        converter.attach(side);
    }
    let (records, extra) = records(&converter)?;
    for (file_index, count) in extra {
        accounts[file_index].copies += count;
    }
    Ok((records, accounts))
}

/// The records as JSONL, and per file index how many copies it held of calls counted elsewhere.
type Records = (Vec<u8>, Vec<(usize, u64)>);

fn records(converter: &Converter<'_>) -> Result<Records, Unsure> {
    let mut calls: Vec<Call> = Vec::new();
    let mut call_keys: Vec<String> = Vec::new();
    let mut call_of: HashMap<String, usize> = HashMap::default();
    let mut copies: Vec<Copy> = Vec::new();
    let mut copy_keys: Vec<(usize, Lane, usize)> = Vec::new(); // (turn, lane, call)
    let mut copy_of: HashMap<(usize, Lane, usize), usize> = HashMap::default();
    let mut results: HashMap<String, (bool, i64)> = HashMap::default();
    let rank = |line: &Line<'_>| (!line.chain.is_empty(), line.origin, line.order);
    for (turn_index, turn) in converter.turns.iter().enumerate() {
        let mut previous: HashMap<Lane, i64> = HashMap::default();
        let mut ordered = turn.lines.clone();
        ordered.sort_by_key(|&line| (converter.lines[line].origin, converter.lines[line].order));
        for line_index in ordered {
            let line = &converter.lines[line_index];
            let entry = converter.entry(line.entry);
            let lane: Lane = (line.chain.clone(), line.origin);
            for block in entry.blocks() {
                if let (true, Some(tool_use_id)) = (block.is("tool_result"), block.tool_use_id.as_ref().and_then(Value::as_str)) {
                    results.entry(tool_use_id.to_owned()).or_insert((block.is_error, line.moment));
                }
            }
            if entry.kind() == Some("assistant") {
                let key = message_key(entry, line.order);
                let call = match call_of.get(&key) {
                    Some(&call) => call,
                    None => {
                        call_of.insert(key.clone(), calls.len());
                        call_keys.push(key);
                        calls.push(Call { best: line_index, turn: turn_index, usage: line_index, cost: None });
                        calls.len() - 1
                    }
                };
                let copy_key = (turn_index, lane.clone(), call);
                let copy = match copy_of.get(&copy_key) {
                    Some(&copy) => copy,
                    None => {
                        copy_of.insert(copy_key.clone(), copies.len());
                        copy_keys.push(copy_key);
                        copies.push(Copy { start: previous.get(&lane).copied().unwrap_or(turn.start), end: line.moment, lines: Vec::new() });
                        copies.len() - 1
                    }
                };
                copies[copy].end = copies[copy].end.max(line.moment);
                copies[copy].lines.push(line_index);
                let record = &mut calls[call];
                if rank(line) < rank(&converter.lines[record.best]) {
                    record.best = line_index;
                    record.turn = turn_index;
                }
                let size = |line: usize| converter.entry(converter.lines[line].entry).message.as_ref().and_then(|m| m.usage.clone()).unwrap_or_default().size();
                if size(line_index) > size(record.usage) {
                    record.usage = line_index;
                }
                if record.cost.is_none() {
                    record.cost = entry.cost;
                }
            }
            previous.insert(lane, line.moment);
        }
    }
    // copies of a call in other files of the same chain were read more than once
    let mut files_of: HashMap<(usize, String), BTreeSet<usize>> = HashMap::default();
    for ((_, (chain, origin), call), copy) in copy_keys.iter().zip(&copies) {
        if *origin == IN_FILE {
            files_of.entry((*call, chain.clone())).or_default().extend(copy.lines.iter().map(|&line| converter.lines[line].order.0));
        }
    }
    let mut extra: HashMap<usize, u64> = HashMap::default();
    for ((call, chain), files) in &files_of {
        let best = &converter.lines[calls[*call].best];
        let first = if best.chain == *chain && best.origin == IN_FILE { best.order.0 } else { *files.iter().next().expect("a copy has lines") };
        for &file in files {
            if file != first {
                *extra.entry(file).or_default() += 1;
            }
        }
    }
    let mut by_turn: Vec<Vec<usize>> = vec![Vec::new(); converter.turns.len()];
    for (index, call) in calls.iter().enumerate() {
        by_turn[call.turn].push(index);
    }
    let mut writer = RecordWriter::default();
    let mut tools_seen: HashSet<String> = HashSet::default();
    for (turn_index, turn) in converter.turns.iter().enumerate() {
        turn_records(converter, turn_index, turn, &by_turn[turn_index], &calls, &call_keys, &copies, &copy_of, &results, &mut tools_seen, &mut writer)?;
    }
    let mut extra: Vec<(usize, u64)> = extra.into_iter().collect();
    extra.sort_unstable();
    Ok((writer.finish(), extra))
}

fn model_of(entry: &Entry) -> Option<&Value> {
    entry.message.as_ref().and_then(|message| message.model.as_ref())
}

#[allow(clippy::too_many_arguments)]
fn turn_records(
    converter: &Converter<'_>,
    turn_index: usize,
    turn: &Turn<'_>,
    turn_calls: &[usize],
    calls: &[Call],
    call_keys: &[String],
    copies: &[Copy],
    copy_of: &HashMap<(usize, Lane, usize), usize>,
    results: &HashMap<String, (bool, i64)>,
    tools_seen: &mut HashSet<String>,
    writer: &mut RecordWriter,
) -> Result<(), Unsure> {
    let first = converter.entry(turn.first);
    let prompt = prompt_text(first);
    let cwd = first.cwd.as_ref().and_then(Value::as_str).filter(|cwd| !cwd.is_empty());
    let session = Value::text_or_empty(first.session_id.as_ref()).unwrap_or_default();
    let mut common: Vec<(&str, super::emit::Attr<'_>)> = vec![("agent", AGENT.into()), ("session", session.into())];
    if let Some(cwd) = cwd {
        let project = project_of(cwd);
        common.push(("project", if project.is_empty() { cwd } else { project }.into()));
    }
    let root_id = hex_id(&[&turn.trace_id, "turn"], 8);
    for &call_index in turn_calls {
        let call = &calls[call_index];
        let best = &converter.lines[call.best];
        let copy = &copies[copy_of[&(turn_index, (best.chain.clone(), best.origin), call_index)]];
        let usage_entry = converter.entry(converter.lines[call.usage].entry);
        let best_entry = converter.entry(best.entry);
        let model = match model_of(usage_entry) {
            Some(model) if model.truthy() => Some(model),
            _ => model_of(best_entry),
        };
        let model = model.and_then(Value::as_str).filter(|model| !model.is_empty() && *model != "<synthetic>");
        let span_id = hex_id(&[AGENT, &call_keys[call_index]], 8);
        if let Some(model) = model {
            let mut attrs = common.clone();
            attrs.push(("gen_ai.request.model", model.into()));
            attrs.push(("gen_ai.provider.name", "anthropic".into()));
            if !best.chain.is_empty() {
                attrs.push(("sidechain", true.into()));
            }
            writer.span(&turn.trace_id, &span_id, Some(&root_id), "model call", "llm", copy.start, copy.end, false, &attrs)?;
            let usage = usage_entry.message.as_ref().and_then(|message| message.usage.clone()).unwrap_or_default();
            writer.usage(&turn.trace_id, &span_id, copy.end, model, &usage, call.cost)?;
        }
        for &line_index in &copy.lines {
            let line = &converter.lines[line_index];
            for block in converter.entry(line.entry).blocks() {
                let Some(tool_id) = tool_use_id(block) else { continue };
                if tools_seen.contains(tool_id) {
                    continue;
                }
                tools_seen.insert(tool_id.to_owned());
                let result = results.get(tool_id);
                let finished = result.map_or(turn.end, |&(_, moment)| moment);
                let failed = result.is_some_and(|&(is_error, _)| is_error);
                let name = block.name.as_ref().filter(|name| name.truthy()).and_then(Value::as_str).unwrap_or("tool");
                let mut attrs = common.clone();
                attrs.push(("tool.call_id", tool_id.into()));
                if result.is_none() {
                    attrs.push(("tool.result", "missing".into()));
                }
                writer.span(&turn.trace_id, &hex_id(&[AGENT, tool_id], 8), Some(&root_id), name, "tool", line.moment, finished.max(line.moment), failed, &attrs)?;
            }
        }
    }
    let mut attrs = common;
    if let Some(cwd) = cwd {
        attrs.push(("cwd", cwd.into()));
    }
    let cut: Option<String> = prompt.map(|prompt| prompt.chars().take(PROMPT_CHARS).collect());
    if let Some(cut) = &cut {
        attrs.push(("input", cut.as_str().into()));
    }
    if first.is_sidechain.unwrap_or(false) {
        attrs.push(("subagent", true.into()));
    }
    if let Some(branch) = first.git_branch.as_ref().and_then(Value::as_str).filter(|branch| !branch.is_empty()) {
        attrs.push(("git.branch", branch.into()));
    }
    writer.span(&turn.trace_id, &root_id, None, "turn", "agent", turn.start, turn.end, false, &attrs)
}

fn tool_use_id(block: &Block) -> Option<&str> {
    if block.is("tool_use") {
        block.id.as_ref().and_then(Value::as_str)
    } else {
        None
    }
}

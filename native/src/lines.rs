//! Bytes to lines to columns: a stream decoder that carries a partial line from one block to the
//! next, byte ranges of files read on several threads, and the parts merged in input order.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::columns::{Columns, Tables};
use crate::record::decode;

/// Bytes read from a file at a time.
pub const BLOCK_BYTES: usize = 1 << 20;

/// A line this decoder is unsure of, for the models to judge.
#[derive(Debug, PartialEq, Eq)]
pub struct Unsure {
    /// Counted from 1 at the start of the decoder's input.
    pub line: u64,
    /// Where the line starts, in bytes from the start of the decoder's input.
    pub offset: u64,
    pub length: u64,
    /// The line itself, when the decoder keeps lines (a stream cannot be read again; a file can).
    pub bytes: Option<Vec<u8>>,
    /// The input's last line, without a newline (a write cut short, or a file still being written).
    pub torn: bool,
}

/// What a decoder made of its input.
#[derive(Debug, Default)]
pub struct Decoded {
    pub columns: Columns,
    pub lines: u64,
    pub unsure: Vec<Unsure>,
}

/// Decodes a stream of bytes fed in blocks of any size.
pub struct LineDecoder {
    group_attrs: Vec<String>,
    keep_lines: bool,
    decoded: Decoded,
    carry: Vec<u8>,
    /// Bytes fed before the current block.
    consumed: u64,
}

impl LineDecoder {
    /// A decoder; with `keep_lines`, unsure lines carry their bytes.
    pub fn new(group_attrs: Vec<String>, keep_lines: bool) -> Self {
        let columns = Columns::new(group_attrs.len());
        Self { group_attrs, keep_lines, decoded: Decoded { columns, ..Decoded::default() }, carry: Vec::new(), consumed: 0 }
    }

    /// Complete lines decoded so far.
    pub fn lines(&self) -> u64 {
        self.decoded.lines
    }

    /// Expect `bytes` more input: make room in the columns for what it likely holds, judged by
    /// what the input so far held.
    pub fn expect(&mut self, bytes: u64) {
        if self.consumed > 0 {
            self.decoded.columns.reserve_scaled(bytes as f64 / self.consumed as f64);
        }
    }

    /// The unsure lines found so far, handed over.
    pub fn take_unsure(&mut self) -> Vec<Unsure> {
        std::mem::take(&mut self.decoded.unsure)
    }

    pub fn feed(&mut self, block: &[u8]) {
        let base = self.consumed;
        self.consumed += block.len() as u64;
        let mut start = 0;
        if !self.carry.is_empty() {
            let Some(end) = memchr::memchr(b'\n', block) else {
                self.carry.extend_from_slice(block);
                return;
            };
            let mut line = std::mem::take(&mut self.carry);
            line.extend_from_slice(&block[..end]);
            self.line(&line, base + end as u64 - line.len() as u64, false);
            start = end + 1;
        }
        let origin = start;
        for end in memchr::memchr_iter(b'\n', &block[origin..]) {
            let end = origin + end;
            self.line(&block[start..end], base + start as u64, false);
            start = end + 1;
        }
        self.carry.extend_from_slice(&block[start..]);
    }

    fn line(&mut self, line: &[u8], offset: u64, torn: bool) {
        self.decoded.lines += 1;
        match decode(line, &self.group_attrs) {
            Some(record) => self.decoded.columns.push(&record),
            None => self.decoded.unsure.push(Unsure {
                line: self.decoded.lines,
                offset,
                length: line.len() as u64,
                bytes: self.keep_lines.then(|| line.to_vec()),
                torn,
            }),
        }
    }

    /// Everything decoded; a last line without a newline is decoded too, marked torn if left to
    /// the models. Reading stopped early (`ended` false): a partial line is not a line, and is dropped.
    pub fn finish(mut self, ended: bool) -> Decoded {
        if ended && !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.line(&line, self.consumed - line.len() as u64, true);
        }
        self.decoded
    }
}

/// A byte range of a file, starting at the beginning of a line and ending after a newline or at
/// the end of the file.
#[derive(Debug, Clone)]
pub struct Task {
    pub path: String,
    pub start: u64,
    pub end: u64,
}

/// Why a task's reading ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The file could not be opened: nothing of it was read.
    Open(String),
    /// Reading failed part way: the lines before the failure were decoded.
    Read(String),
    /// Reading was stopped (Ctrl-C).
    Stopped,
    /// A bug in this decoder (a panic), caught: the task's results are lost, never wrong.
    Internal(String),
}

/// A task's result: what was decoded, and why the reading ended early, if it did.
#[derive(Debug)]
pub struct Outcome {
    pub decoded: Decoded,
    pub failure: Option<Failure>,
}

/// Decode one task. `expected` bytes will end up in this task's columns: its own, or, for the
/// first task, whose columns the others' join, all of them.
fn read_task(task: &Task, group_attrs: &[String], expected: u64, on_block: &dyn Fn(usize) -> bool) -> Outcome {
    let mut decoder = LineDecoder::new(group_attrs.to_vec(), false);
    let failure = read_into(task, &mut decoder, expected, on_block).err();
    Outcome { decoded: decoder.finish(!matches!(failure, Some(Failure::Stopped))), failure }
}

fn read_into(task: &Task, decoder: &mut LineDecoder, expected: u64, on_block: &dyn Fn(usize) -> bool) -> Result<(), Failure> {
    let mut file = File::open(&task.path).map_err(|error| Failure::Open(error.to_string()))?;
    read_range(&mut file, task, decoder, expected, on_block).map_err(|error| match error.kind() {
        io::ErrorKind::Interrupted => Failure::Stopped,
        _ => Failure::Read(error.to_string()),
    })
}

fn read_range(file: &mut File, task: &Task, decoder: &mut LineDecoder, expected: u64, on_block: &dyn Fn(usize) -> bool) -> io::Result<()> {
    file.seek(SeekFrom::Start(task.start))?;
    let mut remaining = task.end.saturating_sub(task.start);
    let mut block = vec![0u8; BLOCK_BYTES];
    while remaining > 0 {
        let want = block.len().min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let got = match file.read(&mut block[..want]) {
            Ok(0) => break,
            Ok(got) => got,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        let first = decoder.consumed == 0;
        decoder.feed(&block[..got]);
        remaining -= got as u64;
        if first {
            decoder.expect(expected.saturating_sub(got as u64));
        }
        if !on_block(got) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
    }
    Ok(())
}

/// Every task decoded on up to `threads` threads (this one among them), in task order. After each
/// block, this thread calls `here_after_block` with the bytes all threads read since its last
/// call; when it answers false, every thread stops after its current block. A panic while decoding
/// a task becomes that task's failure, never a crash.
pub fn decode_tasks(tasks: &[Task], group_attrs: &[String], threads: usize, here_after_block: &(dyn Fn(usize) -> bool + Sync)) -> Vec<Outcome> {
    let total_bytes: u64 = tasks.iter().map(|task| task.end.saturating_sub(task.start)).sum();
    let unreported = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let outcomes = on_threads(tasks.len(), threads, |index, here| {
        let task = &tasks[index];
        let on_block = |bytes: usize| {
            let total = unreported.fetch_add(bytes, Ordering::Relaxed) + bytes;
            if here {
                unreported.fetch_sub(total, Ordering::Relaxed);
                if !here_after_block(total) {
                    stop.store(true, Ordering::Relaxed);
                }
            }
            !stop.load(Ordering::Relaxed)
        };
        let expected = if index == 0 { total_bytes } else { task.end.saturating_sub(task.start) };
        read_task(task, group_attrs, expected, &on_block)
    });
    let leftover = unreported.swap(0, Ordering::Relaxed);
    if leftover > 0 {
        here_after_block(leftover);
    }
    outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or_else(|message| Outcome { decoded: Decoded::default(), failure: Some(Failure::Internal(message)) }))
        .collect()
}

/// Whole-line chunks of a stream (only the last may end without a newline), decoded on up to
/// `threads` threads, one decoder each, in order. A panic while decoding a chunk is returned as
/// its error message, never a crash.
pub fn decode_chunks(chunks: &[&[u8]], group_attrs: &[String], threads: usize) -> Vec<Result<Decoded, String>> {
    on_threads(chunks.len(), threads, |index, _| {
        let mut decoder = LineDecoder::new(group_attrs.to_vec(), true);
        decoder.feed(chunks[index]);
        decoder.finish(true)
    })
}

/// `job(index, here)` for every index below `count`, in order of the results, run on up to
/// `threads` threads taking the next index as they finish one: this thread (`here` true) and
/// others. A panic in a job becomes its error message, never a crash.
fn on_threads<T: Send>(count: usize, threads: usize, job: impl Fn(usize, bool) -> T + Sync) -> Vec<Result<T, String>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T, String>>>> = Mutex::new((0..count).map(|_| None).collect());
    let work = |here: bool| loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= count {
            break;
        }
        let result = catch_unwind(AssertUnwindSafe(|| job(index, here))).map_err(|panic| panic_message(&panic));
        results.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some(result);
    };
    std::thread::scope(|scope| {
        for _ in 1..threads.clamp(1, count.max(1)) {
            scope.spawn(|| work(false));
        }
        work(true);
    });
    results
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .into_iter()
        .map(|result| result.unwrap_or_else(|| Err("not run".into())))
        .collect()
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// A part's codes translated into the merged tables.
struct Maps {
    trace_ids: Vec<i32>,
    names: Vec<i32>,
    kinds: Vec<i32>,
    error_types: Vec<i32>,
    models: Vec<i32>,
    providers: Vec<i32>,
    eval_names: Vec<i32>,
    attr_values: Vec<i32>,
}

impl Maps {
    fn new(into: &mut Tables, from: &Tables) -> Self {
        Self {
            trace_ids: into.trace_ids.absorb(&from.trace_ids),
            names: into.names.absorb(&from.names),
            kinds: into.kinds.absorb(&from.kinds),
            error_types: into.error_types.absorb(&from.error_types),
            models: into.models.absorb(&from.models),
            providers: into.providers.absorb(&from.providers),
            eval_names: into.eval_names.absorb(&from.eval_names),
            attr_values: into.attr_values.absorb(&from.attr_values),
        }
    }
}

fn remap(code: i32, map: &[i32]) -> i32 {
    usize::try_from(code).map_or(code, |index| map[index])
}

/// Append each piece to `target`, freeing each once copied.
fn append<T: Copy>(target: &mut Vec<T>, pieces: Vec<Vec<T>>) {
    target.reserve(pieces.iter().map(Vec::len).sum());
    for piece in pieces {
        target.extend_from_slice(&piece);
    }
}

/// Append each piece's codes to `target`, translated through its part's map.
fn append_codes(target: &mut Vec<i32>, pieces: Vec<Vec<i32>>, maps: &[&[i32]]) {
    target.reserve(pieces.iter().map(Vec::len).sum());
    for (piece, map) in pieces.into_iter().zip(maps) {
        target.extend(piece.into_iter().map(|code| remap(code, map)));
    }
}

/// One `Columns` from several (`parts` in input order; none gives empty columns), string codes
/// unified into the first part's tables, whose codes stay as they are. The others' rows are
/// appended to the first's (which `decode_tasks` made room for; a stream's columns grow by
/// doubling), each part's pieces freed once copied. Two threads share the work: one joins the
/// plain columns while the other unifies the string tables and joins the columns of codes.
pub fn merge(mut parts: Vec<Columns>) -> Columns {
    if parts.is_empty() {
        return Columns::default();
    }
    let mut merged = parts.remove(0);
    if parts.is_empty() {
        return merged;
    }
    let eval_offsets: Vec<usize> = parts
        .iter()
        .scan(merged.eval_count(), |next, part| {
            let offset = *next;
            *next += part.eval_count();
            Some(offset)
        })
        .collect();
    let mut plain: Vec<Box<dyn FnOnce() + Send + '_>> = Vec::new();
    macro_rules! plain {
        ($($section:ident . $column:ident),*) => {$({
            let pieces: Vec<_> = parts.iter_mut().map(|part| std::mem::take(&mut part.$section.$column)).collect();
            let target = &mut merged.$section.$column;
            plain.push(Box::new(move || append(target, pieces)));
        })*};
    }
    plain!(spans.is_root, spans.start_us, spans.duration_ms, spans.is_error, spans.attempt, spans.retry_of, spans.span_id, spans.parent, spans.sample_rate);
    plain!(usage.time_us, usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens);
    plain!(usage.reasoning_tokens, usage.cost_usd, usage.span, usage.span_scope, usage.sample_rate);
    plain!(evals.time_us, evals.passed, evals.score);
    let tables = &mut merged.tables;
    let maps: Vec<Maps> = std::thread::scope(|scope| {
        scope.spawn(move || plain.into_iter().for_each(|job| job()));
        parts.iter().map(|part| Maps::new(tables, &part.tables)).collect()
    });
    macro_rules! codes {
        ($($section:ident . $column:ident via $table:ident),*) => {$({
            let pieces: Vec<_> = parts.iter_mut().map(|part| std::mem::take(&mut part.$section.$column)).collect();
            let tables: Vec<&[i32]> = maps.iter().map(|maps| maps.$table.as_slice()).collect();
            append_codes(&mut merged.$section.$column, pieces, &tables);
        })*};
    }
    codes!(spans.trace via trace_ids, spans.name via names, spans.kind via kinds, spans.error_type via error_types, spans.model via models);
    codes!(usage.trace via trace_ids, usage.provider via providers, usage.model via models, evals.trace via trace_ids, evals.name via eval_names);
    for group in 0..merged.spans.groups.len() {
        let pieces: Vec<_> = parts.iter_mut().map(|part| std::mem::take(&mut part.spans.groups[group])).collect();
        let tables: Vec<&[i32]> = maps.iter().map(|maps| maps.attr_values.as_slice()).collect();
        append_codes(&mut merged.spans.groups[group], pieces, &tables);
    }
    for ((part, maps), eval_offset) in parts.iter_mut().zip(&maps).zip(eval_offsets) {
        merged.evals.queries.extend(part.evals.queries.drain(..).map(|(row, query)| (row + eval_offset, query)));
        for (texts, merged_texts) in [(&mut part.root_input, &mut merged.root_input), (&mut part.root_request_id, &mut merged.root_request_id)] {
            merged_texts.traces.extend(texts.traces.drain(..).map(|code| remap(code, &maps.trace_ids)));
            merged_texts.lengths.append(&mut texts.lengths);
            merged_texts.text.push_str(&std::mem::take(&mut texts.text));
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPAN: &str = r#"{"type":"span","trace_id":"t","span_id":"s","name":"n","start":"2026-01-01T00:00:00Z","duration_ms":1,"status":"ok"}"#;

    fn fed_in_pieces(input: &[u8], piece: usize) -> Decoded {
        let mut decoder = LineDecoder::new(Vec::new(), true);
        for block in input.chunks(piece) {
            decoder.feed(block);
        }
        decoder.finish(true)
    }

    #[test]
    fn lines_split_across_blocks_decode_as_whole_lines() {
        let input = format!("{SPAN}\nnot json\n{SPAN}\r\n\n{SPAN}");
        for piece in [1, 2, 7, 64, 1 << 20] {
            let decoded = fed_in_pieces(input.as_bytes(), piece);
            assert_eq!(decoded.lines, 5, "piece {piece}");
            assert_eq!(decoded.columns.span_count(), 3, "piece {piece}: a valid last line counts, torn or not");
            let unsure: Vec<(u64, u64, u64, bool)> = decoded.unsure.iter().map(|u| (u.line, u.offset, u.length, u.torn)).collect();
            let second = SPAN.len() as u64 + 1;
            let blank = second + 9 + SPAN.len() as u64 + 2;
            assert_eq!(unsure, vec![(2, second, 8, false), (4, blank, 0, false)], "piece {piece}");
            assert_eq!(decoded.unsure[0].bytes.as_deref(), Some(&b"not json"[..]));
        }
    }

    #[test]
    fn a_torn_last_line_the_decoder_is_unsure_of_is_marked() {
        let decoded = fed_in_pieces(format!("{SPAN}\n{{\"type\":").as_bytes(), 5);
        let unsure: Vec<(u64, bool)> = decoded.unsure.iter().map(|u| (u.line, u.torn)).collect();
        assert_eq!(unsure, vec![(2, true)]);
    }

    #[test]
    fn merged_parts_keep_their_rows_and_strings() {
        let first = fed_in_pieces(SPAN.replace(r#""t""#, r#""a""#).as_bytes(), 1 << 10);
        let second = fed_in_pieces(format!("{}\n{SPAN}\n", SPAN.replace(r#""n""#, r#""m""#)).as_bytes(), 1 << 10);
        let merged = merge(vec![first.columns, second.columns]);
        let traces: Vec<&str> = merged.spans.trace.iter().map(|&code| merged.tables.trace_ids.get(code)).collect();
        let names: Vec<&str> = merged.spans.name.iter().map(|&code| merged.tables.names.get(code)).collect();
        assert_eq!((traces, names), (vec!["a", "t", "t"], vec!["n", "m", "n"]));
        let table: Vec<&str> = merged.tables.names.values().collect();
        assert_eq!(table, vec!["n", "m"], "the first part's codes stay; new strings follow");
    }
}

//! Claude Code session logs converted in the compiled core: each file's lines read on threads
//! (`entry`), then every file's turns and calls worked out together (`convert`) and written as
//! FORMAT v1 lines (`emit`) for the record decoder. It follows `llmobs/agents/claude_code.py`
//! exactly; a line it is not sure of is handed back, and Python decides: a bad line is named
//! bad here too, a valid one makes Python convert the whole batch.

mod convert;
mod emit;
mod entry;

use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use convert::{Account, Unsure};
use convert::FileLines;
use entry::{read_line, Line};

/// Where a file's bytes are: already in memory, or a path to read on the reading thread.
pub enum Input<'a> {
    Bytes(&'a [u8]),
    Path(&'a str),
}

/// Every file's lines, read; the lines left to Python as (file, line number, bytes); and the
/// files that could not be read, as (file, error).
pub struct Parsed {
    files: Vec<FileLines>,
    pub unsure: Vec<(usize, u64, Vec<u8>)>,
    pub failed: Vec<(usize, String)>,
}

type FileRead = Result<(FileLines, Vec<(u64, Vec<u8>)>), String>;

fn read_file(stem: &str, data: &[u8]) -> (FileLines, Vec<(u64, Vec<u8>)>) {
    let newlines = memchr::memchr_iter(b'\n', data).count() as u64;
    let lines = newlines + u64::from(!data.is_empty() && !data.ends_with(b"\n"));
    let mut file = FileLines { stem: stem.to_owned(), lines, entries: Vec::new(), bad: Vec::new() };
    let mut unsure = Vec::new();
    let mut start = 0;
    let mut number = 0u64;
    while start <= data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |offset| start + offset);
        number += 1;
        match read_line(&data[start..end]) {
            Line::Blank => {}
            Line::Entry(entry) => file.entries.push((number, *entry)),
            Line::Unsure => unsure.push((number, data[start..end].to_vec())),
        }
        start = end + 1;
    }
    (file, unsure)
}

/// One input read; a file's bytes go into `buffer`, reused from file to file by a thread.
fn read_input(stem: &str, input: &Input<'_>, buffer: &mut Vec<u8>) -> FileRead {
    match input {
        Input::Bytes(data) => Ok(read_file(stem, data)),
        Input::Path(path) => {
            buffer.clear();
            std::fs::File::open(path).and_then(|mut file| file.read_to_end(buffer)).map_err(|error| error.to_string())?;
            Ok(read_file(stem, buffer))
        }
    }
}

/// Read `files` (stem, input) on up to `threads` threads.
pub fn parse(files: &[(String, Input<'_>)], threads: usize) -> Parsed {
    let next = AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::with_capacity(files.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, files.len().max(1)) {
            scope.spawn(|| {
                let mut buffer = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((stem, input)) = files.get(index) else { break };
                    let read = read_input(stem, input, &mut buffer);
                    done.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((index, read));
                }
            });
        }
    });
    let mut reads = done.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    reads.sort_unstable_by_key(|(index, _)| *index);
    let mut parsed = Parsed { files: Vec::with_capacity(files.len()), unsure: Vec::new(), failed: Vec::new() };
    for (index, read) in reads {
        match read {
            Ok((file, unsure)) => {
                parsed.unsure.extend(unsure.into_iter().map(|(line, bytes)| (index, line, bytes)));
                parsed.files.push(file);
            }
            Err(error) => {
                parsed.failed.push((index, error));
                parsed.files.push(FileLines { stem: files[index].0.clone(), lines: 0, entries: Vec::new(), bad: Vec::new() });
            }
        }
    }
    parsed
}

impl Parsed {
    /// The records (FORMAT v1 JSONL) and each file's accounting, once Python has named every unsure
    /// line bad with its reason (`judged`: file, line, reason).
    pub fn convert(&mut self, judged: Vec<(usize, u64, String)>) -> Result<(Vec<u8>, Vec<Account>), Unsure> {
        if !self.failed.is_empty() {
            return Err(Unsure("a file could not be read"));
        }
        if judged.len() != self.unsure.len() {
            return Err(Unsure("a line was left unjudged"));
        }
        for (file, line, reason) in judged {
            self.files.get_mut(file).ok_or(Unsure("a judged line of no file"))?.bad.push((line, reason));
        }
        convert::convert(&self.files)
    }
}

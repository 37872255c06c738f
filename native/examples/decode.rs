//! Decode a JSONL file with the native decoder alone, no Python: for profiling, and for counting
//! instructions per line under callgrind.
//!
//!     cargo run --release --example decode -- FILE [THREADS]

use std::time::Instant;

use _native::lines::{decode_tasks, merge, Task};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: decode FILE [THREADS]");
        std::process::exit(2);
    };
    let threads: usize = args.next().and_then(|text| text.parse().ok()).unwrap_or(1);
    let size = match std::fs::metadata(&path) {
        Ok(metadata) => metadata.len(),
        Err(error) => {
            eprintln!("{path}: {error}");
            std::process::exit(1);
        }
    };
    let tasks: Vec<Task> = (0..threads as u64)
        .map(|part| Task { path: path.clone(), start: size * part / threads as u64, end: size * (part + 1) / threads as u64 })
        .collect();
    let started = Instant::now();
    // Ranges cut mid-line: each range's first and last pieces go to "unsure", which is fine here.
    let outcomes = decode_tasks(&tasks, &[], threads, &|_| true);
    let decoded = started.elapsed();
    let lines: u64 = outcomes.iter().map(|outcome| outcome.decoded.lines).sum();
    let unsure: usize = outcomes.iter().map(|outcome| outcome.decoded.unsure.len()).sum();
    let merged = merge(outcomes.into_iter().map(|outcome| outcome.decoded.columns).collect());
    println!(
        "{lines} lines ({unsure} unsure): {} spans, {} usage, {} evals, {} traces; decoded in {:.2} s, merged in {:.2} s",
        merged.span_count(),
        merged.usage_count(),
        merged.eval_count(),
        merged.tables.trace_ids.len(),
        decoded.as_secs_f64(),
        (started.elapsed() - decoded).as_secs_f64()
    );
}

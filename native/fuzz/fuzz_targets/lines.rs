//! Random and mutated bytes through the line decoder: it must never panic, and a stream cut into
//! two blocks anywhere must decode exactly as the stream fed whole (same lines, same rows, same
//! lines left to the models at the same offsets).
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run lines -- -max_total_time=600 -rss_limit_mb=1024

#![no_main]

use _native::lines::{Decoded, LineDecoder};
use libfuzzer_sys::fuzz_target;

fn decoded(groups: &[String], pieces: &[&[u8]]) -> Decoded {
    let mut decoder = LineDecoder::new(groups.to_vec(), true);
    for piece in pieces {
        decoder.feed(piece);
    }
    decoder.finish(true)
}

fn summary(decoded: &Decoded) -> (u64, usize, usize, usize, Vec<(u64, u64, u64, bool)>) {
    let unsure = decoded.unsure.iter().map(|line| (line.line, line.offset, line.length, line.torn)).collect();
    (decoded.lines, decoded.columns.span_count(), decoded.columns.usage_count(), decoded.columns.eval_count(), unsure)
}

fuzz_target!(|data: &[u8]| {
    let groups = vec!["x".to_owned(), "gen_ai.request.model".to_owned()];
    let whole = decoded(&groups, &[data]);
    let cut = data.first().map_or(0, |&byte| usize::from(byte) * data.len() / 256);
    let split = decoded(&groups, &[&data[..cut], &data[cut..]]);
    assert_eq!(summary(&whole), summary(&split));
});

//! Span trees, for self time: each span's parent row, and the part of each span's duration its
//! children do not cover (children that overlap counted once, each clipped to its parent).

use rustc_hash::FxHashMap;

/// Spans of one trace looked up by a scan rather than a hash map, up to this many.
const SCAN_LIMIT: usize = 32;

/// Rows grouped by a code (a trace, a parent row), by a counting sort: the rows of code c are
/// `rows[first[c]..first[c + 1]]`, in row order. Codes below 0 (none) are left out.
struct Grouped {
    first: Vec<usize>,
    rows: Vec<u32>,
}

impl Grouped {
    fn new(codes: &[i32]) -> Self {
        let groups = codes.iter().map(|&code| usize::try_from(code).map_or(0, |code| code + 1)).max().unwrap_or(0);
        let mut first = vec![0usize; groups + 1];
        for &code in codes {
            if let Ok(code) = usize::try_from(code) {
                first[code + 1] += 1;
            }
        }
        for code in 0..groups {
            first[code + 1] += first[code];
        }
        let mut next = first.clone();
        let mut rows = vec![0u32; first[groups]];
        for (row, &code) in codes.iter().enumerate() {
            if let Ok(code) = usize::try_from(code) {
                rows[next[code]] = row as u32;
                next[code] += 1;
            }
        }
        Self { first, rows }
    }

    /// Each code's rows, code by code.
    fn groups(&self) -> impl Iterator<Item = &[u32]> {
        self.first.windows(2).map(|bounds| &self.rows[bounds[0]..bounds[1]])
    }
}

/// The rows (ascending) whose (trace, key) pair occurs more than once: the only rows that can be
/// duplicates. Each trace's rows are compared among themselves only.
pub fn repeated_rows(trace: &[i32], key: &[i64]) -> Vec<i64> {
    let mut repeated = Vec::new();
    let mut counts: FxHashMap<i64, u32> = FxHashMap::default();
    for rows in Grouped::new(trace).groups() {
        if rows.len() > SCAN_LIMIT {
            counts.clear();
            for &row in rows {
                *counts.entry(key[row as usize]).or_insert(0) += 1;
            }
            repeated.extend(rows.iter().filter(|&&row| counts[&key[row as usize]] > 1).map(|&row| i64::from(row)));
        } else {
            repeated.extend(
                rows.iter()
                    .filter(|&&row| rows.iter().any(|&other| other != row && key[other as usize] == key[row as usize]))
                    .map(|&row| i64::from(row)),
            );
        }
    }
    repeated.sort_unstable();
    repeated
}

/// For each span, the row of its parent (the span of the same trace whose id is its `parent`),
/// or -1 when it has none (`parent` 0) or the parent is not in the data. Duplicates are settled
/// before, so a (trace, span id) names one row; were it not, the first would be taken.
///
/// Rows are grouped by trace (a counting sort on the trace code), and each child looks for its
/// parent among its trace's spans only: a short scan, or a map for a trace with many spans. The
/// lookups stay within a few cache lines, where one map of every span would miss on each.
pub fn parent_rows(trace: &[i32], span_id: &[i64], parent: &[i64]) -> Vec<i32> {
    let mut result = vec![-1i32; trace.len()];
    let mut index: FxHashMap<i64, u32> = FxHashMap::default();
    for rows in Grouped::new(trace).groups() {
        if rows.len() > SCAN_LIMIT {
            index.clear();
            for &row in rows {
                index.entry(span_id[row as usize]).or_insert(row);
            }
        }
        for &row in rows {
            let wanted = parent[row as usize];
            if wanted == 0 {
                continue;
            }
            let found = if rows.len() > SCAN_LIMIT {
                index.get(&wanted).copied()
            } else {
                rows.iter().copied().find(|&candidate| span_id[candidate as usize] == wanted)
            };
            if let Some(found) = found {
                result[row as usize] = found as i32;
            }
        }
    }
    result
}

/// A duration in ms as whole µs, rounded up (a child's end and a parent's window alike).
fn micros(duration_ms: f64) -> i64 {
    (duration_ms * 1000.0).ceil() as i64
}

/// Each span's self time in ms: its duration minus the union of its children's intervals, each
/// child clipped to its parent's window, to the microsecond. Exact for parents of any length.
pub fn self_times(parent_row: &[i32], start_us: &[i64], duration_ms: &[f64]) -> Vec<f64> {
    let mut intervals: Vec<(i64, i64)> = Vec::new();
    let mut result = duration_ms.to_vec();
    for (parent, children) in Grouped::new(parent_row).groups().enumerate() {
        if children.is_empty() {
            continue;
        }
        let window = micros(duration_ms[parent]);
        intervals.clear();
        intervals.extend(children.iter().map(|&child| {
            let child = child as usize;
            let offset = start_us[child].saturating_sub(start_us[parent]);
            let end = offset.saturating_add(micros(duration_ms[child]));
            (offset.clamp(0, window), end.clamp(0, window))
        }));
        intervals.sort_unstable();
        let mut covered = 0i64;
        let mut reach = 0i64;
        for &(start, end) in &intervals {
            covered += (end - start.max(reach)).max(0);
            reach = reach.max(end);
        }
        result[parent] = (duration_ms[parent] - covered as f64 / 1000.0).max(0.0);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::{parent_rows, repeated_rows, self_times};

    #[test]
    fn repeated_keys_are_found_per_trace() {
        // key 7 twice in trace 0, once in trace 1; key 5 in trace 1 twice
        assert_eq!(repeated_rows(&[0, 1, 0, 1, 1, 0], &[7, 7, 7, 5, 5, 8]), vec![0, 2, 3, 4]);
        let trace = vec![2; 100];
        let key: Vec<i64> = (0..100).map(|row| if row % 10 == 0 { 1 } else { 1000 + row }).collect();
        assert_eq!(repeated_rows(&trace, &key), (0..100).step_by(10).collect::<Vec<i64>>(), "a large trace, by map");
    }

    #[test]
    fn parents_are_found_within_their_trace() {
        // trace 0: root 1, child 2; trace 1 reuses id 1 as its root, with a child 2 of its own
        let rows = parent_rows(&[0, 0, 1, 1, 1], &[1, 2, 1, 2, 3], &[0, 1, 0, 1, 9]);
        assert_eq!(rows, vec![-1, 0, -1, 2, -1]);
    }

    #[test]
    fn a_trace_of_many_spans_is_looked_up_by_map() {
        // a chain of 100 spans in trace 1, interleaved with a 2-span trace 0
        let mut trace = Vec::new();
        let mut span_id = Vec::new();
        let mut parent = Vec::new();
        for id in 1..=100i64 {
            trace.extend([1, 0]);
            span_id.extend([id, 1000 + id]);
            parent.extend([id - 1, if id == 2 { 1001 } else { 0 }]);
        }
        let rows = parent_rows(&trace, &span_id, &parent);
        assert_eq!(rows[0], -1);
        assert!((1..100).all(|id| rows[2 * id] == 2 * (id as i32 - 1)), "each span's parent is the one before it");
        assert_eq!(rows[3], 1, "trace 0's second span has the first as its parent");
    }

    #[test]
    fn overlapping_children_count_once_and_are_clipped() {
        // a 100 ms parent; children 0-60 and 30-90 overlap (90 covered), one starts before it and
        // one runs past its end (clipped to 0-10 and 95-100)
        let parent_row = [-1, 0, 0, 0, 0];
        let start_us = [1_000_000, 1_000_000, 1_030_000, 990_000, 1_095_000];
        let duration_ms = [100.0, 60.0, 60.0, 20.0, 50.0];
        let result = self_times(&parent_row, &start_us, &duration_ms);
        assert_eq!(result[0], 5.0);
        assert_eq!(&result[1..], &duration_ms[1..]);
    }
}

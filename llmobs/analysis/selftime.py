"""Self time, as profilers define it: the part of a span's duration not covered by its children,
children that overlap (run in parallel) counted once, each child clipped to its parent's window.

Computed for every span at once: children are grouped by parent and sorted by start; the time a
group covers is the union of its intervals, found with one running maximum over the ranks of their
end times (ranks keep each group's maximum inside the group, with no float offsets).
"""

from __future__ import annotations

import numpy as np

from llmobs.read.columns import Columns


def parent_rows(columns: Columns) -> np.ndarray:
    """For each span, the row of its parent (same trace, parent id), or -1 when the parent is not in
    the data. Duplicates are settled before, so a (trace, span id) names one row."""
    spans = columns.spans
    n = len(spans.trace)
    out = np.full(n, -1, dtype=np.int64)
    children = np.flatnonzero(spans.parent != 0)
    if len(children) == 0:
        return out
    # Rows and queries sorted together by (trace, id); a query sorts just after a row with its key.
    traces = np.concatenate([spans.trace.astype(np.int64), spans.trace[children].astype(np.int64)])
    ids = np.concatenate([spans.span_id, spans.parent[children]])
    is_query = np.r_[np.zeros(n, dtype=bool), np.ones(len(children), dtype=bool)]
    order = np.lexsort((is_query, ids, traces))
    position = np.arange(len(order))
    last_row = np.maximum.accumulate(np.where(is_query[order], -1, position))  # the latest row at or before each position
    queries = np.flatnonzero(is_query[order])
    candidate = last_row[queries]
    valid = candidate >= 0
    row = order[np.maximum(candidate, 0)]
    query = order[queries]
    valid &= (traces[row] == traces[query]) & (ids[row] == ids[query])
    out[children[query[valid] - n]] = row[valid]
    return out


def self_times(columns: Columns) -> np.ndarray:
    """Each span's self time in ms: its duration minus the union of its children's intervals."""
    spans = columns.spans
    duration = spans.duration_ms.astype(np.float64)
    result = duration.copy()
    parent = parent_rows(columns)
    child = np.flatnonzero(parent >= 0)
    if len(child) == 0:
        return result
    group = parent[child]
    window = duration[group]
    offset = (spans.start_us[child] - spans.start_us[group]).astype(np.float64) / 1000.0  # µs apart, exact before scaling
    start = np.clip(offset, 0.0, window)
    end = np.clip(offset + duration[child], 0.0, window)
    by_start = np.lexsort((start, group))
    group, start, end = group[by_start], start[by_start], end[by_start]
    by_end = np.lexsort((end, group))
    rank = np.empty(len(end), dtype=np.int64)
    rank[by_end] = np.arange(len(end))
    _, inverse, counts = np.unique(group, return_inverse=True, return_counts=True)
    first_rank = np.r_[0, np.cumsum(counts)[:-1]][inverse]  # both orders list groups ascending
    earlier = np.r_[-1, np.maximum.accumulate(rank)[:-1]]  # the latest-ending earlier interval, maybe of another group
    reach = np.where(earlier >= first_rank, end[by_end][np.maximum(earlier, 0)], 0.0)
    covered = np.maximum(0.0, end - np.maximum(start, reach))
    result -= np.bincount(group, weights=covered, minlength=len(result))
    return np.maximum(result, 0.0)

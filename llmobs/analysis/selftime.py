"""Self time, as profilers define it: the part of a span's duration not covered by its children,
children that overlap (run in parallel) counted once, each child clipped to its parent's window.

Computed for every span at once, to the microsecond: children are put in order of (parent, start)
by one sort of an integer key (the parent's row in the high bits, the start offset in µs in the low
ones); the time a parent's children cover is the union of their intervals, found with one running
maximum of the same kind of key for their ends, which stays within each parent by construction.
"""

from __future__ import annotations

import numpy as np

from llmobs.read.columns import Columns

LOW_BITS = 32  # µs offsets inside a parent up to 2**32 µs (71 minutes) fit beside the parent's row
LOW_MASK = (1 << LOW_BITS) - 1


def parent_rows(columns: Columns) -> np.ndarray:
    """For each span, the row of its parent (same trace, parent id), or -1 when the parent is not in
    the data. Duplicates are settled before, so a (trace, span id) names one row. Span ids are
    nearly always unique across traces, so the join is on the id alone; an id shared by several
    traces is resolved exactly for the few children that name it. Rows are int32 and temporaries
    are dropped as soon as they are used: this runs at the reader's memory peak."""
    spans = columns.spans
    out = np.full(len(spans.trace), -1, dtype=np.int32)
    children = np.flatnonzero(spans.parent != 0).astype(np.int32)
    if len(children) == 0:
        return out
    order = np.argsort(spans.span_id).astype(np.int32)  # not stable: three times faster, and ties are resolved by trace below
    sorted_ids = spans.span_id[order]
    wanted = spans.parent[children]
    by_wanted = np.argsort(wanted).astype(np.int32)  # searching in order keeps the lookups in cache: several times faster
    low = np.empty(len(children), dtype=np.int32)
    low[by_wanted] = np.searchsorted(sorted_ids, wanted[by_wanted], side="left")
    del by_wanted
    last = len(order) - 1
    np.minimum(low, last, out=low)
    found = sorted_ids[low] == wanted
    shared = found & (low < last) & (sorted_ids[np.minimum(low + 1, last)] == wanted)
    del sorted_ids, wanted
    candidate = order[low]
    match = found & ~shared & (spans.trace[candidate] == spans.trace[children])
    out[children[match]] = candidate[match]
    del candidate, match, found
    if shared.any():  # an id used in several traces
        ids = spans.span_id[order]
        for child, first in zip(children[shared].tolist(), low[shared].tolist(), strict=True):
            stop = int(np.searchsorted(ids, spans.parent[child], side="right"))
            rows = order[first:stop]
            same = rows[spans.trace[rows] == spans.trace[child]]
            if len(same):
                out[child] = same[0]
    return out


def self_times(columns: Columns) -> np.ndarray:
    """Each span's self time in ms: its duration minus the union of its children's intervals."""
    spans = columns.spans
    duration = spans.duration_ms
    result = duration.astype(np.float64, copy=True)
    parent = parent_rows(columns)
    child = np.flatnonzero(parent >= 0).astype(np.int32)
    if len(child) == 0:
        return result
    group = parent[child]
    del parent
    window_us = np.ceil(duration[group] * 1000.0).astype(np.int64)
    offset_us = spans.start_us[child] - spans.start_us[group]
    end_us = offset_us + np.ceil(duration[child] * 1000.0).astype(np.int64)
    del child
    start_us = np.clip(offset_us, 0, window_us, out=offset_us)
    np.clip(end_us, 0, window_us, out=end_us)
    too_long = int(window_us.max()) > LOW_MASK
    del window_us
    if too_long:
        return _self_times_exactly(result, group, start_us, end_us)  # a parent longer than 71 minutes
    key = (group.astype(np.int64) << LOW_BITS) | start_us
    order = np.argsort(key).astype(np.int32)  # children starting together may come in either order: their union is the same
    del key
    group, start_us, end_us = group[order], start_us[order], end_us[order]
    del order
    reach = np.maximum.accumulate((group.astype(np.int64) << LOW_BITS) | end_us)  # within a parent, the furthest end so far
    earlier = np.zeros(len(reach), dtype=np.int64)
    same_parent = (reach[:-1] >> LOW_BITS) == group[1:]
    earlier[1:][same_parent] = reach[:-1][same_parent] & LOW_MASK
    del reach, same_parent
    np.maximum(start_us, earlier, out=start_us)
    del earlier
    covered_us = np.maximum(end_us - start_us, 0)
    del start_us, end_us
    result -= np.bincount(group, weights=covered_us / 1000.0, minlength=len(result))
    return np.maximum(result, 0.0, out=result)


def _self_times_exactly(result: np.ndarray, group: np.ndarray, start_us: np.ndarray, end_us: np.ndarray) -> np.ndarray:
    """The same union, without packing a parent and an offset into one integer: a sort on two keys
    and a running maximum restarted at each parent (slower, for parents of any length)."""
    order = np.lexsort((start_us, group))
    group, start_us, end_us = group[order], start_us[order], end_us[order]
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    covered_us = np.zeros(len(group), dtype=np.int64)
    for begin, stop in zip(starts.tolist(), [*starts[1:].tolist(), len(group)], strict=True):
        reach = np.maximum.accumulate(end_us[begin:stop])
        earlier = np.r_[0, reach[:-1]]
        covered_us[begin:stop] = np.maximum(0, end_us[begin:stop] - np.maximum(start_us[begin:stop], earlier))
    result -= np.bincount(group, weights=covered_us / 1000.0, minlength=len(result))
    return np.maximum(result, 0.0)

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
    traces is resolved exactly for the few children that name it."""
    spans = columns.spans
    out = np.full(len(spans.trace), -1, dtype=np.int64)
    children = np.flatnonzero(spans.parent != 0)
    if len(children) == 0:
        return out
    order = np.argsort(spans.span_id, kind="stable")
    sorted_ids = spans.span_id[order]
    wanted = spans.parent[children]
    by_wanted = np.argsort(wanted)  # searching in order keeps the lookups in cache: several times faster
    low = np.empty(len(children), dtype=np.int64)
    low[by_wanted] = np.searchsorted(sorted_ids, wanted[by_wanted], side="left")
    last = len(order) - 1
    at = np.minimum(low, last)
    found = sorted_ids[at] == wanted
    shared = found & (at < last) & (sorted_ids[np.minimum(at + 1, last)] == wanted)
    candidate = order[at]
    match = found & ~shared & (spans.trace[candidate] == spans.trace[children])
    out[children[match]] = candidate[match]
    for child, first in zip(children[shared].tolist(), low[shared].tolist(), strict=True):  # an id used in several traces
        stop = int(np.searchsorted(sorted_ids, spans.parent[child], side="right"))
        rows = order[first:stop]
        same = rows[spans.trace[rows] == spans.trace[child]]
        if len(same):
            out[child] = same[0]
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
    window_us = np.ceil(duration[group] * 1000.0)
    offset_us = (spans.start_us[child] - spans.start_us[group]).astype(np.float64)
    start_us = np.clip(offset_us, 0, window_us).astype(np.int64)
    end_us = np.clip(np.ceil(offset_us + duration[child] * 1000.0), 0, window_us).astype(np.int64)
    if int(window_us.max()) > LOW_MASK or len(result) >= 1 << (63 - LOW_BITS):
        return _self_times_exactly(result, group, start_us, end_us)  # a parent longer than 71 minutes
    order = np.argsort((group << LOW_BITS) | start_us, kind="stable")
    group, start_us, end_us = group[order], start_us[order], end_us[order]
    reach_key = np.maximum.accumulate((group << LOW_BITS) | end_us)  # within a parent, the furthest end so far
    earlier = np.r_[-1, reach_key[:-1]]
    reach_us = np.where((earlier >> LOW_BITS) == group, earlier & LOW_MASK, 0)
    covered_us = np.maximum(0, end_us - np.maximum(start_us, reach_us))
    result -= np.bincount(group, weights=covered_us / 1000.0, minlength=len(result))
    return np.maximum(result, 0.0)


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

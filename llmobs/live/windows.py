"""The report's mergeable parts kept by time: small buckets that make the sliding window, and one
part of everything since the watch started.

A trace is put in the bucket of the moment it ended (its root span's end, else its latest record;
a moment ahead of the clock counts as now), so a window holds the requests that ended within it,
and old data read at the start counts since the start but in no window. Memory stays bounded: a
bucket leaves once the window has passed it, and distributions keep `EXACT_VALUES` exact values,
beyond which they are DDSketches (see `analysis.sketch`); the since-start part keeps the latest
`FAILED_LISTED` failed evals, counting the rest.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from llmobs.analysis.partial import ReportPart, finish_report, merge_parts, report_part
from llmobs.analysis.results import Report
from llmobs.analysis.usage import exact_sum_parts
from llmobs.pricing import Pricer
from llmobs.read.columns import Columns
from llmobs.read.settle import take_rows
from llmobs.read.stats import InputStats

BUCKETS_PER_WINDOW = 30
EXACT_VALUES = 50_000
FAILED_LISTED = 100


def trace_end_seconds(columns: Columns) -> np.ndarray:
    """Per trace code: when it ended, in seconds since the epoch (its root span's end, else its
    latest record)."""
    ends = np.full(len(columns.trace_ids), -np.inf)
    s, u, e = columns.spans, columns.usage, columns.evals
    np.maximum.at(ends, s.trace, (s.start_us + s.duration_ms * 1000.0) / 1e6)
    np.maximum.at(ends, u.trace, u.time_us / 1e6)
    np.maximum.at(ends, e.trace, e.time_us / 1e6)
    roots = s.is_root
    ends[s.trace[roots]] = (s.start_us[roots] + s.duration_ms[roots] * 1000.0) / 1e6
    return ends


def _folded(part: ReportPart) -> ReportPart:
    """The part with its lists of exact-sum parts folded to two floats each, and its failed evals
    to the latest FAILED_LISTED, so that merging it for days keeps it the same size."""
    part.cost_total = exact_sum_parts(np.asarray(part.cost_total))
    part.cost_by_month = {month: exact_sum_parts(np.asarray(values)) for month, values in part.cost_by_month.items()}
    part.model_cost = {key: exact_sum_parts(np.asarray(values)) for key, values in part.model_cost.items()}
    if len(part.failed) > FAILED_LISTED:
        part.failed.sort(key=lambda f: f[0])
        part.failed_dropped += len(part.failed) - FAILED_LISTED
        part.failed = part.failed[-FAILED_LISTED:]
    return part


class Windows:
    """The parts of a sliding window of `window` seconds, and of everything since the start."""

    def __init__(self, window: float, pricer: Pricer, by: str = "name") -> None:
        self.window = window
        self.width = max(window / BUCKETS_PER_WINDOW, 1.0)
        self.pricer = pricer
        self.by = by
        self.buckets: dict[int, ReportPart] = {}
        self.total = ReportPart()
        self.last_request_end: float | None = None  # seconds since the epoch

    def add(self, columns: Columns, now: float) -> None:
        """Whole, settled traces: counted since the start, and in the bucket of their end."""
        if not len(columns.trace_ids):
            return
        ends = np.minimum(trace_end_seconds(columns), now)
        roots = columns.spans.is_root
        if roots.any():
            latest = float(ends[columns.spans.trace[roots]].max())
            self.last_request_end = latest if self.last_request_end is None else max(self.last_request_end, latest)
        keys = np.floor(ends / self.width).astype(np.int64)
        oldest = self._oldest_key(now)
        keys[keys < oldest] = oldest - 1  # before the window: since the start only
        for key in np.unique(keys).tolist():
            keep = keys == key
            part = report_part(take_rows(columns, keep[columns.spans.trace], keep[columns.usage.trace], keep[columns.evals.trace]), self.pricer, self.by)
            self.total = _folded(merge_parts(self.total, part, EXACT_VALUES))
            if key >= oldest:
                bucket = self.buckets.get(key)
                self.buckets[key] = part if bucket is None else _folded(merge_parts(bucket, part, EXACT_VALUES))

    def _oldest_key(self, now: float) -> int:
        return math.floor((now - self.window) / self.width) + 1

    def expire(self, now: float) -> None:
        """Buckets the window has passed, dropped."""
        oldest = self._oldest_key(now)
        for key in [k for k in self.buckets if k < oldest]:
            del self.buckets[key]

    def window_part(self, now: float) -> ReportPart:
        self.expire(now)
        part = ReportPart()
        for key in sorted(self.buckets):
            part = merge_parts(part, self.buckets[key], EXACT_VALUES)
        return part

    def window_report(self, now: float, stats: InputStats) -> tuple[Report, ReportPart]:
        part = self.window_part(now)
        return finish_report(part, stats, None if part.rows else "no records in the window"), part

    def total_report(self, stats: InputStats) -> Report:
        return finish_report(replace(self.total), stats, None if self.total.rows else "no records yet")

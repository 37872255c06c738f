"""Records waiting for their trace to be whole, and the traces let go once they are.

The analyses count whole traces (duplicates, retries and rollups are settled within a trace), so a
record read from a growing log waits until its trace looks done: its root span has been written
and nothing more came for it for `settle` seconds. A trace without spans (usage or evals written on
their own, or an eval long after its request) is let go after `settle` seconds too; one whose root
never comes is let go, incomplete, after `max_wait` seconds.
"""

from __future__ import annotations

import numpy as np

from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.merge import compact, merge_columns
from llmobs.read.settle import take_rows


class PendingTraces:
    """Columns of the traces not yet let go, with when each was first and last written to."""

    def __init__(self, settle: float, max_wait: float, group_attrs: tuple[str, ...] = ()) -> None:
        self.settle = settle
        self.max_wait = max_wait
        self.columns: Columns = ColumnBuilder(group_attrs).finish()
        self.first_seen = np.empty(0)
        self.last_seen = np.empty(0)

    @property
    def traces(self) -> int:
        return len(self.first_seen)

    @property
    def records(self) -> int:
        c = self.columns
        return len(c.spans.trace) + len(c.usage.trace) + len(c.evals.trace)

    def add(self, parts: list[Columns], now: float) -> None:
        """New records, read at `now` (the codes of the waiting ones stay as they are)."""
        parts = [p for p in parts if len(p.spans.trace) or len(p.usage.trace) or len(p.evals.trace)]
        if not parts:
            return
        self.columns = merge_columns([self.columns, *parts])
        traces = len(self.columns.trace_ids)
        grown = traces - len(self.first_seen)
        self.first_seen = np.concatenate([self.first_seen, np.full(grown, now)])
        self.last_seen = np.concatenate([self.last_seen, np.full(grown, now)])
        self.last_seen[self._new_rows_traces(parts)] = now

    def _new_rows_traces(self, parts: list[Columns]) -> np.ndarray:
        """The merged codes of the traces the newest parts wrote to (their rows are the last ones)."""
        c = self.columns
        new_spans = sum(len(p.spans.trace) for p in parts)
        new_usage = sum(len(p.usage.trace) for p in parts)
        new_evals = sum(len(p.evals.trace) for p in parts)
        return np.unique(np.concatenate([
            c.spans.trace[len(c.spans.trace) - new_spans:], c.usage.trace[len(c.usage.trace) - new_usage:], c.evals.trace[len(c.evals.trace) - new_evals:],
        ]).astype(np.int64))

    def take_ready(self, now: float, *, everything: bool = False) -> Columns | None:
        """The traces that look done at `now` (with `everything`, all of them), no longer waiting."""
        if not self.traces:
            return None
        c = self.columns
        traces = len(self.first_seen)
        has_root = np.zeros(traces, dtype=bool)
        has_root[c.spans.trace[c.spans.is_root]] = True
        has_spans = np.zeros(traces, dtype=bool)
        has_spans[c.spans.trace] = True
        quiet = now - self.last_seen >= self.settle
        ready = (quiet & (has_root | ~has_spans)) | (now - self.first_seen >= self.max_wait)
        if everything:
            ready[:] = True
        if not ready.any():
            return None
        done = compact(take_rows(c, ready[c.spans.trace], ready[c.usage.trace], ready[c.evals.trace]))
        waiting = ~ready
        used = np.zeros(traces, dtype=bool)
        for codes in (c.spans.trace, c.usage.trace, c.evals.trace):
            used[codes] = True
        kept = waiting & used
        self.columns = compact(take_rows(c, waiting[c.spans.trace], waiting[c.usage.trace], waiting[c.evals.trace]))
        self.first_seen, self.last_seen = self.first_seen[kept], self.last_seen[kept]
        return done

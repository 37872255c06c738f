"""Self time, as profilers define it: the part of a span's duration not covered by its children,
children that overlap (run in parallel) counted once, each child clipped to its parent's window.

Computed for every span at once, to the microsecond, by the native core (`read.native`, Rust):
parents are found by a hash join on (trace, span id), children grouped by parent with a counting
sort, and each parent's covered time is the union of its children's intervals. Linear in the
spans, exact for parents of any length.
"""

from __future__ import annotations

import numpy as np

from llmobs.read import native
from llmobs.read.columns import Columns


def parent_rows(columns: Columns) -> np.ndarray:
    """For each span, the row of its parent (same trace, parent id), or -1 when the parent is not in
    the data. Duplicates are settled before, so a (trace, span id) names one row."""
    spans = columns.spans
    return native.parent_rows(spans.trace, spans.span_id, spans.parent)


def self_times(columns: Columns) -> np.ndarray:
    """Each span's self time in ms: its duration minus the union of its children's intervals."""
    spans = columns.spans
    return native.self_times(parent_rows(columns), spans.start_us, spans.duration_ms)

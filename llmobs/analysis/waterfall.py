"""The slowest requests as waterfalls: each one's spans on its time axis, in trace-tree order."""

from __future__ import annotations

import numpy as np

from llmobs.analysis.results import Waterfall, WaterfallSpan
from llmobs.read.columns import Columns

WATERFALLS = 5
MAX_SPANS = 200  # a waterfall of more rows is not read by a person; the rest are counted


def waterfalls(columns: Columns, top: int = WATERFALLS) -> list[Waterfall]:
    """The `top` slowest requests (by root duration, then trace id), each with its spans depth
    first by start."""
    spans = columns.spans
    roots = np.flatnonzero(spans.is_root)
    if len(roots) == 0:
        return []
    durations = spans.duration_ms[roots]
    cutoff = np.partition(durations, len(durations) - min(top, len(durations)))[len(durations) - min(top, len(durations))]
    candidates = roots[durations >= cutoff]  # the top, and any tied with the last of them
    chosen = sorted(candidates.tolist(), key=lambda row: (-float(spans.duration_ms[row]), columns.trace_ids.values[spans.trace[row]]))[:top]
    return [_waterfall(columns, root) for root in chosen]


def _waterfall(columns: Columns, root: int) -> Waterfall:
    spans = columns.spans
    rows = np.flatnonzero(spans.trace == spans.trace[root])
    by_id = {int(spans.span_id[r]): int(r) for r in rows}
    children: dict[int, list[int]] = {}
    for r in rows.tolist():
        if r != root:
            parent = by_id.get(int(spans.parent[r]), root)  # a span whose parent is missing hangs under the root
            children.setdefault(parent, []).append(r)
    ordered: list[tuple[int, int]] = []
    stack = [(root, 0)]
    seen = set()
    while stack:
        row, depth = stack.pop()
        if row in seen:  # a parent cycle: each span once
            continue
        seen.add(row)
        ordered.append((row, depth))
        kids = sorted(children.get(row, []), key=lambda r: (spans.start_us[r], r))
        stack.extend((kid, depth + 1) for kid in reversed(kids))
    origin = int(spans.start_us[root])
    shown = ordered[:MAX_SPANS]
    code = int(spans.trace[root])
    return Waterfall(
        trace_id=columns.trace_ids.values[code],
        request_id=columns.root_request_id.get(code),
        name=columns.names.values[spans.name[root]],
        duration_ms=float(spans.duration_ms[root]),
        status="error" if spans.is_error[root] else "ok",
        spans=[
            WaterfallSpan(name=columns.names.values[spans.name[r]], offset_ms=(int(spans.start_us[r]) - origin) / 1000.0,
                          duration_ms=float(spans.duration_ms[r]), depth=depth, status="error" if spans.is_error[r] else "ok")
            for r, depth in shown
        ],
        spans_left_out=len(rows) - len(shown),
    )

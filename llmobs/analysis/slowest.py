"""`llmobs slowest`: steps ranked by p95, then the slowest individual requests."""

from __future__ import annotations

import numpy as np

from llmobs.analysis.requests import request_weights
from llmobs.analysis.results import SlowestResult, SlowRequest
from llmobs.analysis.steps import analyze_steps
from llmobs.read.columns import Columns

MIN_RANKED_COUNT = 5  # a p95 of fewer spans than this is mostly one span: such steps are listed apart


def slowest(columns: Columns, top: int, by: str = "name", rank_by: str = "p95_ms", min_count: int = MIN_RANKED_COUNT) -> SlowestResult:
    """The `top` slowest steps (by `rank_by`: p95 of total or of self time) with at least
    `min_count` spans, the `top` slowest of the rest apart, and the slowest requests by duration."""
    spans = columns.spans
    roots = np.flatnonzero(spans.is_root)
    weights = request_weights(columns)
    order = roots[np.argsort(-spans.duration_ms[roots], kind="stable")[:top]]
    requests = [
        SlowRequest(
            trace_id=columns.trace_ids.values[spans.trace[i]],
            request_id=columns.root_request_id.get(int(spans.trace[i])),
            name=columns.names.values[spans.name[i]],
            start=str(np.datetime64(int(spans.start_us[i]), "us")) + "Z",
            duration_ms=float(spans.duration_ms[i]),
            status="error" if spans.is_error[i] else "ok",
        )
        for i in order
    ]
    steps = analyze_steps(columns, by, rank_by)
    return SlowestResult(
        group_by=by,
        ranked_by=rank_by,
        min_count=min_count,
        steps=[s for s in steps if s.count >= min_count][:top],
        few=[s for s in steps if s.count < min_count][:top],
        requests=requests,
        total_request_ms=float(spans.duration_ms[roots].sum() if weights is None else (spans.duration_ms[roots] * weights).sum()) if len(roots) else None,
    )

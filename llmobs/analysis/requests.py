"""Question 1 and the request half of question 4: request latency and request error rate."""

from __future__ import annotations

import numpy as np

from llmobs.analysis.results import LatencyMs, RequestsSummary
from llmobs.analysis.stats import weighted_percentiles
from llmobs.read.columns import Columns


def incomplete_traces(columns: Columns) -> int:
    """Traces seen in any record but without a root span."""
    seen = np.zeros(len(columns.trace_ids), dtype=bool)
    seen[columns.spans.trace] = True
    seen[columns.usage.trace] = True
    seen[columns.evals.trace] = True
    rooted = np.zeros_like(seen)
    rooted[columns.spans.trace[columns.spans.is_root]] = True
    return int((seen & ~rooted).sum())


def request_weights(columns: Columns) -> np.ndarray | None:
    """Each root span's sampling weight, or None when nothing was sampled."""
    weights = columns.span_weights()
    return None if weights is None else weights[columns.spans.is_root]


def estimated_requests(columns: Columns) -> float:
    """How many requests the roots read stand for (their count, unless the log was sampled)."""
    weights = request_weights(columns)
    return float(columns.spans.is_root.sum()) if weights is None else float(weights.sum())


def analyze_requests(columns: Columns) -> RequestsSummary:
    """Requests are root spans; their latency is the root's duration. Weighted when sampled."""
    roots = columns.spans.is_root
    weights = request_weights(columns)
    latency = weighted_percentiles(columns.spans.duration_ms[roots], weights)
    kept = int(roots.sum())
    return RequestsSummary(
        count=round(estimated_requests(columns)),
        kept=kept,
        estimated=weights is not None,
        incomplete=incomplete_traces(columns),
        error_rate=float(np.average(columns.spans.is_error[roots], weights=weights)) if kept else None,
        latency_ms=LatencyMs(p50=latency[0], p95=latency[1], p99=latency[2]) if latency else None,
    )

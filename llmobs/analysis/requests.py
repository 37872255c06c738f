"""Question 1 and the request half of question 4: request latency and request error rate."""

from __future__ import annotations

import numpy as np

from llmobs.analysis.results import LatencyMs, RequestsSummary
from llmobs.analysis.stats import percentiles
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


def analyze_requests(columns: Columns) -> RequestsSummary:
    """Requests are root spans; their latency is the root's duration."""
    roots = columns.spans.is_root
    durations = columns.spans.duration_ms[roots]
    latency = percentiles(durations)
    count = int(roots.sum())
    return RequestsSummary(
        count=count,
        incomplete=incomplete_traces(columns),
        error_rate=float(columns.spans.is_error[roots].mean()) if count else None,
        latency_ms=LatencyMs(p50=latency[0], p95=latency[1], p99=latency[2]) if latency else None,
    )

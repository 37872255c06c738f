"""Question 1 and the request half of question 4: request latency and request error rate."""

from __future__ import annotations

import numpy as np

from llmobs.analysis.results import HistogramBin, LatencyMs, RequestsSummary
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
        latency_histogram=latency_histogram(columns),
    )


BINS_PER_DECADE = 4


def latency_histogram(columns: Columns) -> list[HistogramBin]:
    """Request latencies in log-scale bins (a quarter decade each, from the smallest to the largest
    latency, empty bins kept so the shape reads right; a zero latency counts in the first bin);
    counts weighted when sampled."""
    roots = columns.spans.is_root
    durations = columns.spans.duration_ms[roots]
    if len(durations) == 0:
        return []
    weights = request_weights(columns)
    positive = durations[durations > 0]
    low_exp = int(np.floor(np.log10(positive.min()) * BINS_PER_DECADE)) if len(positive) else 0
    high_exp = int(np.floor(np.log10(positive.max()) * BINS_PER_DECADE)) + 1 if len(positive) else 1
    edges = 10.0 ** (np.arange(low_exp, high_exp + 1) / BINS_PER_DECADE)
    index = np.clip(np.searchsorted(edges, durations, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(index, weights=weights, minlength=len(edges) - 1)
    return [HistogramBin(low_ms=float(edges[i]), high_ms=float(edges[i + 1]), count=float(counts[i])) for i in range(len(edges) - 1)]

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


FINE_BINS_PER_DECADE = 16  # latencies are counted in bins this fine, then shown as coarse as MIN_BINS allows
BIN_WIDTHS = (4, 8, 16)  # bins per decade a histogram may have: a quarter, an eighth or a sixteenth of a decade
MIN_BINS = 12


def fine_bins(durations: np.ndarray, weights: np.ndarray | None) -> tuple[dict[int, float], int, int, float]:
    """Positive latencies by absolute bin k (10^(k/16) ≤ latency < 10^((k+1)/16)), the lowest and
    one past the highest bin, and the weight of latencies of zero (shown in the first bin). Counts
    of several parts add up bin by bin, so a cluster's parts merge into the same histogram."""
    positive = durations > 0
    zero = float((~positive).sum() if weights is None else weights[~positive].sum())
    values = durations[positive]
    if len(values) == 0:
        return {}, 0, 1, zero
    bins = fine_bin_index(values)
    low, high = int(bins.min()), int(bins.max()) + 1
    counts = np.bincount(bins - low, weights=None if weights is None else weights[positive], minlength=high - low)
    return {low + int(i): float(counts[i]) for i in np.flatnonzero(counts)}, low, high, zero


def fine_bin_index(values: np.ndarray) -> np.ndarray:
    """Each positive latency's bin k, checked against the edges themselves so a value a rounding
    away from an edge lands in the same bin whatever else is counted with it."""
    bins = np.floor(np.log10(values) * FINE_BINS_PER_DECADE).astype(np.int64)
    bins -= values < 10.0 ** (bins / FINE_BINS_PER_DECADE)
    bins += values >= 10.0 ** ((bins + 1) / FINE_BINS_PER_DECADE)
    return bins


def histogram_of(counts: dict[int, float], low: int, high: int, zero: float) -> list[HistogramBin]:
    """The histogram from fine bins: a quarter of a decade a bin, or an eighth or a sixteenth when
    that is what it takes for the latencies to span MIN_BINS bins (a narrow spread still shows its
    shape), empty bins kept so the shape reads right."""
    for per_decade in BIN_WIDTHS:
        factor = FINE_BINS_PER_DECADE // per_decade
        first, last = low // factor, (high - 1) // factor + 1
        if last - first >= MIN_BINS:
            break
    edges = 10.0 ** (np.arange(first, last + 1) / per_decade)
    totals = np.zeros(last - first)
    for k, weight in sorted(counts.items()):
        totals[min(max(k // factor - first, 0), len(totals) - 1)] += weight
    totals[0] += zero
    return [HistogramBin(low_ms=float(edges[i]), high_ms=float(edges[i + 1]), count=float(totals[i])) for i in range(len(totals))]


def latency_histogram(columns: Columns) -> list[HistogramBin]:
    """Request latencies in log-scale bins (see `histogram_of`; a zero latency counts in the first
    bin); counts weighted when sampled."""
    roots = columns.spans.is_root
    durations = columns.spans.duration_ms[roots]
    if len(durations) == 0:
        return []
    return histogram_of(*fine_bins(durations, request_weights(columns)))

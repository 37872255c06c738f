"""Questions 1 and 3: per-step latency percentiles, totals and error rates, slowest first."""

from __future__ import annotations

import math

import numpy as np

from llmobs.analysis.results import StepSummary
from llmobs.analysis.stats import grouped_percentiles
from llmobs.read.columns import Columns, Strings

BUILTIN_GROUPS = ("name", "model", "kind")
UNSET = "(unset)"


def group_codes(columns: Columns, by: str) -> tuple[np.ndarray, Strings]:
    """Each span's group code and the table naming the codes, for `--by name|model|kind|<attr>`."""
    spans = columns.spans
    if by == "name":
        return spans.name, columns.names
    if by == "model":
        return spans.model, columns.models
    if by == "kind":
        return spans.kind, columns.kinds
    return spans.group[by], columns.attr_values


def _share(part: float, whole: float) -> float | None:
    """part / whole, or None when it has no finite value (no request time, or a vanishing one)."""
    if whole <= 0:
        return None
    share = part / whole  # Python floats: an overflow is inf, not a warning
    return share if math.isfinite(share) else None


def analyze_steps(columns: Columns, by: str = "name") -> list[StepSummary]:
    """Non-root spans grouped by `by`, sorted by p95 descending; spans without the key group as `(unset)`.
    Counts, totals, rates and percentiles are weighted when the log was sampled."""
    spans = columns.spans
    child = ~spans.is_root
    codes, table = group_codes(columns, by)
    codes = codes[child].astype(np.int64)
    durations = spans.duration_ms[child]
    errors = spans.is_error[child]
    all_weights = columns.span_weights()
    weights = None if all_weights is None else all_weights[child]
    group, sizes, quantiles = grouped_percentiles(codes, durations, weights=weights)
    if len(group) == 0:
        return []
    index = np.searchsorted(group, codes)
    counts = sizes if weights is None else np.bincount(index, weights=weights, minlength=len(group))
    totals = np.bincount(index, weights=durations if weights is None else durations * weights, minlength=len(group))
    error_counts = np.bincount(index, weights=errors if weights is None else errors * weights, minlength=len(group))
    roots = spans.is_root
    request_total = float(spans.duration_ms[roots].sum() if all_weights is None else (spans.duration_ms[roots] * all_weights[roots]).sum())
    steps = [
        StepSummary(
            name=table.lookup(int(code)) or UNSET,
            count=round(float(count)),
            p50_ms=float(q[0]),
            p95_ms=float(q[1]),
            p99_ms=float(q[2]),
            total_ms=float(total),
            error_rate=float(errs / count),
            share_of_request_time=_share(float(total), request_total),
        )
        for code, count, q, total, errs in zip(group, counts, quantiles, totals, error_counts, strict=True)
    ]
    return sorted(steps, key=lambda s: (-s.p95_ms, s.name))

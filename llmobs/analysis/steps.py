"""Questions 1 and 3: per-step latency percentiles, totals and error rates, slowest first."""

from __future__ import annotations

import math

import numpy as np

from llmobs.analysis.results import StepSummary
from llmobs.analysis.selftime import self_times
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


def share(part: float, whole: float) -> float | None:
    """part / whole, or None when it has no finite value (no request time, or a vanishing one)."""
    if whole <= 0:
        return None
    share = part / whole  # Python floats: an overflow is inf, not a warning
    return share if math.isfinite(share) else None


RANKINGS = ("p95_ms", "self_p95_ms")


def analyze_steps(columns: Columns, by: str = "name", rank_by: str = "p95_ms") -> list[StepSummary]:
    """Non-root spans grouped by `by`, slowest first by `rank_by` (p95 of the whole span or of its
    self time); spans without the key group as `(unset)`. Counts, totals, rates and percentiles are
    weighted when the log was sampled."""
    spans = columns.spans
    child = ~spans.is_root
    all_weights = columns.span_weights()
    all_self = self_times(columns)  # first: its temporaries come and go before the step columns exist
    all_self_total = float(all_self.sum() if all_weights is None else (all_self * all_weights).sum())
    own = all_self[child]
    del all_self  # the analyses run at the reader's memory peak: drop what is no longer needed
    codes, table = group_codes(columns, by)
    codes = codes[child]  # int32 codes: half the memory of widening them
    durations = spans.duration_ms[child]
    errors = spans.is_error[child]
    weights = None if all_weights is None else all_weights[child]
    group, sizes, quantiles = grouped_percentiles(codes, durations, weights=weights)
    if len(group) == 0:
        return []
    _, _, self_quantiles = grouped_percentiles(codes, own, weights=weights)
    index = np.searchsorted(group, codes)

    def summed(values: np.ndarray) -> np.ndarray:
        return np.bincount(index, weights=values if weights is None else values * weights, minlength=len(group))

    counts = sizes if weights is None else np.bincount(index, weights=weights, minlength=len(group))
    totals, self_totals, error_counts = summed(durations), summed(own), summed(errors.astype(np.float64))
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
            share_of_request_time=share(float(total), request_total),
            self_p50_ms=float(sq[0]),
            self_p95_ms=float(sq[1]),
            self_total_ms=float(self_total),
            self_share=share(float(self_total), all_self_total),
        )
        for code, count, q, sq, total, self_total, errs in zip(group, counts, quantiles, self_quantiles, totals, self_totals, error_counts, strict=True)
    ]
    return sorted(steps, key=lambda s: (-getattr(s, rank_by), s.name))

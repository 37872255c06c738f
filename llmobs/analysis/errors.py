"""Questions 4 and 5: span error rate, the most common error types, and retry success."""

from __future__ import annotations

import numpy as np

from llmobs.analysis.results import ErrorsSummary, ErrorTypeCount, MonthErrors, RetriesSummary
from llmobs.read.columns import Columns


def analyze_errors(columns: Columns) -> ErrorsSummary:
    """Errors over all spans (weighted when sampled); every error type by count, descending (ties by name)."""
    spans = columns.spans
    weights = columns.span_weights()
    failed = spans.is_error
    count = float(failed.sum()) if weights is None else float(weights[failed].sum())
    everything = float(len(spans.trace)) if weights is None else float(weights.sum())
    codes = spans.error_type[failed]
    counts = np.bincount(codes, weights=None if weights is None else weights[failed], minlength=len(columns.error_types)) if len(codes) else np.zeros(0)
    ranked = sorted(((round(float(n)), columns.error_types.values[c]) for c, n in enumerate(counts) if n), key=lambda t: (-t[0], t[1]))
    return ErrorsSummary(
        by_month=_errors_by_month(columns),
        count=round(count),
        rate=count / everything if len(spans.trace) else None,
        top=[ErrorTypeCount(type=name, count=n) for n, name in ranked],
    )


def analyze_retries(columns: Columns) -> RetriesSummary:
    """An operation is an attempt-1 span plus the spans whose `retry_of` names it; one with ≥ 2
    attempts succeeded when its highest attempt is `ok` (of two spans claiming the same highest
    attempt number, the one read later counts)."""
    sums = retry_sums(columns)
    if sums is None:
        return RetriesSummary(operations=0, succeeded=0, success_rate=None)
    operations, succeeded = sums
    return RetriesSummary(operations=round(operations), succeeded=round(succeeded), success_rate=succeeded / operations)


def retry_sums(columns: Columns) -> tuple[float, float] | None:
    """(operations, of which succeeded), weighted when sampled, as `analyze_retries` counts them;
    None when no span retries another."""
    spans = columns.spans
    retried = spans.retry_of != 0
    if not retried.any():
        return None
    trace = spans.trace[retried].astype(np.int64)
    origin = spans.retry_of[retried]
    attempt = spans.attempt[retried]
    ok = ~spans.is_error[retried]
    order = np.lexsort((attempt, origin, trace))
    trace, origin, ok = trace[order], origin[order], ok[order]
    last = np.r_[(trace[1:] != trace[:-1]) | (origin[1:] != origin[:-1]), True]
    weights = np.ones(int(last.sum())) if columns.trace_weight is None else columns.trace_weight[trace[last]]
    return float(weights.sum()), float(weights[ok[last]].sum())


def _errors_by_month(columns: Columns) -> list[MonthErrors]:
    """Per UTC month of the requests' start: requests and the share that failed (weighted when sampled)."""
    from llmobs.analysis.usage import month_name

    return [MonthErrors(month=month_name(m), requests=round(n), error_rate=f / n) for m, (n, f) in month_error_sums(columns).items()]


def month_error_sums(columns: Columns) -> dict[int, tuple[float, float]]:
    """Per month of the requests' start (as `usage.months_of` counts them), ascending: (requests,
    failed requests), weighted when sampled."""
    from llmobs.analysis.requests import request_weights
    from llmobs.analysis.usage import month_groups

    spans = columns.spans
    roots = spans.is_root
    if not roots.any():
        return {}
    weights = request_weights(columns)
    months, inverse = month_groups(spans.start_us[roots])
    requests = np.bincount(inverse, weights=weights, minlength=len(months))
    failed = np.bincount(inverse, weights=spans.is_error[roots] * (1.0 if weights is None else weights), minlength=len(months))
    return {int(m): (float(n), float(f)) for m, n, f in zip(months, requests, failed, strict=True)}

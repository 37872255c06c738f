"""Logs as metrics: request and step duration histograms, token, cost and error counters.

Histogram buckets are those the OpenTelemetry GenAI conventions advise for
`gen_ai.client.operation.duration`, so dashboards built for that metric work on these too.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from llmobs.pricing import PricedUsage
from llmobs.read.columns import Columns

DURATION_BUCKETS_S = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)


class Histogram(BaseModel):
    model_config = ConfigDict(frozen=True)

    labels: dict[str, str]
    cumulative_counts: list[float]  # one per bucket in DURATION_BUCKETS_S, then +Inf (estimated counts when sampled)
    sum: float


class Counter(BaseModel):
    model_config = ConfigDict(frozen=True)

    labels: dict[str, str]
    value: float


class MetricsResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_duration: list[Histogram]
    step_duration: list[Histogram]
    requests: list[Counter]
    errors: list[Counter]
    tokens: list[Counter]
    cost_usd: list[Counter]
    unpriced_tokens: list[Counter]
    missing_usage: list[Counter]


def _histogram(seconds: np.ndarray, weights: np.ndarray | None, labels: dict[str, str]) -> Histogram:
    if weights is None:
        counts = np.searchsorted(np.sort(seconds), DURATION_BUCKETS_S, side="right")
        return Histogram(labels=labels, cumulative_counts=[int(c) for c in counts] + [len(seconds)], sum=float(seconds.sum()))
    order = np.argsort(seconds, kind="stable")
    running = np.r_[0.0, np.cumsum(weights[order])]
    counts = running[np.searchsorted(seconds[order], DURATION_BUCKETS_S, side="right")]
    return Histogram(labels=labels, cumulative_counts=[float(c) for c in counts] + [float(running[-1])], sum=float((seconds * weights).sum()))


def _grouped(codes: np.ndarray, weights: np.ndarray | None = None) -> list[tuple[int, float]]:
    if len(codes) == 0:
        return []
    unique, inverse = np.unique(codes, return_inverse=True)
    sums = np.bincount(inverse, weights=weights) if weights is not None else np.bincount(inverse)
    return [(int(code), float(total)) for code, total in zip(unique, sums, strict=True)]


def build_metrics(columns: Columns, priced: PricedUsage) -> MetricsResult:
    """Every metric from the columns; label values are the logs' own names. Counts and sums are
    estimates weighted by each trace's sampling weight when the log was sampled."""
    spans, usage = columns.spans, columns.usage
    span_weights = columns.span_weights()
    weights = np.ones(len(spans.trace)) if span_weights is None else span_weights
    usage_weights = columns.usage_weights()

    def by_name(mask: np.ndarray, label: str) -> list[Histogram]:
        names, seconds = spans.name[mask], spans.duration_ms[mask] / 1000
        subset = None if span_weights is None else span_weights[mask]
        return [
            _histogram(seconds[names == code], None if subset is None else subset[names == code], {label: columns.names.values[code]})
            for code in np.unique(names)
        ]

    roots = spans.is_root
    request_duration = by_name(roots, "request")
    step_duration = by_name(~roots, "step")
    requests = [
        Counter(labels={"status": status}, value=float(weights[mask].sum()))
        for status, mask in (("ok", roots & ~spans.is_error), ("error", roots & spans.is_error))
    ]
    errors = [
        Counter(labels={"type": columns.error_types.values[code]}, value=n)
        for code, n in _grouped(spans.error_type[spans.is_error], weights[spans.is_error])
    ]

    def model_labels(row_codes: tuple[int, int]) -> dict[str, str]:
        provider, model = row_codes
        return {"model": columns.models.values[model], "provider": columns.providers.lookup(provider) or ""}

    pair = usage.provider.astype(np.int64) * (len(columns.models) + 1) + usage.model
    decode = lambda key: (int(key) // (len(columns.models) + 1), int(key) % (len(columns.models) + 1))  # noqa: E731
    def weighted(values: np.ndarray) -> np.ndarray:
        return values.astype(np.float64) if usage_weights is None else values * usage_weights

    tokens: list[Counter] = []
    reported_in, reported_out = usage.input_tokens >= 0, usage.output_tokens >= 0
    for token_type, values, reported in (
        ("input", usage.input_tokens, reported_in),
        ("output", usage.output_tokens, reported_out),
        ("cache_read", usage.cache_read_tokens, reported_in),
        ("cache_write", usage.cache_write_tokens, reported_in),
        ("reasoning", usage.reasoning_tokens, reported_out),
    ):
        for key, total in _grouped(pair[reported], weighted(values)[reported]):
            if total or token_type in ("input", "output"):
                tokens.append(Counter(labels={**model_labels(decode(key)), "token_type": token_type}, value=total))
    known = ~np.isnan(priced.cost_usd)
    cost = [Counter(labels=model_labels(decode(key)), value=total) for key, total in _grouped(pair[known], weighted(np.nan_to_num(priced.cost_usd))[known])]
    unpriced_tokens = [
        Counter(labels=model_labels(decode(key)), value=total)
        for key, total in _grouped(pair[priced.unpriced], weighted(usage.input_tokens + usage.output_tokens)[priced.unpriced])
    ]
    missing = [
        Counter(labels=model_labels(decode(key)), value=n)
        for key, n in _grouped(pair[priced.missing_usage], weighted(np.ones(len(usage.trace)))[priced.missing_usage])
    ]
    return MetricsResult(
        request_duration=request_duration, step_duration=step_duration, requests=requests, errors=errors,
        tokens=tokens, cost_usd=cost, unpriced_tokens=unpriced_tokens, missing_usage=missing,
    )

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
    cumulative_counts: list[int]  # one per bucket in DURATION_BUCKETS_S, then +Inf
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


def _histogram(seconds: np.ndarray, labels: dict[str, str]) -> Histogram:
    counts = np.searchsorted(np.sort(seconds), DURATION_BUCKETS_S, side="right")
    return Histogram(labels=labels, cumulative_counts=[int(c) for c in counts] + [len(seconds)], sum=float(seconds.sum()))


def _grouped(codes: np.ndarray, weights: np.ndarray | None = None) -> list[tuple[int, float]]:
    if len(codes) == 0:
        return []
    unique, inverse = np.unique(codes, return_inverse=True)
    sums = np.bincount(inverse, weights=weights) if weights is not None else np.bincount(inverse)
    return [(int(code), float(total)) for code, total in zip(unique, sums, strict=True)]


def build_metrics(columns: Columns, priced: PricedUsage) -> MetricsResult:
    """Every metric from the columns; label values are the logs' own names."""
    spans, usage = columns.spans, columns.usage
    roots = spans.is_root
    request_names = spans.name[roots]
    request_seconds = spans.duration_ms[roots] / 1000
    request_duration = [
        _histogram(request_seconds[request_names == code], {"request": columns.names.values[code]}) for code in np.unique(request_names)
    ]
    child = ~roots
    step_names = spans.name[child]
    step_seconds = spans.duration_ms[child] / 1000
    step_duration = [_histogram(step_seconds[step_names == code], {"step": columns.names.values[code]}) for code in np.unique(step_names)]
    requests = [
        Counter(labels={"status": status}, value=float(count))
        for status, count in (("ok", int((roots & ~spans.is_error).sum())), ("error", int((roots & spans.is_error).sum())))
    ]
    errors = [Counter(labels={"type": columns.error_types.values[code]}, value=n) for code, n in _grouped(spans.error_type[spans.is_error])]

    def model_labels(row_codes: tuple[int, int]) -> dict[str, str]:
        provider, model = row_codes
        return {"model": columns.models.values[model], "provider": columns.providers.lookup(provider) or ""}

    pair = usage.provider.astype(np.int64) * (len(columns.models) + 1) + usage.model
    decode = lambda key: (int(key) // (len(columns.models) + 1), int(key) % (len(columns.models) + 1))  # noqa: E731
    tokens: list[Counter] = []
    for direction, values in (("input", usage.input_tokens), ("output", usage.output_tokens)):
        reported = values >= 0
        for key, total in _grouped(pair[reported], values[reported].astype(np.float64)):
            tokens.append(Counter(labels={**model_labels(decode(key)), "token_type": direction}, value=total))
    known = ~np.isnan(priced.cost_usd)
    cost = [Counter(labels=model_labels(decode(key)), value=total) for key, total in _grouped(pair[known], priced.cost_usd[known])]
    unpriced_tokens = [
        Counter(labels=model_labels(decode(key)), value=total)
        for key, total in _grouped(pair[priced.unpriced], (usage.input_tokens + usage.output_tokens)[priced.unpriced].astype(np.float64))
    ]
    missing = [Counter(labels=model_labels(decode(key)), value=n) for key, n in _grouped(pair[priced.missing_usage])]
    return MetricsResult(
        request_duration=request_duration, step_duration=step_duration, requests=requests, errors=errors,
        tokens=tokens, cost_usd=cost, unpriced_tokens=unpriced_tokens, missing_usage=missing,
    )

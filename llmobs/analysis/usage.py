"""Questions 2 and 6: tokens and dollars per request, and cost per request month by month."""

from __future__ import annotations

import math

import numpy as np

from llmobs.analysis.requests import estimated_requests, request_weights
from llmobs.analysis.results import CostSummary, ModelCost, MonthCost, TokensSummary, TokenTotals
from llmobs.analysis.stats import groups_of
from llmobs.pricing import PricedUsage
from llmobs.read.columns import Columns


def months_of(micros: np.ndarray) -> np.ndarray:
    """UTC calendar month of each timestamp, as months since 1970-01 (see `month_name`)."""
    if len(micros) == 0:
        return np.empty(0, dtype=np.int64)
    first, last = (int(m) for m in micros[[micros.argmin(), micros.argmax()]].astype("datetime64[us]").astype("datetime64[M]").astype(np.int64))
    starts_us = np.arange(first, last + 2, dtype=np.int64).astype("datetime64[M]").astype("datetime64[us]").astype(np.int64)
    # a binary search among the few month starts, rather than three conversions of every timestamp
    return first + np.searchsorted(starts_us, micros, side="right") - 1


def month_groups(micros: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The months present (ascending, as `months_of` counts them) and each timestamp's index among
    them: `np.unique(months_of(micros), return_inverse=True)` without sorting every timestamp."""
    months = months_of(micros)
    if len(months) == 0:
        return months, np.empty(0, dtype=np.intp)
    first = int(months.min())
    present = np.flatnonzero(np.bincount(months - first))
    index_of = np.zeros(int(present[-1]) + 1, dtype=np.intp)
    index_of[present] = np.arange(len(present))
    return present + first, index_of[months - first]


def month_name(month: int) -> str:
    """`YYYY-MM` of a month counted from 1970-01."""
    return str(np.datetime64(int(month), "M"))


def sum_by_month(micros: np.ndarray, weights: np.ndarray | None) -> dict[str, float]:
    """Per `YYYY-MM`: the sum of `weights` (or the count) of the timestamps in that month."""
    if len(micros) == 0:
        return {}
    months, inverse = month_groups(micros)
    sums = np.bincount(inverse, weights=weights, minlength=len(months))
    return {month_name(m): float(total) for m, total in zip(months, sums, strict=True)}


def exact_sum(values: np.ndarray) -> float:
    """The sum of `values` correctly rounded (math.fsum): the same whatever order the values come
    in, so a cluster summing them in parts gives the very same dollars (`exact_sum_parts`)."""
    return math.fsum(values.tolist())


def exact_sum_parts(values: np.ndarray) -> list[float]:
    """Two floats whose exact sum is that of `values` to about 106 bits: the parts of sums made
    apart, whose `math.fsum` is then `exact_sum` of all the values."""
    listed = values.tolist()
    high = math.fsum(listed)
    return [high, math.fsum([-high, *listed])]


def cost_by_month(micros: np.ndarray, cost: np.ndarray, *, parts: bool = False) -> dict[str, float] | dict[str, list[float]]:
    """Per `YYYY-MM`: the exact sum of `cost` (or, with `parts`, its `exact_sum_parts`)."""
    add = exact_sum_parts if parts else exact_sum
    return {month_name(month): add(cost[rows]) for month, rows in groups_of(months_of(micros))}  # type: ignore[misc]


def weighted(values: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    return values.astype(np.float64) if weights is None else values * weights


def token_sums(columns: Columns) -> dict[str, float]:
    """Reported tokens of each kind (TokenTotals' fields), weighted when sampled: input and cache
    tokens over rows that report input, output and reasoning over rows that report output."""
    usage = columns.usage
    weights = columns.usage_weights()
    reported_in, reported_out = usage.input_tokens >= 0, usage.output_tokens >= 0

    def total(values: np.ndarray, rows: np.ndarray) -> float:
        return float(weighted(values[rows], None if weights is None else weights[rows]).sum())

    return {
        "input": total(usage.input_tokens, reported_in), "output": total(usage.output_tokens, reported_out),
        "cache_read": total(usage.cache_read_tokens, reported_in), "cache_write": total(usage.cache_write_tokens, reported_in),
        "reasoning": total(usage.reasoning_tokens, reported_out),
    }


def analyze_tokens(columns: Columns) -> TokensSummary:
    """Reported tokens per request, and in total by kind; usage rows with `null` tokens only count
    as missing. Weighted by each trace's sampling weight when the log was sampled."""
    usage = columns.usage
    weights = columns.usage_weights()
    reported_in = usage.input_tokens >= 0
    reported_out = usage.output_tokens >= 0
    missing = ~reported_in | ~reported_out
    missing_usage = round(float(missing.sum() if weights is None else weights[missing].sum()))
    requests = estimated_requests(columns)
    if not (reported_in.any() or reported_out.any()):
        return TokensSummary(input_per_request=None, output_per_request=None, missing_usage=missing_usage)
    sums = token_sums(columns)
    input_total, output_total, cache_read = sums["input"], sums["output"], sums["cache_read"]
    totals = TokenTotals(**{name: round(value) for name, value in sums.items()})
    return TokensSummary(
        input_per_request=input_total / requests if requests and reported_in.any() else None,
        output_per_request=output_total / requests if requests and reported_out.any() else None,
        missing_usage=missing_usage,
        totals=totals,
        cache_hit_rate=cache_read / input_total if input_total > 0 else None,
    )


def analyze_cost(columns: Columns, priced: PricedUsage) -> CostSummary:
    """Cost as logged or priced; months by usage time (cost) and root start (requests). Weighted by
    each trace's sampling weight when the log was sampled."""
    usage = columns.usage
    weights = columns.usage_weights()
    known = ~np.isnan(priced.cost_usd)
    unpriced_tokens = round(float(weighted(usage.input_tokens + usage.output_tokens, weights)[priced.unpriced].sum()))
    requests = estimated_requests(columns)
    cost = weighted(np.where(known, priced.cost_usd, 0.0), weights)
    total = exact_sum(cost[known]) if known.any() else None

    cost_months = cost_by_month(usage.time_us[known], cost[known])
    reported = (usage.input_tokens >= 0) & (usage.output_tokens >= 0)
    tokens = weighted(usage.input_tokens + usage.output_tokens, weights)
    tokens_by_month = sum_by_month(usage.time_us[reported], tokens[reported])
    roots = columns.spans.is_root
    request_months = sum_by_month(columns.spans.start_us[roots], request_weights(columns))
    cache_read_by_month = sum_by_month(usage.time_us[reported], weighted(usage.cache_read_tokens, weights)[reported])
    input_by_month = sum_by_month(usage.time_us[reported], weighted(usage.input_tokens, weights)[reported])
    models_by_month = _cost_by_month_and_model(columns, cost, known)
    by_month = []
    for month in sorted(set(cost_months) | set(request_months) | set(tokens_by_month)):
        month_cost = cost_months.get(month)
        count = request_months.get(month, 0.0)
        by_month.append(
            MonthCost(
                month=month,
                cost_usd=month_cost,
                requests=round(count),
                cost_per_request_usd=month_cost / count if month_cost is not None and count else None,
                tokens_per_request=tokens_by_month[month] / count if month in tokens_by_month and count else None,
                cache_hit_rate=cache_read_by_month[month] / input_by_month[month] if input_by_month.get(month) else None,
                by_model=models_by_month.get(month, []),
            )
        )
    return CostSummary(
        total_usd=total,
        per_request_usd=total / requests if total is not None and requests else None,
        unpriced_tokens=unpriced_tokens,
        by_month=by_month,
        unpriced_models=priced.unpriced_models,
    )


def _cost_by_month_and_model(columns: Columns, cost: np.ndarray, known: np.ndarray) -> dict[str, list[ModelCost]]:
    """Per month: the priced cost of each model (`provider/model`), largest first."""
    return {month: sorted((ModelCost(model=label, cost_usd=exact_sum(values)) for label, values in models.items()), key=lambda m: (-m.cost_usd, m.model))
            for month, models in cost_rows_by_month_and_model(columns, cost, known).items()}


def cost_rows_by_month_and_model(columns: Columns, cost: np.ndarray, known: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Per month and model (`provider/model`): the costs of its priced usage rows."""
    usage = columns.usage
    if not known.any():
        return {}
    months = months_of(usage.time_us[known])
    pairs = (len(columns.providers) + 1) * (len(columns.models) + 1)
    pair = (usage.provider[known].astype(np.int64) + 1) * (len(columns.models) + 1) + usage.model[known]  # provider -1 (none) as 0
    first = int(months.min())
    out: dict[str, dict[str, np.ndarray]] = {}
    known_cost = cost[known]
    for combined, rows in groups_of((months - first) * pairs + pair):
        month, key = divmod(combined, pairs)
        provider_code, model_code = divmod(key, len(columns.models) + 1)
        provider = columns.providers.lookup(provider_code - 1)
        model = columns.models.values[model_code]
        out.setdefault(month_name(month + first), {})[f"{provider}/{model}" if provider else model] = known_cost[rows]
    return out

"""Questions 2 and 6: tokens and dollars per request, and cost per request month by month."""

from __future__ import annotations

import numpy as np

from llmobs.analysis.results import CostSummary, MonthCost, TokensSummary
from llmobs.pricing import PricedUsage
from llmobs.read.columns import Columns


def months_of(micros: np.ndarray) -> np.ndarray:
    """UTC calendar month of each timestamp, as months since 1970-01 (see `month_name`)."""
    return micros.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)


def month_name(month: int) -> str:
    """`YYYY-MM` of a month counted from 1970-01."""
    return str(np.datetime64(int(month), "M"))


def sum_by_month(micros: np.ndarray, weights: np.ndarray | None) -> dict[str, float]:
    """Per `YYYY-MM`: the sum of `weights` (or the count) of the timestamps in that month."""
    if len(micros) == 0:
        return {}
    months, inverse = np.unique(months_of(micros), return_inverse=True)
    sums = np.bincount(inverse, weights=weights)
    return {month_name(m): float(total) for m, total in zip(months, sums, strict=True)}


def analyze_tokens(columns: Columns, requests: int) -> TokensSummary:
    """Reported tokens per request; usage rows with `null` tokens only count as missing."""
    usage = columns.usage
    reported_in = usage.input_tokens >= 0
    reported_out = usage.output_tokens >= 0
    missing = int((~reported_in | ~reported_out).sum())
    has_any = bool(reported_in.any() or reported_out.any())
    if not requests or not has_any:
        return TokensSummary(input_per_request=None, output_per_request=None, missing_usage=missing)
    return TokensSummary(
        input_per_request=float(usage.input_tokens[reported_in].sum()) / requests if reported_in.any() else None,
        output_per_request=float(usage.output_tokens[reported_out].sum()) / requests if reported_out.any() else None,
        missing_usage=missing,
    )


def analyze_cost(columns: Columns, priced: PricedUsage) -> CostSummary:
    """Cost as logged or priced; months by usage time (cost) and root start (requests)."""
    usage = columns.usage
    known = ~np.isnan(priced.cost_usd)
    unpriced_tokens = int((usage.input_tokens[priced.unpriced] + usage.output_tokens[priced.unpriced]).sum())
    roots = columns.spans.is_root
    requests = int(roots.sum())
    total = float(priced.cost_usd[known].sum()) if known.any() else None

    cost_by_month = sum_by_month(usage.time_us[known], priced.cost_usd[known])
    reported = (usage.input_tokens >= 0) & (usage.output_tokens >= 0)
    tokens_by_month = sum_by_month(usage.time_us[reported], (usage.input_tokens[reported] + usage.output_tokens[reported]).astype(np.float64))
    request_months = {month: int(count) for month, count in sum_by_month(columns.spans.start_us[roots], None).items()}
    by_month = []
    for month in sorted(set(cost_by_month) | set(request_months) | set(tokens_by_month)):
        cost = cost_by_month.get(month)
        count = request_months.get(month, 0)
        by_month.append(
            MonthCost(
                month=month,
                cost_usd=cost,
                requests=count,
                cost_per_request_usd=cost / count if cost is not None and count else None,
                tokens_per_request=tokens_by_month[month] / count if month in tokens_by_month and count else None,
            )
        )
    return CostSummary(
        total_usd=total,
        per_request_usd=total / requests if total is not None and requests else None,
        unpriced_tokens=unpriced_tokens,
        by_month=by_month,
        unpriced_models=priced.unpriced_models,
    )

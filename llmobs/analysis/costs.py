"""Cost broken down by day, by month, or by a request's attribute (session, project, user …)."""

from __future__ import annotations

import numpy as np

from llmobs.analysis.requests import request_weights
from llmobs.analysis.results import CostBreakdown, CostRow
from llmobs.analysis.steps import UNSET
from llmobs.pricing import PricedUsage
from llmobs.read.columns import Columns

PERIODS = {"day": "datetime64[D]", "month": "datetime64[M]"}


def cost_by(columns: Columns, priced: PricedUsage, by: str) -> CostBreakdown:
    """Requests, tokens and cost per `by`: a UTC day or month (of each call, and of each request's
    start), or the value a request's root span has for attribute `by`. Weighted when sampled."""
    usage, spans = columns.usage, columns.spans
    roots = spans.is_root
    usage_weights = columns.usage_weights()
    root_weights = request_weights(columns)
    if by in PERIODS:
        usage_keys = usage.time_us.astype("datetime64[us]").astype(PERIODS[by]).astype(str)
        request_keys = spans.start_us[roots].astype("datetime64[us]").astype(PERIODS[by]).astype(str)
    else:
        value_of_trace = np.full(len(columns.trace_ids), -1, dtype=np.int64)
        value_of_trace[spans.trace[roots]] = spans.group[by][roots]
        names = np.array([*columns.attr_values.values, UNSET], dtype=object)  # -1 (no value) reads as the last
        usage_keys = names[value_of_trace[usage.trace]]
        request_keys = names[spans.group[by][roots]]

    def grouped(keys: np.ndarray, values: np.ndarray) -> dict[str, float]:
        if len(keys) == 0:
            return {}
        unique, inverse = np.unique(keys, return_inverse=True)
        return dict(zip(unique.tolist(), np.bincount(inverse, weights=values).tolist(), strict=True))

    weight = np.ones(len(usage.trace)) if usage_weights is None else usage_weights
    known = ~np.isnan(priced.cost_usd)
    reported_in, reported_out = usage.input_tokens >= 0, usage.output_tokens >= 0
    cost = grouped(usage_keys[known], (priced.cost_usd * weight)[known])
    tokens_in = grouped(usage_keys[reported_in], (usage.input_tokens * weight)[reported_in])
    cached = grouped(usage_keys[reported_in], (usage.cache_read_tokens * weight)[reported_in])
    tokens_out = grouped(usage_keys[reported_out], (usage.output_tokens * weight)[reported_out])
    requests = grouped(request_keys, np.ones(len(request_keys)) if root_weights is None else root_weights)
    rows = []
    for key in sorted(set(cost) | set(tokens_in) | set(tokens_out) | set(requests), key=str):
        count = requests.get(key, 0.0)
        spent = cost.get(key)
        rows.append(CostRow(
            key=str(key), requests=round(count), cost_usd=spent, cost_per_request_usd=spent / count if spent is not None and count else None,
            input_tokens=round(tokens_in.get(key, 0.0)), output_tokens=round(tokens_out.get(key, 0.0)),
            cache_hit_rate=cached.get(key, 0.0) / tokens_in[key] if tokens_in.get(key) else None,
        ))
    if by not in PERIODS:
        rows.sort(key=lambda r: (-(r.cost_usd or 0.0), r.key))
    return CostBreakdown(by=by, rows=rows, unpriced_models=priced.unpriced_models)

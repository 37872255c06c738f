"""The report in mergeable parts, for reading on a Dask cluster: each part is what `build_report`
needs of some whole traces (counts, weighted sums, groups by step, month, error type and model,
the failed evals, the slowest requests, and distributions for the percentiles), parts merge in any
order, and `finish_report` makes the same `Report` that `build_report` makes of all the traces.

Parts are computed from whole traces (the cluster sends every record of a trace to the same part)
already settled, filtered and with normalised step names, so duplicates, rollups, retries and
sampling weights are exactly as for the whole. Counts are exact; sums of floats agree with the
local engine's to the last bits (they are added in another order); percentiles are exact while the
values fit (`sketch.EXACT_LIMIT` per distribution), else DDSketch's, and the report says which.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field, replace

import numpy as np

from llmobs.analysis.errors import month_error_sums, retry_sums
from llmobs.analysis.quality import failed_evals
from llmobs.analysis.report import input_summary
from llmobs.analysis.requests import fine_bins, histogram_of, incomplete_traces, request_weights
from llmobs.analysis.results import (
    CostSummary,
    ErrorsSummary,
    ErrorTypeCount,
    FailedQuery,
    HistogramBin,
    LatencyMs,
    ModelCost,
    MonthCost,
    MonthErrors,
    QualitySummary,
    Report,
    RequestsSummary,
    RetriesSummary,
    StepSummary,
    TokensSummary,
    TokenTotals,
    Waterfall,
)
from llmobs.analysis.selftime import self_times
from llmobs.analysis.sketch import RELATIVE_ACCURACY, Distribution
from llmobs.analysis.stats import grouped_percentiles, groups_of
from llmobs.analysis.steps import UNSET, group_codes, share
from llmobs.analysis.usage import cost_by_month, cost_rows_by_month_and_model, exact_sum_parts, month_name, sum_by_month, token_sums, weighted
from llmobs.analysis.waterfall import WATERFALLS, waterfalls
from llmobs.pricing import Pricer
from llmobs.read.columns import Columns
from llmobs.read.stats import InputStats

SKETCHED = f"DDSketch, within {RELATIVE_ACCURACY:.0%} of the value at each percentile's rank"


def _empty() -> Distribution:
    return Distribution(np.empty(0))


def _add(into: dict, other: dict) -> dict:  # type: ignore[type-arg]
    """`other`'s values added into `into`'s (numbers summed, lists of sum parts joined)."""
    for key, value in other.items():
        into[key] = into[key] + value if key in into else value
    return into


@dataclass
class StepPart:
    count: float  # weighted
    durations: Distribution
    self_times: Distribution
    total: float
    self_total: float
    errors: float  # weighted


@dataclass
class ReportPart:
    """What `build_report` needs of some whole traces."""

    rows: int = 0  # records left after the filters
    weighted: bool = False  # some trace was sampled
    roots: int = 0
    root_weight: float = 0.0
    root_errors: float = 0.0
    latency: Distribution = field(default_factory=_empty)
    incomplete: int = 0
    histogram: dict[int, float] = field(default_factory=dict)  # absolute fine bin (requests.fine_bins) -> weight
    histogram_low: int | None = None  # the lowest and highest bins of positive latencies (as requests.py computes them)
    histogram_high: int | None = None
    nonpositive: float = 0.0  # weight of zero latencies: the first bin's
    steps: dict[str, StepPart] = field(default_factory=dict)
    request_total: float = 0.0
    self_total: float = 0.0
    spans: int = 0
    span_weight: float = 0.0
    error_weight: float = 0.0
    error_types: dict[str, float] = field(default_factory=dict)
    month_requests: dict[int, float] = field(default_factory=dict)
    month_failed: dict[int, float] = field(default_factory=dict)
    retried: bool = False
    operations: float = 0.0
    succeeded: float = 0.0
    missing_usage: float = 0.0
    reported_in: bool = False
    reported_out: bool = False
    tokens: dict[str, float] = field(default_factory=dict)  # input, output, cache_read, cache_write, reasoning
    cost_known: bool = False
    cost_total: list[float] = field(default_factory=list)  # parts of exact sums (`usage.exact_sum_parts`)
    unpriced_tokens: float = 0.0
    cost_by_month: dict[str, list[float]] = field(default_factory=dict)
    tokens_by_month: dict[str, float] = field(default_factory=dict)
    requests_by_month: dict[str, float] = field(default_factory=dict)
    cache_read_by_month: dict[str, float] = field(default_factory=dict)
    input_by_month: dict[str, float] = field(default_factory=dict)
    model_cost: dict[tuple[str, str], list[float]] = field(default_factory=dict)  # (month, provider/model)
    unpriced_models: set[str] = field(default_factory=set)
    evaluated: int = 0
    failed: list[tuple[int, str, str | None, str]] = field(default_factory=list)  # (time µs, trace id, query, evaluator)
    failed_dropped: int = 0  # failed evals counted but no longer listed (a long-running watch keeps the latest)
    slowest: list[Waterfall] = field(default_factory=list)
    duplicates: int = 0
    rollups: int = 0


def report_part(columns: Columns, pricer: Pricer, by: str = "name") -> ReportPart:
    """The part of the report that `columns` (whole traces, settled, filtered) make."""
    part = ReportPart(rows=len(columns.spans.trace) + len(columns.usage.trace) + len(columns.evals.trace), weighted=columns.trace_weight is not None)
    spans = columns.spans
    roots = spans.is_root
    weights = request_weights(columns)
    durations = spans.duration_ms[roots]
    part.roots = int(roots.sum())
    part.root_weight = float(part.roots if weights is None else weights.sum())
    part.root_errors = float(spans.is_error[roots].sum() if weights is None else (spans.is_error[roots] * weights).sum())
    part.latency = Distribution.of(durations, weights)
    part.incomplete = incomplete_traces(columns)
    _histogram_part(part, durations, weights)

    all_weights = columns.span_weights()
    own_all = self_times(columns)
    part.self_total = float(own_all.sum() if all_weights is None else (own_all * all_weights).sum())
    part.request_total = float(durations.sum() if weights is None else (durations * weights).sum())
    child = ~roots
    codes, table = group_codes(columns, by)
    child_weights = None if all_weights is None else all_weights[child]
    for code, rows in groups_of(codes[child]):
        w = None if child_weights is None else child_weights[rows]
        d, own, errs = spans.duration_ms[child][rows], own_all[child][rows], spans.is_error[child][rows]
        name = table.lookup(int(code)) or UNSET
        part.steps[name] = StepPart(
            count=float(len(rows) if w is None else w.sum()),
            durations=Distribution.of(d, w),
            self_times=Distribution.of(own, w),
            total=float(d.sum() if w is None else (d * w).sum()),
            self_total=float(own.sum() if w is None else (own * w).sum()),
            errors=float(errs.sum() if w is None else (errs * w).sum()),
        )

    part.spans = len(spans.trace)
    part.span_weight = float(part.spans if all_weights is None else all_weights.sum())
    failed = spans.is_error
    part.error_weight = float(failed.sum() if all_weights is None else all_weights[failed].sum())
    for code, rows in groups_of(spans.error_type[failed]):
        part.error_types[columns.error_types.values[code]] = float(len(rows) if all_weights is None else all_weights[failed][rows].sum())
    month_errors = month_error_sums(columns)
    part.month_requests = {month: requests for month, (requests, _) in month_errors.items()}
    part.month_failed = {month: failed for month, (_, failed) in month_errors.items()}
    retries = retry_sums(columns)
    part.retried = retries is not None
    part.operations, part.succeeded = retries or (0.0, 0.0)

    usage = columns.usage
    usage_weights = columns.usage_weights()
    reported_in, reported_out = usage.input_tokens >= 0, usage.output_tokens >= 0
    missing = ~reported_in | ~reported_out
    part.missing_usage = float(missing.sum() if usage_weights is None else usage_weights[missing].sum())
    part.reported_in, part.reported_out = bool(reported_in.any()), bool(reported_out.any())
    part.tokens = token_sums(columns)
    priced = pricer.price(columns)
    known = ~np.isnan(priced.cost_usd)
    part.unpriced_tokens = float(weighted(usage.input_tokens + usage.output_tokens, usage_weights)[priced.unpriced].sum())
    cost = weighted(np.where(known, priced.cost_usd, 0.0), usage_weights)
    part.cost_known = bool(known.any())
    part.cost_total = exact_sum_parts(cost[known])
    part.cost_by_month = cost_by_month(usage.time_us[known], cost[known], parts=True)  # type: ignore[assignment]
    reported = reported_in & reported_out
    part.tokens_by_month = sum_by_month(usage.time_us[reported], weighted(usage.input_tokens + usage.output_tokens, usage_weights)[reported])
    part.requests_by_month = sum_by_month(spans.start_us[roots], weights)
    part.cache_read_by_month = sum_by_month(usage.time_us[reported], weighted(usage.cache_read_tokens, usage_weights)[reported])
    part.input_by_month = sum_by_month(usage.time_us[reported], weighted(usage.input_tokens, usage_weights)[reported])
    for month, models in cost_rows_by_month_and_model(columns, cost, known).items():
        for label, values in models.items():
            part.model_cost[(month, label)] = exact_sum_parts(values)
    part.unpriced_models = set(priced.unpriced_models)

    part.evaluated = len(columns.evals.trace)
    part.failed = failed_evals(columns)
    part.slowest = waterfalls(columns)
    return part


def _histogram_part(part: ReportPart, durations: np.ndarray, weights: np.ndarray | None) -> None:
    """Latencies by absolute fine bin, as `latency_histogram` counts them."""
    counts, low, high, part.nonpositive = fine_bins(durations, weights)
    if counts:
        part.histogram, part.histogram_low, part.histogram_high = counts, low, high


def merge_parts(a: ReportPart, b: ReportPart, limit: int | None = None) -> ReportPart:
    """The part of both parts' traces (`a` is reused, `b` is left as it was); distributions keep
    exact values up to `limit` (default `sketch.EXACT_LIMIT`), then a sketch."""
    for name in ("rows", "roots", "root_weight", "root_errors", "incomplete", "nonpositive", "request_total", "self_total", "spans", "span_weight",
                 "error_weight", "operations", "succeeded", "missing_usage", "cost_total", "unpriced_tokens", "evaluated", "failed_dropped", "duplicates", "rollups"):
        setattr(a, name, getattr(a, name) + getattr(b, name))
    for name in ("weighted", "retried", "reported_in", "reported_out", "cost_known"):
        setattr(a, name, getattr(a, name) or getattr(b, name))
    a.latency = a.latency.merge(b.latency, limit)
    _add(a.histogram, b.histogram)
    lows = [x for x in (a.histogram_low, b.histogram_low) if x is not None]
    highs = [x for x in (a.histogram_high, b.histogram_high) if x is not None]
    a.histogram_low, a.histogram_high = (min(lows) if lows else None), (max(highs) if highs else None)
    for name, step in b.steps.items():
        mine = a.steps.get(name)
        if mine is None:
            a.steps[name] = replace(step)
            continue
        mine.count += step.count
        mine.durations = mine.durations.merge(step.durations, limit)
        mine.self_times = mine.self_times.merge(step.self_times, limit)
        mine.total += step.total
        mine.self_total += step.self_total
        mine.errors += step.errors
    for name in ("error_types", "month_requests", "month_failed", "tokens", "cost_by_month", "tokens_by_month", "requests_by_month",
                 "cache_read_by_month", "input_by_month", "model_cost"):
        _add(getattr(a, name), getattr(b, name))
    a.unpriced_models |= b.unpriced_models
    a.failed = a.failed + b.failed
    a.slowest = heapq.nsmallest(WATERFALLS, a.slowest + b.slowest, key=lambda w: (-w.duration_ms, w.trace_id))
    return a


def finish_report(part: ReportPart, stats: InputStats, no_data: str | None, rank_by: str = "p95_ms") -> Report:
    """The report the merged `part` of every trace makes, `stats` being the reading's accounting
    (its duplicates and rollups as the parts counted them)."""
    requests = part.root_weight if part.weighted else float(part.roots)
    latency = part.latency.quantiles()
    exact = part.latency.exact and all(step.durations.exact and step.self_times.exact for step in part.steps.values())
    operations, succeeded = part.operations, part.succeeded
    tokens = part.tokens
    by_month = []
    for month in sorted(set(part.cost_by_month) | set(part.requests_by_month) | set(part.tokens_by_month)):
        month_cost = math.fsum(part.cost_by_month[month]) if month in part.cost_by_month else None
        count = part.requests_by_month.get(month, 0.0)
        models = sorted((ModelCost(model=label, cost_usd=math.fsum(cost)) for (m, label), cost in part.model_cost.items() if m == month),
                        key=lambda c: (-c.cost_usd, c.model))
        by_month.append(MonthCost(
            month=month, cost_usd=month_cost, requests=round(count),
            cost_per_request_usd=month_cost / count if month_cost is not None and count else None,
            tokens_per_request=part.tokens_by_month[month] / count if month in part.tokens_by_month and count else None,
            cache_hit_rate=part.cache_read_by_month[month] / part.input_by_month[month] if part.input_by_month.get(month) else None,
            by_model=models,
        ))
    total = math.fsum(part.cost_total) if part.cost_known else None
    failed = sorted(part.failed, key=lambda f: (-f[0], f[1], f[3], f[2] or ""))
    return Report(
        no_data=no_data,
        input=input_summary(stats),
        requests=RequestsSummary(
            count=round(requests), kept=part.roots, estimated=part.weighted, incomplete=part.incomplete,
            error_rate=part.root_errors / part.root_weight if part.roots else None,
            latency_ms=LatencyMs(p50=latency[0], p95=latency[1], p99=latency[2]) if latency else None,
            latency_histogram=_histogram(part),
        ),
        steps=_steps(part, rank_by),
        errors=ErrorsSummary(
            by_month=[MonthErrors(month=month_name(m), requests=round(n), error_rate=part.month_failed[m] / n) for m, n in sorted(part.month_requests.items())],
            count=round(part.error_weight),
            rate=part.error_weight / part.span_weight if part.spans else None,
            top=[ErrorTypeCount(type=name, count=n) for n, name in sorted(((round(w), name) for name, w in part.error_types.items() if w), key=lambda t: (-t[0], t[1]))],
        ),
        retries=RetriesSummary(operations=round(operations), succeeded=round(succeeded), success_rate=succeeded / operations) if part.retried
        else RetriesSummary(operations=0, succeeded=0, success_rate=None),
        tokens=TokensSummary(input_per_request=None, output_per_request=None, missing_usage=round(part.missing_usage))
        if not (part.reported_in or part.reported_out)
        else TokensSummary(
            input_per_request=tokens["input"] / requests if requests and part.reported_in else None,
            output_per_request=tokens["output"] / requests if requests and part.reported_out else None,
            missing_usage=round(part.missing_usage),
            totals=TokenTotals(**{name: round(value) for name, value in tokens.items()}),
            cache_hit_rate=tokens["cache_read"] / tokens["input"] if tokens["input"] > 0 else None,
        ),
        cost=CostSummary(total_usd=total, per_request_usd=total / requests if total is not None and requests else None,
                         unpriced_tokens=round(part.unpriced_tokens), by_month=by_month, unpriced_models=sorted(part.unpriced_models)),
        quality=QualitySummary(evaluated=part.evaluated, failed=len(failed) + part.failed_dropped,
                               failed_queries=[FailedQuery(trace_id=trace, query=query, evaluator=evaluator) for _, trace, query, evaluator in failed]),
        slowest_requests=part.slowest,
        percentiles="exact" if exact else SKETCHED,
    )


def _histogram(part: ReportPart) -> list[HistogramBin]:
    if part.roots == 0:
        return []
    low, high = (part.histogram_low, part.histogram_high) if part.histogram_low is not None else (0, 1)
    return histogram_of(part.histogram, low, high, part.nonpositive)  # type: ignore[arg-type]


def _steps(part: ReportPart, rank_by: str) -> list[StepSummary]:
    names = sorted(part.steps)
    if not names:
        return []
    quantiles = {name: (_quantiles(part.steps[name].durations, part.weighted), _quantiles(part.steps[name].self_times, part.weighted)) for name in names}
    steps = [
        StepSummary(
            name=name, count=round(step.count), p50_ms=q[0], p95_ms=q[1], p99_ms=q[2], total_ms=step.total, error_rate=step.errors / step.count,
            share_of_request_time=share(step.total, part.request_total), self_p50_ms=sq[0], self_p95_ms=sq[1], self_total_ms=step.self_total,
            self_share=share(step.self_total, part.self_total),
        )
        for name in names
        for step, (q, sq) in [(part.steps[name], quantiles[name])]
    ]
    return sorted(steps, key=lambda s: (-getattr(s, rank_by), s.name))


def _quantiles(distribution: Distribution, sampled: bool) -> list[float]:
    """A step's percentiles as `analyze_steps` computes them (`grouped_percentiles`), or the sketch's."""
    if not distribution.exact:
        return distribution.quantiles()  # type: ignore[return-value]
    values = distribution.values
    weights = distribution.weights if distribution.weights is not None or not sampled else np.ones(len(values))  # type: ignore[arg-type]
    _, _, result = grouped_percentiles(np.zeros(len(values), dtype=np.int32), values, weights=weights)  # type: ignore[arg-type]
    return [float(v) for v in result[0]]

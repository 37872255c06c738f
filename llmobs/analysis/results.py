"""Result models of the analyses. Every output form renders these, so table, markdown and JSON
never disagree; `Report` dumps to exactly FORMAT.md's `llmobs.report/1` JSON (plus added keys).

`None` always means "the data cannot answer this", never zero.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, computed_field

from llmobs.units import with_unit

REPORT_SCHEMA = "llmobs.report/1"


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class InputSummary(_Result):
    files: int
    lines: int
    records: int
    bad_lines: int
    skipped_unknown: int
    spans: int
    usage: int
    evals: int
    bad_line_samples: list[str] = []
    ignored_files: int = 0
    duplicates: int = 0  # records read more than once, counted once
    rollups: int = 0  # spans whose usage included their descendants', counted only for the excess
    unknown_types: dict[str, int] = {}  # the records skipped for their type, by type
    notes: list[str] = []  # what was counted in an unusual way (the first 20), and how many such notes there were
    note_count: int = 0


class LatencyMs(_Result):
    p50: float
    p95: float
    p99: float


class HistogramBin(_Result):
    """Requests whose latency falls in [low_ms, high_ms): bins a quarter, an eighth or a sixteenth
    of a decade wide (log scale), the coarsest in which the latencies span 12 bins."""

    low_ms: float
    high_ms: float
    count: float  # estimated when the log was sampled


class RequestsSummary(_Result):
    count: int  # estimated from the sampling weights when `estimated`
    incomplete: int
    error_rate: float | None
    latency_ms: LatencyMs | None
    kept: int = 0  # root spans read; equals count unless the log was sampled
    estimated: bool = False  # the log was sampled: counts, rates, percentiles and totals are estimates
    latency_histogram: list[HistogramBin] = []


class StepSummary(_Result):
    name: str
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    total_ms: float
    error_rate: float
    share_of_request_time: float | None = None  # total / all requests' time: nested steps make these add past 100 %
    self_p50_ms: float = 0.0  # self time: the span's duration minus its children's (overlapping ones once)
    self_p95_ms: float = 0.0
    self_total_ms: float = 0.0
    self_share: float | None = None  # self total / all spans' self time (roots too): these add up to at most 100 %


class ErrorTypeCount(_Result):
    type: str
    count: int


class MonthErrors(_Result):
    month: str
    requests: int
    error_rate: float  # failed requests / requests started that month


class ErrorsSummary(_Result):
    count: int
    rate: float | None
    top: list[ErrorTypeCount]
    by_month: list[MonthErrors] = []


class RetriesSummary(_Result):
    operations: int
    succeeded: int
    success_rate: float | None


class TokenTotals(_Result):
    """Reported tokens of every kind; cache reads and writes are part of input, reasoning of output."""

    input: int
    output: int
    cache_read: int
    cache_write: int
    reasoning: int


class TokensSummary(_Result):
    input_per_request: float | None
    output_per_request: float | None
    missing_usage: int
    totals: TokenTotals | None = None
    cache_hit_rate: float | None = None  # cache-read share of input tokens


class ModelCost(_Result):
    model: str  # `provider/model` when the provider is known
    cost_usd: float


class MonthCost(_Result):
    month: str
    cost_usd: float | None
    requests: int
    cost_per_request_usd: float | None
    tokens_per_request: float | None = None
    cache_hit_rate: float | None = None
    by_model: list[ModelCost] = []  # the month's priced cost by model, largest first


class CostSummary(_Result):
    total_usd: float | None
    per_request_usd: float | None
    unpriced_tokens: int
    by_month: list[MonthCost]
    unpriced_models: list[str] = []


class CostRow(_Result):
    key: str  # a day, a month, or an attribute's value
    requests: int
    cost_usd: float | None
    cost_per_request_usd: float | None
    input_tokens: int
    output_tokens: int
    cache_hit_rate: float | None


class CostBreakdown(_Result):
    """Cost by day, month or a request attribute (`llmobs cost --by`)."""

    by: str
    rows: list[CostRow]
    unpriced_models: list[str] = []


class FailedQuery(_Result):
    trace_id: str
    query: str | None
    evaluator: str


class QualitySummary(_Result):
    evaluated: int
    failed: int
    failed_queries: list[FailedQuery]


class WaterfallSpan(_Result):
    name: str
    offset_ms: float  # start after the request's start
    duration_ms: float
    depth: int
    status: str


class Waterfall(_Result):
    """One of the slowest requests as its spans on a time axis (the trace tree, depth first)."""

    trace_id: str
    request_id: str | None
    name: str
    duration_ms: float
    status: str
    spans: list[WaterfallSpan]
    spans_left_out: int = 0


class Report(_Result):
    """The answers to the production checklist for one data set."""

    schema_: str = REPORT_SCHEMA
    input: InputSummary
    requests: RequestsSummary
    steps: list[StepSummary]
    errors: ErrorsSummary
    retries: RetriesSummary
    tokens: TokensSummary
    cost: CostSummary
    quality: QualitySummary
    slowest_requests: list[Waterfall] = []
    no_data: str | None = None  # why nothing at all can be answered (no records, every request filtered out)
    percentiles: str = "exact"  # or how they were estimated (a DDSketch, on a cluster, for more values than fit)

    def to_json_dict(self) -> dict[str, object]:
        """The `llmobs.report/1` document."""
        data = self.model_dump(mode="json")
        data.pop("schema_")
        return {"schema": self.schema_, **data}


class SlowRequest(_Result):
    trace_id: str
    request_id: str | None
    name: str
    start: str
    duration_ms: float
    status: str


class SlowestResult(_Result):
    """Steps ranked by p95 (of total or self time) and the slowest individual requests; steps with
    too few spans to say anything are listed apart, never ranked above the others."""

    group_by: str
    steps: list[StepSummary]
    requests: list[SlowRequest]
    total_request_ms: float | None
    ranked_by: str = "p95_ms"  # or "self_p95_ms"
    min_count: int = 0
    few: list[StepSummary] = []  # steps with fewer than min_count spans, by the same ranking


class ChecklistItem(_Result):
    key: str
    question: str
    answered: bool
    answer: str | None
    reason: str | None = None


class GateResult(_Result):
    """One threshold from the configuration, checked against the data."""

    name: str  # e.g. "p95_ms" or "steps.search.p95_ms"
    limit: float
    kind: str  # "ceiling" or "floor"
    measured: float | None
    passed: bool
    reason: str | None = None  # why it could not be measured
    unit: str = "number"  # ms, rate, usd, tokens or change: how the measured value and the limit read
    scope: str = ""  # what was measured: "all spans", "latest month (2026-11)" …

    @property
    def verdict(self) -> str:
        """One line: what was measured against what, with units and scope."""
        if self.measured is None:
            return f"{self.name} cannot be measured ({self.reason})"
        sign = "≥" if self.kind == "floor" else "≤"
        return f"{self.name} {with_unit(self.measured, self.unit)} vs {sign} {with_unit(self.limit, self.unit)} ({self.scope})"


class ComparisonRow(_Result):
    """One metric of requests or of one step, baseline against new, with a bootstrap interval."""

    scope: str  # "requests" or "step"
    name: str
    metric: str  # "p50_ms", "p95_ms" or "error_rate"
    base: float
    new: float
    change: float  # relative for latency (new/base - 1), absolute for error rate (new - base)
    ci_low: float
    ci_high: float
    base_count: int
    new_count: int
    regression: bool


class Comparison(_Result):
    """Baseline against new: which changes are regressions beyond tolerance and beyond noise."""

    tolerance: float
    error_rate_tolerance: float
    confidence: float
    rows: list[ComparisonRow]
    missing_steps: list[str] = []  # in the baseline, absent from the new data
    new_steps: list[str] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def regressions(self) -> list[ComparisonRow]:
        return [row for row in self.rows if row.regression]


class Checklist(_Result):
    items: list[ChecklistItem]
    gates: list[GateResult] = []
    comparison: Comparison | None = None
    require_all: bool = False
    no_data: str | None = None  # set when the gate fails for want of data (see --allow-empty)

    @property
    def all_answered(self) -> bool:
        return all(item.answered for item in self.items)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failures(self) -> list[str]:
        """Why the gate fails, one line each; empty when it holds."""
        lines = [f"no data: {self.no_data}; a gate must not pass on nothing (--allow-empty to allow it)"] if self.no_data else []
        lines += [g.verdict for g in self.gates if not g.passed]
        if self.require_all:
            lines += [f"unanswered: {i.question} ({i.reason})" for i in self.items if not i.answered]
        if self.comparison is not None:
            unit = lambda metric: "rate" if metric == "error_rate" else "ms"  # noqa: E731
            lines += [f"regression: {r.name} {r.metric} {with_unit(r.base, unit(r.metric))} -> {with_unit(r.new, unit(r.metric))}" for r in self.comparison.regressions]
        return lines

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        return not self.failures


class TraceSpanView(_Result):
    span_id: str
    parent_id: str | None
    name: str
    kind: str | None
    start: str
    offset_ms: float
    duration_ms: float
    status: str
    error: str | None
    attempt: int
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    depth: int
    rollup: bool = False  # its usage included its descendants': only its own part is shown and counted


class TraceView(_Result):
    trace_id: str
    request_id: str | None
    spans: list[TraceSpanView]
    orphans: int
    total_cost_usd: float | None
    evals: list[str]

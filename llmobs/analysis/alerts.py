"""Alert rules for `llmobs watch`: the `[tool.llmobs.alerts]` table, and each rule measured on a window.

The keys and units are the checklist's (`gates.py`), measured over the sliding window instead of
the whole log, plus what only a live log has: the cost per hour and minutes without a request. A
rule is a number (its limit) or a table `{limit = …, for = "2m"}`; `for` (how long a breach must last
before the rule fires, and a recovery before it resolves) and `hysteresis` (how far back inside its
limit a measurement must come to count as recovered) are set for all rules at the top. Every key is
declared, so a typo is an error, never a rule silently off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from llmobs.analysis.partial import ReportPart
from llmobs.analysis.results import Report
from llmobs.config import problem_lines
from llmobs.errors import ConfigError
from llmobs.units import period

RATES = {"error_rate", "retry_success_rate", "failed_eval_rate"}
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str | float | int) -> float:
    """Seconds from `90`, `"90s"`, `"5m"`, `"1.5h"`, `"250ms"`; a bare number is seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("must be at least 0")
        return float(value)
    match = DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration (e.g. 30s, 5m, 1h)")
    return float(match.group(1)) * SECONDS[match.group(2) or "s"]


class RuleTable(BaseModel):
    """One rule written as a table: its limit and, optionally, its own `for`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    limit: float = Field(ge=0)
    for_seconds: float | None = Field(default=None, alias="for")

    @field_validator("for_seconds", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)


Rule = float | RuleTable | None
Rate = float | RuleTable | None


def _limit_checked(value: Any, *, rate: bool) -> Any:
    """A rule's limit: at least 0, and at most 1 for a rate."""
    limit = value.limit if isinstance(value, RuleTable) else value
    if isinstance(limit, (int, float)) and limit < 0:
        raise ValueError("must be at least 0")
    if rate and isinstance(limit, (int, float)) and limit > 1:
        raise ValueError("must be at most 1 (a rate: 0.05 is 5 %)")
    return value


class StepAlerts(BaseModel):
    """Rules on one step (`[tool.llmobs.alerts.steps.NAME]`)."""

    model_config = ConfigDict(extra="forbid")

    p50_ms: Rule = None
    p95_ms: Rule = None
    p99_ms: Rule = None
    error_rate: Rate = None

    @field_validator("p50_ms", "p95_ms", "p99_ms", "error_rate")
    @classmethod
    def _limit(cls, value: Any, info: ValidationInfo) -> Any:
        return _limit_checked(value, rate=info.field_name == "error_rate")


class AlertsConfig(BaseModel):
    """The rules; all optional."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    for_seconds: float = Field(default=60.0, alias="for")
    hysteresis: float = Field(default=0.1, ge=0, lt=1)
    window: float | None = None  # seconds; `--window` overrides it
    p50_ms: Rule = None
    p95_ms: Rule = None
    p99_ms: Rule = None
    error_rate: Rate = None
    retry_success_rate: Rate = None
    cost_per_hour_usd: Rule = None
    cost_per_request_usd: Rule = None
    tokens_per_request: Rule = None
    failed_eval_rate: Rate = None
    no_requests_minutes: Rule = None
    steps: dict[str, StepAlerts] = {}
    error_types: dict[str, float | RuleTable] = {}  # the share of spans failing with this error type

    @field_validator("for_seconds", "window", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @field_validator("p50_ms", "p95_ms", "p99_ms", "error_rate", "retry_success_rate", "cost_per_hour_usd", "cost_per_request_usd",
                     "tokens_per_request", "failed_eval_rate", "no_requests_minutes")
    @classmethod
    def _limit(cls, value: Any, info: ValidationInfo) -> Any:
        return _limit_checked(value, rate=info.field_name in RATES)

    @field_validator("error_types")
    @classmethod
    def _rates(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name, rule in value.items():
            try:
                _limit_checked(rule, rate=True)
            except ValueError as exc:
                raise ValueError(f"{name!r}: {exc}") from None
        return value


FLOORS = {"retry_success_rate"}
UNITS = {"p50_ms": "ms", "p95_ms": "ms", "p99_ms": "ms", "error_rate": "rate", "retry_success_rate": "rate", "cost_per_hour_usd": "usd",
         "cost_per_request_usd": "usd", "tokens_per_request": "tokens", "failed_eval_rate": "rate", "no_requests_minutes": "minutes"}


class RuleSpec(BaseModel):
    """One rule as it is evaluated: which figure, its limit, direction and `for`."""

    model_config = ConfigDict(frozen=True)

    name: str  # "p95_ms", "steps.search.p95_ms", "error_types.RateLimitError"
    key: str  # the figure: "p95_ms", "error_rate", …
    limit: float
    kind: str  # "ceiling" or "floor"
    for_seconds: float
    hysteresis: float
    unit: str
    step: str | None = None
    error_type: str | None = None

    def breached(self, measured: float) -> bool:
        return measured < self.limit if self.kind == "floor" else measured > self.limit

    def recovered(self, measured: float) -> bool:
        """Back inside the limit by the hysteresis: a ceiling's `limit·(1−h)`, a floor's `limit + h·(1−limit)` for
        a rate (the way back to 1), else `limit·(1+h)`."""
        if self.kind == "floor":
            line = self.limit + self.hysteresis * (1 - self.limit) if self.unit == "rate" else self.limit * (1 + self.hysteresis)
            return measured >= line
        return measured <= self.limit * (1 - self.hysteresis)


class Measurement(BaseModel):
    """A rule's figure on one window: the value, or why there is none, and what it covered."""

    model_config = ConfigDict(frozen=True)

    value: float | None
    reason: str | None = None
    scope: str = ""


class Alert(BaseModel):
    """One alert as it is sent: a rule that fired, or resolved."""

    model_config = ConfigDict(frozen=True)

    status: str  # "firing" or "resolved"
    rule: str
    limit: float
    kind: str  # "ceiling" or "floor"
    unit: str
    measured: float | None
    scope: str
    window_seconds: float
    fired_at: str  # RFC 3339, UTC
    at: str
    text: str = ""


class RuleStatus(BaseModel):
    """A rule as the live view shows it."""

    model_config = ConfigDict(frozen=True)

    name: str
    state: str  # ok, pending, firing, recovering, no data, "firing, no data"
    measured: float | None
    reason: str | None
    limit: float
    kind: str
    unit: str


class LiveStatus(BaseModel):
    """What `llmobs watch` shows at one moment: the checklist over the window and since the start,
    the request rate, the rules, and what reading has met."""

    model_config = ConfigDict(frozen=True)

    at: str
    started_at: str
    window_seconds: float
    window: Report
    total: Report
    requests_per_minute: float | None  # over the window, or the time watched when shorter
    rules: list[RuleStatus]
    files: int
    waiting_traces: int
    events: list[str]


def _known_keys(parent: tuple[Any, ...]) -> list[str]:
    if not parent:
        return [("for" if name == "for_seconds" else name) for name in AlertsConfig.model_fields]
    if parent[0] == "steps":
        return list(StepAlerts.model_fields)
    return ["limit", "for"]


def parse_alerts_config(table: Mapping[str, Any], section: str, source: str) -> AlertsConfig:
    """Validate an alerts table; each problem one line naming the file, the section and the key."""
    try:
        return AlertsConfig.model_validate(dict(table))
    except ValidationError as exc:
        errors = [e for e in exc.errors(include_input=False) if not (len(e["loc"]) > 1 and e["loc"][-1] in ("float", "RuleTable"))] or exc.errors(include_input=False)
        for error in errors:
            error["loc"] = tuple(part for part in error["loc"] if part not in ("float", "RuleTable", "function-after[_duration(), RuleTable]"))
        lines = problem_lines(errors, section, _known_keys, typo_cost="a typo would silently switch an alert off")
        raise ConfigError("\n".join(f"{source}: {line}" for line in dict.fromkeys(lines))) from None


def _spec(name: str, key: str, rule: float | RuleTable, config: AlertsConfig, **where: str) -> RuleSpec:
    limit, own_for = (rule.limit, rule.for_seconds) if isinstance(rule, RuleTable) else (float(rule), None)
    unit = UNITS.get(key, "rate")
    return RuleSpec(name=name, key=key, limit=limit, kind="floor" if key in FLOORS else "ceiling",
                    for_seconds=config.for_seconds if own_for is None else own_for, hysteresis=config.hysteresis, unit=unit, **where)


def rule_specs(config: AlertsConfig) -> list[RuleSpec]:
    """Every configured rule, in the order of the table's keys."""
    specs = [_spec(key, key, rule, config) for key in UNITS if (rule := getattr(config, key)) is not None]
    for step, limits in config.steps.items():
        for key in ("p50_ms", "p95_ms", "p99_ms", "error_rate"):
            rule = getattr(limits, key)
            if rule is not None:
                specs.append(_spec(f"steps.{step}.{key}", key, rule, config, step=step))
    for error_type, rule in config.error_types.items():
        specs.append(_spec(f"error_types.{error_type}", "error_type_rate", rule, config, error_type=error_type))
    return specs



def measure(spec: RuleSpec, report: Report, part: ReportPart, window: float, idle_seconds: float) -> Measurement:
    """`spec`'s figure on the window's report (and its part, for weights the report rounds), or the
    reason it cannot be measured there; `idle_seconds` is the time since the last request ended
    (or since the watch started, before any)."""
    requests = f"{report.requests.count:,} requests in the last {period(window)}" + (" (estimated from a sampled log)" if report.requests.estimated else "")
    latency = report.requests.latency_ms
    if spec.key == "no_requests_minutes":
        return Measurement(value=idle_seconds / 60, scope="minutes since the last request ended")
    if spec.step is not None:
        step = next((s for s in report.steps if s.name == spec.step), None)
        if step is None:
            return Measurement(value=None, reason=f"no spans named {spec.step!r} in the window")
        return Measurement(value=getattr(step, spec.key), scope=f"{step.count:,} spans named {spec.step} in the last {period(window)}")
    if spec.key in ("p50_ms", "p95_ms", "p99_ms"):
        value = getattr(latency, spec.key[:3]) if latency else None
        return Measurement(value=value, reason=None if value is not None else "no requests in the window", scope=requests)
    if spec.key == "error_rate":
        return Measurement(value=report.errors.rate, reason=None if report.errors.rate is not None else "no spans in the window", scope=f"spans in the last {period(window)}")
    if spec.key == "error_type_rate":
        if not part.spans:
            return Measurement(value=None, reason="no spans in the window")
        share = part.error_types.get(spec.error_type or "", 0.0) / part.span_weight
        return Measurement(value=share, scope=f"spans failing with {spec.error_type} in the last {period(window)}")
    if spec.key == "retry_success_rate":
        rate = report.retries.success_rate
        return Measurement(value=rate, reason=None if rate is not None else "no retried operations in the window",
                           scope=f"{report.retries.operations:,} retried operations")
    if spec.key == "cost_per_hour_usd":
        total = report.cost.total_usd
        return Measurement(value=total * 3600 / window if total is not None else None, reason=None if total is not None else "no priced usage in the window",
                           scope=f"cost in the last {period(window)}, per hour" + (f"; a lower bound: {report.cost.unpriced_tokens:,} tokens have no price" if report.cost.unpriced_tokens else ""))
    if spec.key == "cost_per_request_usd":
        value = report.cost.per_request_usd
        return Measurement(value=value, reason=None if value is not None else "no priced usage with requests in the window", scope=requests)
    if spec.key == "tokens_per_request":
        tokens = report.tokens
        if tokens.input_per_request is None and tokens.output_per_request is None:
            return Measurement(value=None, reason="no requests with reported tokens in the window")
        return Measurement(value=(tokens.input_per_request or 0.0) + (tokens.output_per_request or 0.0), scope=requests)
    if spec.key == "failed_eval_rate":
        evaluated = report.quality.evaluated
        return Measurement(value=report.quality.failed / evaluated if evaluated else None, reason=None if evaluated else "no evals in the window",
                           scope=f"{evaluated:,} evals in the last {period(window)}")
    raise AssertionError(spec.key)

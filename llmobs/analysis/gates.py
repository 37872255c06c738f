"""Thresholds for `llmobs checklist` in CI: the `[tool.llmobs.checklist]` table and its checks.

Every key is declared here and unknown keys are errors, so a typo can never silently switch a gate
off. A gate whose metric the data cannot measure fails: it has not been shown to hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmobs.analysis.results import GateResult, MonthCost, Report
from llmobs.config import problem_lines
from llmobs.errors import ConfigError

Limit = Field(default=None, ge=0)


class StepLimits(BaseModel):
    """Ceilings for one step (`[tool.llmobs.checklist.steps.NAME]`)."""

    model_config = ConfigDict(extra="forbid")

    p50_ms: float | None = Limit
    p95_ms: float | None = Limit
    p99_ms: float | None = Limit
    error_rate: float | None = Field(default=None, ge=0, le=1)


class BaselineSettings(BaseModel):
    """How `--baseline` decides that a change is a regression (`[tool.llmobs.checklist.baseline]`)."""

    model_config = ConfigDict(extra="forbid")

    tolerance: float = Field(default=0.10, ge=0)  # relative latency change allowed
    error_rate_tolerance: float = Field(default=0.01, ge=0, le=1)  # absolute error-rate change allowed
    confidence: float = Field(default=0.99, gt=0.5, lt=1)
    resamples: int = Field(default=10_000, ge=100, le=1_000_000)
    seed: int = 0
    min_count: int = Field(default=20, ge=1)  # fewer spans than this on either side: not compared


class ChecklistConfig(BaseModel):
    """Ceilings and floors for the checklist; all optional."""

    model_config = ConfigDict(extra="forbid")

    p50_ms: float | None = Limit
    p95_ms: float | None = Limit
    p99_ms: float | None = Limit
    error_rate: float | None = Field(default=None, ge=0, le=1)
    retry_success_rate: float | None = Field(default=None, ge=0, le=1)
    tokens_per_request: float | None = Limit
    cost_per_request_usd: float | None = Limit
    failed_eval_rate: float | None = Field(default=None, ge=0, le=1)
    monthly_cost_growth: float | None = None
    # Lines not read (bad, or of a type no reader knows) as a share of all: any fails by default,
    # since a total missing what was not read can look right and be a fraction of the truth.
    unread_share: float = Field(default=0.0, ge=0, le=1)
    require_all: bool = False
    steps: dict[str, StepLimits] = {}
    baseline: BaselineSettings = BaselineSettings()


FLOORS = {"retry_success_rate"}


def _known_keys(parent: tuple[Any, ...]) -> list[str]:
    if not parent:
        return list(ChecklistConfig.model_fields)
    if parent[0] == "steps":
        return list(StepLimits.model_fields)
    if parent[0] == "baseline":
        return list(BaselineSettings.model_fields)
    return []


def parse_checklist_config(table: Mapping[str, Any], section: str, source: str) -> ChecklistConfig:
    """Validate a checklist table; each problem is one line naming the file, the section as written
    there, the key and what is wrong, with a "did you mean" for a misspelt key."""
    try:
        return ChecklistConfig.model_validate(dict(table))
    except ValidationError as exc:
        lines = problem_lines(exc.errors(include_input=False), section, _known_keys)
        raise ConfigError("\n".join(f"{source}: {line}" for line in lines)) from None


def _latest(by_month: list[MonthCost], attribute: str) -> tuple[str, float] | None:
    months = [(m.month, getattr(m, attribute)) for m in by_month if m.requests and getattr(m, attribute) is not None]
    return months[-1] if months else None


def _cost_growth(by_month: list[MonthCost]) -> float | None:
    months = [m.cost_per_request_usd for m in by_month if m.requests and m.cost_per_request_usd is not None]
    if len(months) < 2 or not months[-2]:
        return None
    return months[-1] / months[-2] - 1


UNITS = {
    "p50_ms": "ms", "p95_ms": "ms", "p99_ms": "ms", "error_rate": "rate", "retry_success_rate": "rate",
    "tokens_per_request": "tokens", "cost_per_request_usd": "usd", "failed_eval_rate": "rate", "monthly_cost_growth": "change",
    "unread_share": "rate",
}


def _unread(report: Report) -> tuple[float, str]:
    """The share of lines not read, and what they were."""
    inp = report.input
    unread = inp.bad_lines + inp.skipped_unknown
    kinds = ", ".join(f"{kind} ×{count:,}" for kind, count in sorted(inp.unknown_types.items(), key=lambda item: -item[1])[:5])
    if not unread:
        return 0.0, "every line read"
    scope = f"{unread:,} of {inp.lines:,} lines: {inp.bad_lines:,} bad, {inp.skipped_unknown:,} of unknown type" + (f" ({kinds})" if kinds else "")
    return (unread / inp.lines if inp.lines else 0.0), scope


def evaluate_gates(report: Report, config: ChecklistConfig) -> list[GateResult]:
    """Each configured threshold against the report's figures, saying what each one measured."""
    latency = report.requests.latency_ms
    evaluated = report.quality.evaluated
    latest_cost = _latest(report.cost.by_month, "cost_per_request_usd")
    latest_tokens = _latest(report.cost.by_month, "tokens_per_request")
    priced_months = [m.month for m in report.cost.by_month if m.requests and m.cost_per_request_usd is not None]
    lower_bound = f"; a lower bound: {report.cost.unpriced_tokens:,} tokens have no price" if report.cost.unpriced_tokens else ""
    requests = f"{report.requests.count:,} requests" + (" (estimated from a sampled log)" if report.requests.estimated else "")
    measures: dict[str, tuple[float | None, str, str]] = {
        "p50_ms": (latency.p50 if latency else None, "no root spans", requests),
        "p95_ms": (latency.p95 if latency else None, "no root spans", requests),
        "p99_ms": (latency.p99 if latency else None, "no root spans", requests),
        "error_rate": (report.errors.rate, "no spans", "all spans"),
        "retry_success_rate": (report.retries.success_rate, "no retried operations", f"{report.retries.operations:,} retried operations"),
        "tokens_per_request": (latest_tokens[1] if latest_tokens else None, "no usage with reported tokens in a month with requests",
                               f"latest month, {latest_tokens[0]}" if latest_tokens else ""),
        "cost_per_request_usd": (latest_cost[1] if latest_cost else None, "no priced usage in a month with requests",
                                 (f"latest month, {latest_cost[0]}" if latest_cost else "") + lower_bound),
        "failed_eval_rate": (report.quality.failed / evaluated if evaluated else None, "no eval records", f"{evaluated:,} evals"),
        "monthly_cost_growth": (_cost_growth(report.cost.by_month), "fewer than two months with a cost per request",
                                (f"$ per request, {priced_months[-2]} to {priced_months[-1]}" if len(priced_months) >= 2 else "") + lower_bound),
    }
    unread_share, unread_scope = _unread(report)
    measures["unread_share"] = (unread_share, "", unread_scope)
    results = []
    for key, (measured, why, scope) in measures.items():
        limit = getattr(config, key)
        if limit is not None:
            results.append(_check(key, limit, measured, why, floor=key in FLOORS, unit=UNITS[key], scope=scope))
    steps = {s.name: s for s in report.steps}
    for name, limits in config.steps.items():
        step = steps.get(name)
        for key in ("p50_ms", "p95_ms", "p99_ms", "error_rate"):
            limit = getattr(limits, key)
            if limit is not None:
                measured = getattr(step, key) if step is not None else None
                scope = f"{step.count:,} spans named {name}" if step is not None else ""
                results.append(_check(f"steps.{name}.{key}", limit, measured, f"no spans named {name!r}", floor=False, unit=UNITS[key], scope=scope))
    return results


def _check(name: str, limit: float, measured: float | None, why: str, *, floor: bool, unit: str, scope: str) -> GateResult:
    kind = "floor" if floor else "ceiling"
    if measured is None:
        return GateResult(name=name, limit=limit, kind=kind, measured=None, passed=False, reason=why, unit=unit, scope=scope)
    passed = measured >= limit if floor else measured <= limit
    return GateResult(name=name, limit=limit, kind=kind, measured=measured, passed=passed, unit=unit, scope=scope)

"""The seven production questions as answered / unanswered items, from a `Report`."""

from __future__ import annotations

from llmobs.analysis.results import Checklist, ChecklistItem, Comparison, GateResult, Report
from llmobs.units import ms, pct, plural, usd


def build_checklist(
    report: Report,
    gates: list[GateResult] | None = None,
    comparison: Comparison | None = None,
    require_all: bool = False,
    *,
    allow_empty: bool = False,
) -> Checklist:
    """One item per question (answered only when the data supports an answer), plus the checked
    thresholds and the baseline comparison when there are any. With no data at all (no records,
    or every request filtered out) the checklist fails unless `allow_empty`."""
    r = report
    items: list[ChecklistItem] = []

    def item(key: str, question: str, answer: str | None, reason: str | None) -> None:
        reason = r.no_data or reason
        items.append(ChecklistItem(key=key, question=question, answered=answer is not None, answer=answer, reason=None if answer else reason))

    lat = r.requests.latency_ms
    item(
        "latency",
        "p50 / p95 / p99 latency per request and per step?",
        f"p50 {ms(lat.p50)}, p95 {ms(lat.p95)}, p99 {ms(lat.p99)} over {plural(r.requests.count, 'request')}"
        + (f" (estimated from {r.requests.kept:,} kept by sampling)" if r.requests.estimated else "")
        + f"; {plural(len(r.steps), 'step')} timed"
        if lat
        else None,
        "no root spans (parent_id null): requests cannot be timed",
    )
    tok = r.tokens
    if tok.input_per_request is not None and tok.output_per_request is not None:
        dollars = f", {usd(r.cost.per_request_usd)} per request" if r.cost.per_request_usd is not None else ", $ unknown (no prices)"
        tokens_answer: str | None = f"{tok.input_per_request:,.0f} in / {tok.output_per_request:,.0f} out tokens per request{dollars}"
    else:
        tokens_answer = None
    item(
        "tokens",
        "average tokens (and $) per request?",
        tokens_answer,
        "no requests" if not r.requests.count else "no usage records with reported tokens",
    )
    item(
        "slowest_steps",
        "which steps are slowest?",
        ", ".join(f"{s.name} (p95 {ms(s.p95_ms)})" for s in r.steps[:3]) if r.steps else None,
        "no step spans (only root spans or none)",
    )
    err = r.errors
    if err.rate is not None:
        top = f"; most common: {err.top[0].type} ({err.top[0].count:,})" if err.top else "; no errors"
        error_answer: str | None = f"{pct(err.rate)} of spans failed" + (
            f", {pct(r.requests.error_rate)} of requests" if r.requests.error_rate is not None else ""
        ) + top
    else:
        error_answer = None
    item("errors", "error rate, and which error is most common?", error_answer, "no spans")
    ret = r.retries
    item(
        "retries",
        "retry success rate?",
        f"{pct(ret.success_rate)} of {plural(ret.operations, 'retried operation')} succeeded" if ret.success_rate is not None else None,
        "no retried operations (no span has attempt > 1)",
    )
    priced_months = [m for m in r.cost.by_month if m.cost_per_request_usd is not None]
    item(
        "monthly_cost",
        "cost per request, month by month?",
        ", ".join(f"{m.month} {usd(m.cost_per_request_usd)}" for m in priced_months) if priced_months else None,
        "no priced usage in a month with requests" if r.tokens.input_per_request is not None else "no usage records with tokens or cost",
    )
    q = r.quality
    item(
        "quality",
        "which queries got wrong answers?",
        f"{q.failed:,} of {plural(q.evaluated, 'evaluated answer')} failed" if q.evaluated else None,
        "no eval records",
    )
    return Checklist(items=items, gates=gates or [], comparison=comparison, require_all=require_all, no_data=None if allow_empty else r.no_data)

"""Markdown output (GitHub-flavoured), e.g. for a CI job summary or a pull-request comment."""

from __future__ import annotations

import re

from llmobs.analysis.results import Checklist, Comparison, CostBreakdown, Report, SlowestResult, TraceView
from llmobs.render.text import (
    DEFAULT_TOP,
    FAILED_QUERIES_SHOWN,
    comparison_rows_shown,
    input_line,
    ms,
    num,
    pct,
    plural,
    safe,
    settled_notes,
    sparkline,
    token_totals_line,
    usd,
)
from llmobs.units import offset, with_unit

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-!|~])")


def md(value: object) -> str:
    """Untrusted text as inert markdown: controls escaped, newlines flattened, syntax backslashed."""
    return _SPECIAL.sub(r"\\\1", safe(value).replace("\\x0a", " ").replace("\\x0d", " "))


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_report(report: Report, top: int = DEFAULT_TOP) -> str:
    r = report
    out = ["# llmobs report", ""]
    inp = r.input
    out.append(md(input_line(inp)))
    out += [f"{note}" for note in settled_notes(r)]
    out += ["", "## Requests", ""]
    req = r.requests
    if req.latency_ms is None:
        out.append(f"Unanswered: {md(r.no_data or 'no root spans, so no request can be timed')}.")
    else:
        out += _table(
            ["requests", "p50", "p95", "p99", "error rate", "incomplete traces"],
            [[f"{req.count:,}", ms(req.latency_ms.p50), ms(req.latency_ms.p95), ms(req.latency_ms.p99), pct(req.error_rate), f"{req.incomplete:,}"]],
        )
    out += ["", "## Steps (slowest p95 first)", ""]
    if not r.steps:
        out.append(f"Unanswered: {md(r.no_data or 'no step spans')}.")
    else:
        out += _table(
            ["step", "count", "p50", "p95", "p99", "total", "error rate"],
            [[md(s.name), f"{s.count:,}", ms(s.p50_ms), ms(s.p95_ms), ms(s.p99_ms), ms(s.total_ms), pct(s.error_rate)] for s in r.steps[:top]],
        )
        if len(r.steps) > top:
            out += ["", f"The first {top} of {plural(len(r.steps), 'step')}; `--top N` shows more, `--format json` all."]
    out += ["", "## Errors", ""]
    if r.errors.rate is None:
        out.append(f"Unanswered: {md(r.no_data or 'no spans')}.")
    else:
        out.append(f"{r.errors.count:,} failed spans ({pct(r.errors.rate)} of all spans).")
        if r.errors.top:
            out += ["", *_table(["error type", "count"], [[md(e.type), f"{e.count:,}"] for e in r.errors.top[:top]])]
            if len(r.errors.top) > top:
                out += ["", f"The first {top} of {plural(len(r.errors.top), 'error type')}; `--format json` has them all."]
    out += ["", "## Retries", ""]
    ret = r.retries
    out.append(
        f"{pct(ret.success_rate)} of {ret.operations:,} retried operations succeeded ({ret.succeeded:,})."
        if ret.success_rate is not None
        else f"Unanswered: {md(r.no_data or 'no retried operations')}."
    )
    out += ["", "## Tokens and cost", ""]
    tok, cost = r.tokens, r.cost
    if tok.input_per_request is None:
        out.append(f"Unanswered: {md(r.no_data or 'no usage records with reported tokens')}.")
    else:
        out.append(f"{num(tok.input_per_request)} input and {num(tok.output_per_request)} output tokens per request; {usd(cost.per_request_usd)} per request, {usd(cost.total_usd)} in all.")
        if tok.totals is not None:
            out.append(token_totals_line(tok) + ".")
    if tok.missing_usage:
        out.append(f"{tok.missing_usage:,} usage records did not report tokens.")
    if cost.unpriced_tokens:
        out.append(f"{cost.unpriced_tokens:,} tokens have no known price ({', '.join(md(m) for m in cost.unpriced_models)}): costs are lower bounds.")
    if cost.by_month:
        trend = sparkline([m.cost_per_request_usd for m in cost.by_month])
        out += ["", f"Cost per request by month: `{trend}`", ""]
        out += _table(
            ["month", "requests", "cost", "cost per request"],
            [[m.month, f"{m.requests:,}", usd(m.cost_usd), usd(m.cost_per_request_usd)] for m in cost.by_month],
        )
    out += ["", "## Quality", ""]
    q = r.quality
    if not q.evaluated:
        out.append(f"Unanswered: {md(r.no_data or 'no eval records')}.")
    else:
        out.append(f"{q.failed:,} of {q.evaluated:,} evaluated answers failed.")
        if q.failed_queries:
            shown = q.failed_queries[:FAILED_QUERIES_SHOWN]
            out += ["", *_table(["trace", "evaluator", "query"], [[f"`{safe(f.trace_id)}`", md(f.evaluator), md(f.query or "—")] for f in shown])]
            if len(q.failed_queries) > len(shown):
                out += ["", f"The newest {len(shown)} are shown; {len(q.failed_queries) - len(shown):,} more in `--format json`."]
    return "\n".join(out) + "\n"


def _slowest_steps(result: SlowestResult, steps: list) -> list[str]:
    return _table(
        [md("step" if result.group_by == "name" else result.group_by), "count", "p50", "p95", "p99", "total", "self p95", "self share", "error rate"],
        [[md(s.name), f"{s.count:,}", ms(s.p50_ms), ms(s.p95_ms), ms(s.p99_ms), ms(s.total_ms), ms(s.self_p95_ms), pct(s.self_share), pct(s.error_rate)] for s in steps],
    )


def render_slowest(result: SlowestResult) -> str:
    measure = "p95 of self time" if result.ranked_by == "self_p95_ms" else "p95"
    out = [f"## Slowest steps (by {measure}, grouped by {md(result.group_by)})", ""]
    if result.steps:
        out += _slowest_steps(result, result.steps)
    elif not result.few:
        out.append("Unanswered: no step spans.")
    if result.few:
        out += ["", f"### Too few spans to rank (fewer than {result.min_count} each)", "", *_slowest_steps(result, result.few)]
    out += ["", "## Slowest requests", ""]
    if result.requests:
        out += _table(
            ["trace", "request", "name", "start", "duration", "status"],
            [[f"`{safe(q.trace_id)}`", md(q.request_id or "—"), md(q.name), q.start, ms(q.duration_ms), q.status] for q in result.requests],
        )
    else:
        out.append("Unanswered: no root spans.")
    return "\n".join(out) + "\n"


def render_checklist(checklist: Checklist) -> str:
    verdict = "passed" if checklist.passed else "failed"
    out = [f"## llmobs checklist: {verdict}", ""]
    if checklist.no_data:
        out += [f"**No data:** {md(checklist.no_data)}; a gate must not pass on nothing (`--allow-empty` to allow it).", ""]
    for item in checklist.items:
        mark = "x" if item.answered else " "
        detail = md(item.answer) if item.answered else f"unanswered: {md(item.reason)}"
        out.append(f"- [{mark}] **{md(item.question)}** {detail}")
    if checklist.gates:
        out += ["", "### Thresholds", ""]
        for gate in checklist.gates:
            mark = "x" if gate.passed else " "
            sign = "≥" if gate.kind == "floor" else "≤"
            measured = f"cannot be measured ({md(gate.reason)})" if gate.measured is None else f"{with_unit(gate.measured, gate.unit)} ({md(gate.scope)})"
            out.append(f"- [{mark}] `{md(gate.name)}` {sign} {with_unit(gate.limit, gate.unit)}: {measured}")
    if checklist.comparison is not None:
        out += ["", "### Against the baseline", "", *render_comparison(checklist.comparison).splitlines()]
    return "\n".join(out) + "\n"


def _change(metric: str, value: float) -> str:
    return f"{value * 100:+.1f} pp" if metric == "error_rate" else f"{value * 100:+.1f}%"


def _value(metric: str, value: float) -> str:
    return pct(value) if metric == "error_rate" else ms(value)


def render_comparison(comparison: Comparison) -> str:
    level = f"{comparison.confidence:.0%}"
    out = [
        f"A regression: slower by more than {comparison.tolerance:.0%} (error rate up by more than "
        f"{comparison.error_rate_tolerance * 100:g} pp) with the {level} interval excluding no change.",
        "",
    ]
    out += _table(
        ["", "scope", "metric", "baseline", "new", "change", f"{level} interval"],
        [
            ["❌" if r.regression else "✅", md(r.name), r.metric, _value(r.metric, r.base), _value(r.metric, r.new), _change(r.metric, r.change),
             f"{_change(r.metric, r.ci_low)} … {_change(r.metric, r.ci_high)}"]
            for r in comparison_rows_shown(comparison)
        ],
    )
    hidden = len(comparison.rows) - len(comparison_rows_shown(comparison))
    if hidden:
        out += ["", f"{hidden:,} more rows without a regression: `--format json` or `csv` has them all."]
    if comparison.missing_steps:
        out += ["", "Steps in the baseline but not in the new data: " + ", ".join(md(s) for s in comparison.missing_steps)]
    if comparison.new_steps:
        out += ["", "New steps: " + ", ".join(md(s) for s in comparison.new_steps)]
    return "\n".join(out) + "\n"


def render_trace(view: TraceView) -> str:
    out = [f"## Trace `{safe(view.trace_id)}`", ""]
    out += _table(
        ["span", "offset", "duration", "status", "tokens in/out", "cost"],
        [
            [
                "&nbsp;" * (2 * s.depth) + md(s.name),
                offset(s.offset_ms),
                ms(s.duration_ms),
                md(s.status + (f" {s.error}" if s.error else "")),
                (f"{num(s.input_tokens)}/{num(s.output_tokens)}" + (" (own part of a rollup)" if s.rollup else ""))
                if s.input_tokens is not None or s.output_tokens is not None else "",
                usd(s.cost_usd) if s.cost_usd is not None else "",
            ]
            for s in view.spans
        ],
    )
    return "\n".join(out) + "\n"


def render_costs(result: CostBreakdown, top: int = DEFAULT_TOP) -> str:
    out = [f"## Cost by {md(result.by)}", ""]
    out += _table([md(result.by), "requests", "cost", "cost per request", "input tokens (incl. cache)", "output tokens", "cache hit rate"],
                  [[md(r.key), f"{r.requests:,}", usd(r.cost_usd), usd(r.cost_per_request_usd), f"{r.input_tokens:,}", f"{r.output_tokens:,}", pct(r.cache_hit_rate)]
                   for r in result.rows[:top]])
    if len(result.rows) > top:
        out += ["", f"The costliest {top:,} of {len(result.rows):,} are shown; `--format json` or `csv` has them all."]
    if result.unpriced_models:
        out += ["", f"No known price for {', '.join(md(m) for m in result.unpriced_models)}: costs are lower bounds."]
    return "\n".join(out) + "\n"

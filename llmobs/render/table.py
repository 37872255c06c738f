"""Rich tables for a terminal (colour and box lines) that degrade to plain text when piped.

Every value from a log goes through `cell()`: `safe()` escapes control characters and
`rich.text.Text` keeps `[bold]`-like names literal, since it is never parsed as markup.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from llmobs.analysis.results import Checklist, Comparison, Report, SlowestResult, StepSummary, TraceView
from llmobs.render.text import FAILED_QUERIES_SHOWN, ms, num, pct, safe, settled_notes, sparkline, token_totals_line, usd
from llmobs.units import with_unit


def cell(value: object, style: str = "") -> Text:
    return Text(safe(value), style=style)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=Text(title, style="bold"), title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, min_width=len(title) + 2)
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right", overflow="fold")
    return table


def _unanswered(what: str, why: str) -> Text:
    return Text.assemble((f"{what}: ", "bold"), ("unanswered", "yellow"), f" — {why}")


def _steps_table(title: str, steps: list[StepSummary], label: str = "step", share: bool = False) -> Table:
    columns = [label, "count", "p50", "p95", "p99", "total"] + (["share"] if share else []) + ["errors"]
    table = _table(title, *columns)
    for s in steps:
        row = [cell(s.name, "cyan"), f"{s.count:,}", ms(s.p50_ms), ms(s.p95_ms), ms(s.p99_ms), ms(s.total_ms)]
        if share:
            row.append(pct(s.share_of_request_time))
        row.append(Text(pct(s.error_rate), style="red" if s.error_rate > 0 else ""))
        table.add_row(*row)
    return table


def render_report(report: Report) -> RenderableType:
    r = report
    parts: list[RenderableType] = []
    inp = r.input
    parts.append(
        Text(
            f"Read {inp.files} file(s), {inp.lines:,} lines: {inp.records:,} records ({inp.spans:,} spans, "
            f"{inp.usage:,} usage, {inp.evals:,} evals); {inp.bad_lines:,} bad lines, {inp.skipped_unknown:,} of unknown type."
            + (f" {inp.ignored_files:,} file(s) in the directories were not logs (not .jsonl/.ndjson/.json/.log) and were skipped." if inp.ignored_files else ""),
            style="dim",
        )
    )
    for note in settled_notes(r):
        parts.append(Text(note, style="yellow"))
    req = r.requests
    if req.latency_ms is None:
        parts.append(_unanswered("Request latency", "no root spans (parent_id null), so no request can be timed"))
    else:
        table = _table("Requests", "requests", "p50", "p95", "p99", "error rate", "incomplete")
        table.add_row(f"{req.count:,}", ms(req.latency_ms.p50), ms(req.latency_ms.p95), ms(req.latency_ms.p99), pct(req.error_rate), f"{req.incomplete:,}")
        parts.append(table)
    parts.append(_steps_table("Steps, slowest p95 first", r.steps) if r.steps else _unanswered("Steps", "no step spans"))
    if r.errors.rate is None:
        parts.append(_unanswered("Errors", "no spans"))
    else:
        table = _table(f"Errors: {r.errors.count:,} failed spans, {pct(r.errors.rate)} of all", "error type", "count")
        for e in r.errors.top:
            table.add_row(cell(e.type, "red"), f"{e.count:,}")
        parts.append(table)
    ret = r.retries
    parts.append(
        Text(f"Retries: {pct(ret.success_rate)} of {ret.operations:,} retried operations succeeded ({ret.succeeded:,}).")
        if ret.success_rate is not None
        else _unanswered("Retry success rate", "no retried operations (no span has attempt > 1)")
    )
    tok, cost = r.tokens, r.cost
    if tok.input_per_request is None:
        parts.append(_unanswered("Tokens per request", "no usage records with reported tokens"))
    else:
        parts.append(
            Text(
                f"Tokens per request: {num(tok.input_per_request)} in / {num(tok.output_per_request)} out.  "
                f"Cost: {usd(cost.per_request_usd)} per request, {usd(cost.total_usd)} in all."
            )
        )
        if tok.totals is not None:
            parts.append(Text(token_totals_line(tok)))
    notes = []
    if tok.missing_usage:
        notes.append(f"{tok.missing_usage:,} usage records did not report tokens (shown as missing, not zero).")
    if cost.unpriced_tokens:
        notes.append(f"{cost.unpriced_tokens:,} tokens have no known price ({', '.join(safe(m) for m in cost.unpriced_models)}); costs are lower bounds. Set prices in [tool.llmobs.prices].")
    for note in notes:
        parts.append(Text(note, style="yellow"))
    if cost.by_month:
        per_request = [m.cost_per_request_usd for m in cost.by_month]
        table = _table(f"Cost per request by month  {sparkline(per_request)}", "month", "requests", "cost", "per request", "")
        top = max((v for v in per_request if v is not None), default=0) or 1
        for m in cost.by_month:
            bar = "█" * round((m.cost_per_request_usd or 0) / top * 20)
            table.add_row(m.month, f"{m.requests:,}", usd(m.cost_usd), usd(m.cost_per_request_usd), Text(bar, style="green"))
        parts.append(table)
    elif tok.input_per_request is None:
        parts.append(_unanswered("Cost per month", "no usage records"))
    q = r.quality
    if not q.evaluated:
        parts.append(_unanswered("Wrong answers", "no eval records"))
    else:
        table = _table(f"Wrong answers: {q.failed:,} of {q.evaluated:,} evaluated failed", "query", "evaluator", "trace")
        for f in q.failed_queries[:FAILED_QUERIES_SHOWN]:
            table.add_row(cell(f.query or "—"), cell(f.evaluator), cell(f.trace_id, "dim"))
        if q.failed > FAILED_QUERIES_SHOWN:
            table.caption = f"the newest {FAILED_QUERIES_SHOWN}; {q.failed - FAILED_QUERIES_SHOWN:,} more: use --format json for all"
        parts.append(table)
    return Group(*parts)


def render_slowest(result: SlowestResult) -> RenderableType:
    parts: list[RenderableType] = []
    label = safe(result.group_by)
    parts.append(_steps_table(f"Slowest steps by p95 (grouped by {label})", result.steps, label, share=True) if result.steps else _unanswered("Slowest steps", "no step spans"))
    if result.requests:
        table = _table("Slowest requests", "trace id", "request", "name", "start", "duration", "status")
        for q in result.requests:
            table.add_row(cell(q.trace_id), cell(q.request_id or "—"), cell(q.name, "cyan"), q.start, ms(q.duration_ms), Text(q.status, style="red" if q.status == "error" else "green"))
        parts.append(table)
    else:
        parts.append(_unanswered("Slowest requests", "no root spans"))
    return Group(*parts)


def render_checklist(checklist: Checklist) -> RenderableType:
    parts: list[RenderableType] = []
    for item in checklist.items:
        if item.answered:
            parts.append(Text.assemble(("[x] ", "green"), (item.question, "bold"), " ", safe(item.answer)))
        else:
            style = "red" if checklist.require_all else "yellow"
            parts.append(Text.assemble(("[ ] ", style), (item.question, "bold"), " ", ("unanswered: ", style), safe(item.reason)))
    if checklist.gates:
        table = _table("Thresholds", "gate", "measured", "limit", "", "measured over")
        for gate in checklist.gates:
            sign = "≥" if gate.kind == "floor" else "≤"
            measured = Text(f"cannot be measured: {safe(gate.reason)}", style="red") if gate.measured is None else Text(with_unit(gate.measured, gate.unit))
            table.add_row(cell(gate.name), measured, f"{sign} {with_unit(gate.limit, gate.unit)}", Text("ok", style="green") if gate.passed else Text("FAIL", style="bold red"),
                          cell(gate.scope, "dim"))
        parts.append(table)
    if checklist.comparison is not None:
        parts.append(render_comparison(checklist.comparison))
    if checklist.passed:
        parts.append(Text("checklist passed", style="bold green"))
    else:
        parts.append(Text(f"checklist failed: {len(checklist.failures)} problem(s)", style="bold red"))
        for failure in checklist.failures:
            parts.append(Text(f"  - {safe(failure)}", style="red"))
    return Group(*parts)


def _change(metric: str, value: float) -> str:
    return f"{value * 100:+.1f} pp" if metric == "error_rate" else f"{value * 100:+.1f}%"


def render_comparison(comparison: Comparison) -> RenderableType:
    level = f"{comparison.confidence:.0%}"
    table = _table(
        f"Against the baseline (regression: > {comparison.tolerance:.0%} slower or > {comparison.error_rate_tolerance * 100:g} pp more errors, {level} interval above zero)",
        "scope", "metric", "baseline", "new", "change", f"{level} interval", "",
    )
    for r in comparison.rows:
        fmt = pct if r.metric == "error_rate" else ms
        table.add_row(
            cell(r.name, "cyan"), r.metric, fmt(r.base), fmt(r.new), _change(r.metric, r.change),
            f"{_change(r.metric, r.ci_low)} … {_change(r.metric, r.ci_high)}",
            Text("REGRESSION", style="bold red") if r.regression else Text("ok", style="green"),
        )
    parts: list[RenderableType] = [table]
    if comparison.missing_steps:
        parts.append(Text("Steps in the baseline but not in the new data: " + ", ".join(safe(s) for s in comparison.missing_steps), style="yellow"))
    if comparison.new_steps:
        parts.append(Text("New steps: " + ", ".join(safe(s) for s in comparison.new_steps), style="dim"))
    return Group(*parts)


def render_trace(view: TraceView) -> RenderableType:
    title = Text.assemble(("trace ", "bold"), safe(view.trace_id))
    if view.request_id:
        title.append(f"  request {safe(view.request_id)}", style="dim")
    tree = Tree(title)
    stack: list[tuple[int, Tree]] = [(-1, tree)]
    for s in view.spans:
        while stack[-1][0] >= s.depth:
            stack.pop()
        label = Text.assemble(
            (safe(s.name), "cyan"),
            f"  +{ms(s.offset_ms)}  {ms(s.duration_ms)}  ",
            (s.status, "green" if s.status == "ok" else "red"),
        )
        if s.error:
            label.append(f" {safe(s.error)}", style="red")
        if s.attempt > 1:
            label.append(f"  attempt {s.attempt}", style="yellow")
        if s.input_tokens is not None or s.output_tokens is not None:
            label.append(f"  tokens {num(s.input_tokens)}/{num(s.output_tokens)}" + (" (own part of a rollup)" if s.rollup else ""), style="dim")
        if s.cost_usd is not None:
            label.append(f"  {usd(s.cost_usd)}", style="dim")
        node = stack[-1][1].add(label)
        stack.append((s.depth, node))
    footer = []
    if view.total_cost_usd is not None:
        footer.append(Text(f"total cost {usd(view.total_cost_usd)}"))
    if view.orphans:
        footer.append(Text(f"{view.orphans} span(s) whose parent is not in the data are shown at the top level", style="yellow"))
    for ev in view.evals:
        footer.append(Text(safe(ev), style="dim"))
    return Group(tree, *footer)


def make_console(file: object = None, *, width: int | None = None) -> Console:
    """A console that uses colour on a terminal and plain, wide text when piped."""
    console = Console(file=file, width=width, highlight=False, soft_wrap=False)  # type: ignore[arg-type]
    if not console.is_terminal and width is None:
        console = Console(file=file, width=160, highlight=False, no_color=True, soft_wrap=False)  # type: ignore[arg-type]
    return console

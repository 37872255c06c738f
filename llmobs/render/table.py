"""Rich tables for a terminal (colour and box lines) that degrade to plain text when piped: no box
lines, no colour, no trailing spaces, as wide as COLUMNS says (tables fit it, see `render.fit`).

Every value from a log goes through `cell()`: `safe()` escapes control characters and
`rich.text.Text` keeps `[bold]`-like names literal, since it is never parsed as markup.
"""

from __future__ import annotations

import os
from typing import TextIO

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text
from rich.tree import Tree

from llmobs.analysis.results import Checklist, Comparison, CostBreakdown, Report, SlowestResult, StepSummary, TraceView
from llmobs.render.fit import Column, FitTable
from llmobs.render.text import (
    DEFAULT_TOP,
    FAILED_QUERIES_SHOWN,
    comparison_rows_shown,
    input_line,
    latency_histogram_line,
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
from llmobs.units import count, offset, with_unit

PIPED_WIDTH = 160  # when COLUMNS does not say: wide enough that piped tables rarely leave a column out


def cell(value: object, style: str = "") -> Text:
    return Text(safe(value), style=style)


def _unanswered(what: str, why: str) -> Text:
    return Text.assemble((f"{what}: ", "bold"), ("unanswered", "yellow"), f" — {why}")


def _more(shown: int, total: int, what: str) -> str | None:
    return f"the first {shown} of {plural(total, what)}; --top N shows more, --format json all" if total > shown else None


def _steps_table(title: str, steps: list[StepSummary], label: str = "step", share: bool = False, top: int | None = None) -> FitTable:
    shown = steps if top is None else steps[:top]
    columns = [
        Column(label, justify="left", shrink=True, style="cyan"), Column("count"), Column("p50", drop=3), Column("p95"), Column("p99", drop=4),
        Column("total", drop=2), Column("self p95", drop=5), *([Column("self share", drop=1)] if share else []), Column("errors"),
    ]
    table = FitTable(title, columns, caption=_more(len(shown), len(steps), "step"))
    for s in shown:
        row: list[str | Text] = [cell(s.name), count(s.count), ms(s.p50_ms), ms(s.p95_ms), ms(s.p99_ms), ms(s.total_ms), ms(s.self_p95_ms)]
        if share:
            row.append(pct(s.self_share))
        row.append(Text(pct(s.error_rate), style="red" if s.error_rate > 0 else ""))
        table.add_row(*row)
    return table


def render_report(report: Report, top: int = DEFAULT_TOP) -> RenderableType:
    r = report
    parts: list[RenderableType] = [Text(input_line(r.input), style="dim")]
    for note in settled_notes(r):
        parts.append(Text(note, style="yellow"))
    req = r.requests
    if req.latency_ms is None:
        parts.append(_unanswered("Request latency", r.no_data or "no root spans (parent_id null), so no request can be timed"))
    else:
        table = FitTable("Requests", [Column("requests"), Column("p50"), Column("p95"), Column("p99"), Column("error rate"), Column("incomplete", drop=1)])
        table.add_row(count(req.count), ms(req.latency_ms.p50), ms(req.latency_ms.p95), ms(req.latency_ms.p99), pct(req.error_rate), count(req.incomplete))
        parts.append(table)
        if req.latency_histogram:
            parts.append(Text(latency_histogram_line(req)))
    parts.append(_steps_table("Steps, slowest p95 first", r.steps, top=top) if r.steps else _unanswered("Steps", r.no_data or "no step spans"))
    if r.errors.rate is None:
        parts.append(_unanswered("Errors", r.no_data or "no spans"))
    elif not r.errors.top:
        parts.append(Text("Errors: none (0 failed spans)."))
    else:
        table = FitTable(f"Errors: {plural(r.errors.count, 'failed span')}, {pct(r.errors.rate)} of all",
                         [Column("error type", justify="left", shrink=True, style="red"), Column("count")],
                         caption=_more(min(top, len(r.errors.top)), len(r.errors.top), "error type"))
        for e in r.errors.top[:top]:
            table.add_row(cell(e.type), count(e.count))
        parts.append(table)
    ret = r.retries
    parts.append(
        Text(f"Retries: {pct(ret.success_rate)} of {plural(ret.operations, 'retried operation')} succeeded ({ret.succeeded:,}).")
        if ret.success_rate is not None
        else _unanswered("Retry success rate", r.no_data or "no retried operations (no span has attempt > 1)")
    )
    tok, cost = r.tokens, r.cost
    if tok.input_per_request is None:
        parts.append(_unanswered("Tokens per request", r.no_data or "no usage records with reported tokens"))
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
        notes.append(f"{plural(tok.missing_usage, 'usage record')} did not report tokens (shown as missing, not zero).")
    if cost.unpriced_tokens:
        notes.append(f"{plural(cost.unpriced_tokens, 'token')} have no known price ({', '.join(safe(m) for m in cost.unpriced_models)}); costs are lower bounds. Set prices in [tool.llmobs.prices].")
    for note in notes:
        parts.append(Text(note, style="yellow"))
    if cost.by_month:
        per_request = [m.cost_per_request_usd for m in cost.by_month]
        table = FitTable(f"Cost per request by month  {sparkline(per_request)}",
                         [Column("month", justify="left"), Column("requests"), Column("cost"), Column("per request"), Column("", justify="left", drop=1)])
        highest = max((v for v in per_request if v is not None), default=0) or 1
        for m in cost.by_month:
            bar = "█" * round((m.cost_per_request_usd or 0) / highest * 20)
            table.add_row(m.month, count(m.requests), usd(m.cost_usd), usd(m.cost_per_request_usd), Text(bar, style="green"))
        parts.append(table)
    elif tok.input_per_request is None:
        parts.append(_unanswered("Cost per month", r.no_data or "no usage records"))
    q = r.quality
    if not q.evaluated:
        parts.append(_unanswered("Wrong answers", r.no_data or "no eval records"))
    else:
        shown = q.failed_queries[:FAILED_QUERIES_SHOWN]
        caption = f"the newest {len(shown)}; {q.failed - len(shown):,} more: use --format json for all" if q.failed > len(shown) else None
        table = FitTable(f"Wrong answers: {q.failed:,} of {plural(q.evaluated, 'evaluated answer')} failed",
                         [Column("query", justify="left", shrink=True), Column("evaluator", justify="left", drop=1), Column("trace", justify="left", ident=True, style="dim")],
                         caption=caption)
        for f in shown:
            table.add_row(cell(f.query or "—"), cell(f.evaluator), cell(f.trace_id))
        parts.append(table)
    return Group(*parts)


RANKINGS = {"p95_ms": "p95", "self_p95_ms": "p95 of self time (the part not spent in child spans)"}


def render_slowest(result: SlowestResult) -> RenderableType:
    parts: list[RenderableType] = []
    label = "step" if result.group_by == "name" else safe(result.group_by)
    title = f"Slowest steps by {RANKINGS[result.ranked_by]}, grouped by {safe(result.group_by)}"
    if result.steps:
        parts.append(_steps_table(title, result.steps, label, share=True))
    elif not result.few:
        parts.append(_unanswered("Slowest steps", "no step spans"))
    if result.few:
        parts.append(_steps_table(f"Too few spans to rank (fewer than {result.min_count} each), by the same measure", result.few, label, share=True))
    if result.requests:
        table = FitTable("Slowest requests", [
            Column("trace id", justify="left", ident=True), Column("request", justify="left", shrink=True, drop=2), Column("name", justify="left", shrink=True, style="cyan", drop=1),
            Column("start", justify="left", drop=3), Column("duration"), Column("status", justify="left"),
        ])
        for q in result.requests:
            table.add_row(cell(q.trace_id), cell(q.request_id or "—"), cell(q.name), q.start, ms(q.duration_ms), Text(q.status, style="red" if q.status == "error" else "green"))
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
        table = FitTable("Thresholds", [Column("gate", justify="left", shrink=True), Column("measured"), Column("limit"), Column("verdict"),
                                        Column("measured over", justify="left", shrink=True, drop=1)])
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
        parts.append(Text(f"checklist failed: {plural(len(checklist.failures), 'problem')}", style="bold red"))
        for failure in checklist.failures:
            parts.append(Text(f"  - {safe(failure)}", style="red"))
    return Group(*parts)


def _change(metric: str, value: float) -> str:
    return f"{value * 100:+.1f} pp" if metric == "error_rate" else f"{value * 100:+.1f}%"


def render_comparison(comparison: Comparison) -> RenderableType:
    level = f"{comparison.confidence:.0%}"
    rule = Text(f"Regression: > {comparison.tolerance:.0%} slower or > {comparison.error_rate_tolerance * 100:g} pp more errors, with the {level} interval above zero.", style="dim")
    table = FitTable("Against the baseline", [
        Column("scope", justify="left", shrink=True, style="cyan"), Column("metric", justify="left"), Column("baseline", drop=2), Column("new"),
        Column("change"), Column(f"{level} interval", drop=1), Column(""),
    ])
    shown = comparison_rows_shown(comparison)
    for r in shown:
        fmt = pct if r.metric == "error_rate" else ms
        table.add_row(
            cell(r.name), r.metric, fmt(r.base), fmt(r.new), _change(r.metric, r.change),
            f"{_change(r.metric, r.ci_low)} … {_change(r.metric, r.ci_high)}",
            Text("REGRESSION", style="bold red") if r.regression else Text("ok", style="green"),
        )
    if len(comparison.rows) > len(shown):
        table.caption = f"{len(comparison.rows) - len(shown):,} more rows without a regression: --format json or csv has them all"
    parts: list[RenderableType] = [rule, table]
    if comparison.missing_steps:
        parts.append(Text("Steps in the baseline but not in the new data: " + ", ".join(safe(s) for s in comparison.missing_steps), style="yellow"))
    if comparison.new_steps:
        parts.append(Text("New steps: " + ", ".join(safe(s) for s in comparison.new_steps), style="dim"))
    return Group(*parts)


class _SpanTree:
    """Spans as a tree: rich's guide lines on a terminal, plain indentation when piped."""

    def __init__(self, title: Text, rows: list[tuple[int, Text]]) -> None:
        self.title = title
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not console.is_terminal:
            yield self.title
            for depth, label in self.rows:
                yield Text("  " * (depth + 1)) + label
            return
        tree = Tree(self.title)
        stack: list[tuple[int, Tree]] = [(-1, tree)]
        for depth, label in self.rows:
            while stack[-1][0] >= depth:
                stack.pop()
            stack.append((depth, stack[-1][1].add(label)))
        yield tree


def render_trace(view: TraceView) -> RenderableType:
    title = Text.assemble(("trace ", "bold"), safe(view.trace_id))
    if view.request_id:
        title.append(f"  request {safe(view.request_id)}", style="dim")
    rows: list[tuple[int, Text]] = []
    for s in view.spans:
        label = Text.assemble(
            (safe(s.name), "cyan"),
            f"  {offset(s.offset_ms)}  {ms(s.duration_ms)}  ",
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
        rows.append((s.depth, label))
    footer = []
    if view.total_cost_usd is not None:
        footer.append(Text(f"total cost {usd(view.total_cost_usd)}"))
    if view.orphans:
        footer.append(Text(f"{plural(view.orphans, 'span')} whose parent is not in the data {'is' if view.orphans == 1 else 'are'} shown at the top level", style="yellow"))
    for ev in view.evals:
        footer.append(Text(safe(ev), style="dim"))
    return Group(_SpanTree(title, rows), *footer)


def make_console(file: object = None, *, width: int | None = None) -> Console:
    """A console that uses colour on a terminal and plain text when piped, COLUMNS wide if set."""
    console = Console(file=file, width=width, highlight=False, soft_wrap=False)  # type: ignore[arg-type]
    if not console.is_terminal and width is None:
        columns = os.environ.get("COLUMNS", "")
        piped_width = int(columns) if columns.isdigit() and int(columns) > 0 else PIPED_WIDTH
        console = Console(file=file, width=piped_width, highlight=False, no_color=True, soft_wrap=False)  # type: ignore[arg-type]
    return console


def write(renderable: RenderableType, file: TextIO) -> None:
    """Draw `renderable` on `file`: as rich draws it on a terminal, else plain with no trailing spaces."""
    console = make_console(file)
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    file.write("\n".join(line.rstrip() for line in captured.get().split("\n")))


def render_costs(result: CostBreakdown, top: int = DEFAULT_TOP) -> RenderableType:
    table = FitTable(f"Cost by {safe(result.by)}", [
        Column(safe(result.by), justify="left", shrink=True, style="cyan"), Column("requests"), Column("cost"), Column("per request"),
        Column("input tokens (incl. cache)", drop=2), Column("output tokens", drop=3), Column("cache hit rate", drop=1),
    ])
    for row in result.rows[:top]:
        table.add_row(cell(row.key), count(row.requests), usd(row.cost_usd), usd(row.cost_per_request_usd), count(row.input_tokens),
                      count(row.output_tokens), pct(row.cache_hit_rate))
    parts: list[RenderableType] = [table]
    if len(result.rows) > top:
        parts.append(Text(f"The costliest {top:,} of {len(result.rows):,} are shown (--top); --format json or csv has them all.", style="dim"))
    if result.unpriced_models:
        parts.append(Text(f"No known price for {', '.join(safe(m) for m in result.unpriced_models)}: costs are lower bounds.", style="yellow"))
    return Group(*parts)

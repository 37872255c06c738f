"""`llmobs watch` on screen: the live view (a table redrawn in place), the line it prints instead when
not on a terminal, and an alert's one line of text (what stderr, chat webhooks and the JSON's
`text` show)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from llmobs.analysis.alerts import Alert, LiveStatus, RuleStatus
from llmobs.analysis.results import Report
from llmobs.render.text import safe
from llmobs.units import MISSING, count, ms, pct, period, usd, with_unit

STATE_STYLES = {"ok": "green", "pending": "yellow", "firing": "bold red", "recovering": "yellow", "no data": "dim", "firing, no data": "bold red"}



def alert_text(alert: Alert) -> str:
    """`[FIRING] llmobs p95_ms: 7,012 ms, over its ceiling of 5,000 ms (120 requests in the last 5 min)`."""
    measured, limit = with_unit(alert.measured, alert.unit), with_unit(alert.limit, alert.unit)
    if alert.status == "firing":
        side = "under its floor" if alert.kind == "floor" else "over its ceiling"
        return f"[FIRING] llmobs {safe(alert.rule)}: {measured}, {side} of {limit} ({safe(alert.scope)})"
    return f"[RESOLVED] llmobs {safe(alert.rule)}: {measured}, back within {limit} ({safe(alert.scope)}; firing since {alert.fired_at})"


def _top_error(report: Report) -> str:
    top = report.errors.top
    return f"{safe(top[0].type)} ×{top[0].count:,}" if top else MISSING


def _tokens(report: Report) -> str:
    t = report.tokens
    if t.input_per_request is None and t.output_per_request is None:
        return MISSING
    return f"{(t.input_per_request or 0) + (t.output_per_request or 0):,.0f}"


def _rows(report: Report) -> list[tuple[str, str]]:
    latency = report.requests.latency_ms
    failed = f"{report.quality.failed:,} of {report.quality.evaluated:,}" if report.quality.evaluated else MISSING
    return [
        ("requests", count(report.requests.count) + (" (est.)" if report.requests.estimated else "")),
        ("p50 / p95 / p99", " / ".join(ms(getattr(latency, q)) for q in ("p50", "p95", "p99")) if latency else MISSING),
        ("error rate", pct(report.errors.rate)),
        ("most common error", _top_error(report)),
        ("retry success", pct(report.retries.success_rate)),
        ("tokens / request", _tokens(report)),
        ("cost / request", usd(report.cost.per_request_usd)),
        ("cost", usd(report.cost.total_usd)),
        ("failed evals", failed),
    ]


def _rule_row(rule: RuleStatus) -> tuple[Text, Text, str, str]:
    side = "≥" if rule.kind == "floor" else "≤"
    measured = with_unit(rule.measured, rule.unit) if rule.measured is not None else (rule.reason or MISSING)
    return Text(safe(rule.name)), Text(rule.state, style=STATE_STYLES.get(rule.state, "")), measured, f"{side} {with_unit(rule.limit, rule.unit)}"


def render_live(status: LiveStatus) -> RenderableType:
    """The view: the checklist over the window beside since the start, then the rules."""
    window = period(status.window_seconds)
    table = Table(title=f"llmobs watch · {status.at} · watching {status.files:,} file{'s' if status.files != 1 else ''} since {status.started_at}",
                  title_justify="left")
    table.add_column("")
    table.add_column(f"last {window}", justify="right")
    table.add_column("since start", justify="right")
    rate = MISSING if status.requests_per_minute is None else f"{status.requests_per_minute:,.1f}"
    table.add_row("requests / min", rate, "")
    for (label, now), (_, total) in zip(_rows(status.window), _rows(status.total), strict=True):
        table.add_row(label, now, total)
    parts: list[RenderableType] = [table]
    if status.rules:
        rules = Table(title="alerts", title_justify="left")
        for column in ("rule", "state", f"last {window}", "limit"):
            rules.add_column(column, justify="right" if column in (f"last {window}", "limit") else "left")
        for rule in status.rules:
            rules.add_row(*_rule_row(rule))
        parts.append(rules)
    inp = status.total.input
    unread = inp.bad_lines + inp.skipped_unknown
    footer = f"{inp.lines:,} lines read, {inp.records:,} records" + (f", {unread:,} not read (see stderr)" if unread else "")
    footer += f"; {status.waiting_traces:,} traces waiting to be whole"
    parts.append(Text(footer, style="dim"))
    parts += [Text(safe(event), style="dim") for event in status.events[-3:]]
    return Group(*parts)


def live_line(status: LiveStatus) -> str:
    """One line of the view, for a log or a pipe: the window's figures and which rules fire."""
    w = status.window
    latency = w.requests.latency_ms
    firing = [r.name for r in status.rules if r.state.startswith("firing") or r.state == "recovering"]
    rate = MISSING if status.requests_per_minute is None else f"{status.requests_per_minute:,.1f}/min"
    return (f"{status.at} last {period(status.window_seconds)}: {count(w.requests.count)} requests ({rate}), "
            f"p95 {ms(latency.p95) if latency else MISSING}, errors {pct(w.errors.rate)}, cost {usd(w.cost.total_usd)}; "
            f"since start {count(status.total.requests.count)} requests, cost {usd(status.total.cost.total_usd)}; "
            f"firing: {', '.join(safe(f) for f in firing) if firing else 'none'}")

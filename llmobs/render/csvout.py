"""CSV for spreadsheets and scripts: one table per command, numbers unformatted.

Text from logs may be written to run in a spreadsheet (`=HYPERLINK(…)`, `+cmd|' /C calc'!A0`,
`@SUM(…)`): every text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
written with a `'` before it, as OWASP's guidance on CSV injection recommends, so a spreadsheet
shows it as text. Numbers are numbers (never text) and are written as they are.
"""

from __future__ import annotations

import csv
import io

from llmobs.analysis.results import Checklist, Comparison, CostBreakdown, Report, SlowestResult, StepSummary, TraceView
from llmobs.render.text import safe

STEP_FIELDS = ["name", "count", "p50_ms", "p95_ms", "p99_ms", "total_ms", "error_rate", "share_of_request_time",
               "self_p50_ms", "self_p95_ms", "self_total_ms", "self_share"]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """Text a spreadsheet will not evaluate: a leading `'` where it would start a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _value(value: object) -> object:
    """A cell: text made safe for the terminal and the spreadsheet; a float exactly as the JSON
    writes it (the shortest text that reads back as the same number)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralised(safe(value))
    if isinstance(value, float):
        return repr(value)
    return value


def _write(rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([_value(v) for v in row])
    return buffer.getvalue()


def _steps(steps: list[StepSummary]) -> list[list[object]]:
    return [[getattr(s, f) for f in STEP_FIELDS] for s in steps]


def render_report(report: Report) -> str:
    """The report in long form: section, key, metric, value; empty value = unanswered."""
    r = report
    rows: list[list[object]] = [["section", "key", "metric", "value"]]
    for field, value in r.input.model_dump(exclude={"bad_line_samples", "unknown_types", "notes"}).items():
        rows.append(["input", "", field, value])
    rows += [["input_unknown_type", kind, "count", count] for kind, count in r.input.unknown_types.items()]
    rows += [["input_note", "", "note", note] for note in r.input.notes]
    lat = r.requests.latency_ms
    rows += [["requests", "", "count", r.requests.count], ["requests", "", "incomplete", r.requests.incomplete], ["requests", "", "error_rate", r.requests.error_rate]]
    rows += [["requests", "", f"latency_{q}_ms", getattr(lat, q) if lat else None] for q in ("p50", "p95", "p99")]
    for s in r.steps:
        rows += [["steps", s.name, f, getattr(s, f)] for f in STEP_FIELDS[1:]]
    rows += [["errors", "", "count", r.errors.count], ["errors", "", "rate", r.errors.rate]]
    rows += [["errors", e.type, "count", e.count] for e in r.errors.top]
    rows += [["retries", "", f, getattr(r.retries, f)] for f in ("operations", "succeeded", "success_rate")]
    rows += [["tokens", "", f, getattr(r.tokens, f)] for f in ("input_per_request", "output_per_request", "missing_usage")]
    rows += [["cost", "", f, getattr(r.cost, f)] for f in ("total_usd", "per_request_usd", "unpriced_tokens")]
    for m in r.cost.by_month:
        rows += [["cost_by_month", m.month, f, getattr(m, f)] for f in ("cost_usd", "requests", "cost_per_request_usd")]
    rows += [["quality", "", "evaluated", r.quality.evaluated], ["quality", "", "failed", r.quality.failed]]
    rows += [["failed_query", f.trace_id, f.evaluator, f.query] for f in r.quality.failed_queries]
    return _write(rows)


REQUEST_FIELDS = ["trace_id", "request_id", "name", "start", "duration_ms", "status"]


def render_slowest(result: SlowestResult, table: str = "steps") -> str:
    """One table per file: the steps (`table="steps"`) or the slowest requests."""
    if table == "requests":
        return _write([REQUEST_FIELDS] + [[getattr(q, f) for f in REQUEST_FIELDS] for q in result.requests])
    header = ["step" if result.group_by == "name" else result.group_by, *STEP_FIELDS[1:], "ranked"]
    return _write([header, *([*row, True] for row in _steps(result.steps)), *([*row, False] for row in _steps(result.few))])


def render_checklist(checklist: Checklist) -> str:
    """Questions and thresholds in one table: kind, key, passed, measured, limit, detail."""
    rows: list[list[object]] = [["kind", "key", "passed", "measured", "limit", "detail", "unit", "measured_over"]]
    if checklist.no_data:
        rows.append(["data", "no_data", False, None, None, checklist.no_data])
    rows += [["question", i.key, i.answered or not checklist.require_all, None, None, i.answer if i.answered else i.reason] for i in checklist.items]
    rows += [["gate", g.name, g.passed, g.measured, g.limit, g.kind if g.measured is not None else g.reason, g.unit, g.scope] for g in checklist.gates]
    if checklist.comparison is not None:
        rows += [["baseline", f"{r.name}.{r.metric}", not r.regression, r.new, r.base, f"change {r.change:+.4f} [{r.ci_low:+.4f}, {r.ci_high:+.4f}]"] for r in checklist.comparison.rows]
    return _write(rows)


def render_comparison(comparison: Comparison) -> str:
    fields = ["scope", "name", "metric", "base", "new", "change", "ci_low", "ci_high", "base_count", "new_count", "regression"]
    return _write([fields] + [[getattr(r, f) for f in fields] for r in comparison.rows])


def render_trace(view: TraceView) -> str:
    fields = ["span_id", "parent_id", "name", "depth", "offset_ms", "duration_ms", "status", "error", "attempt", "input_tokens", "output_tokens", "cost_usd", "rollup"]
    return _write([fields] + [[getattr(s, f) for f in fields] for s in view.spans])


def render_costs(result: CostBreakdown) -> str:
    fields = ["key", "requests", "cost_usd", "cost_per_request_usd", "input_tokens", "output_tokens", "cache_hit_rate"]
    return _write([[result.by, *fields[1:]]] + [[getattr(r, f) for f in fields] for r in result.rows])

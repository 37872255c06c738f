"""One self-contained HTML page per result: charts drawn here as SVG, no script or style from
anywhere else, so the file opens offline and a Content-Security-Policy forbids every request.

Why SVG drawn server-side rather than a chart library: the page stays small (tens of kB, not the
megabyte of a bundled library), works with JavaScript off and when printed, needs no package beyond
the standard library, and leaves no third-party license to carry. Values show on hover through SVG
`<title>` elements; the little script only sorts tables.

Every string from a log goes through `esc` (text and attributes) or `_json_for_script` (the data
block), so a step named `</script><script>…` or `<img onerror=…>` is shown as text, never run.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from llmobs.analysis.results import Checklist, Comparison, CostBreakdown, Report, SlowestResult, StepSummary, TraceView, Waterfall, WaterfallSpan
from llmobs.render.text import input_line, safe, settled_notes, token_totals_line
from llmobs.units import count, ms, offset, pct, usd, with_unit

STEPS_CHARTED = 20
STEP_NOTE_WIDTH = 190  # room right of the longest bar for "1,234 ms · 12.3% errors" at 11 px
WIDTH = 760  # the width charts are drawn at; they scale down with the page
PALETTE = ("var(--c1)", "var(--c2)", "var(--c3)", "var(--c4)", "var(--c5)", "var(--c6)")


def esc(value: object) -> str:
    """Untrusted text for HTML text or a quoted attribute: control characters shown escaped, then
    every character HTML treats specially replaced by its entity."""
    return html.escape(safe(value), quote=True)


def _json_for_script(data: object) -> str:
    """JSON that cannot end its `<script>` element or open a comment inside it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


STYLE = """
:root{--bg:#fff;--fg:#1d2330;--muted:#5c6475;--line:#d9dde5;--panel:#f5f7fa;--ok:#1a7f37;--bad:#c62828;--warn:#9a6700;
--c1:#3b6fd8;--c2:#e07b39;--c3:#2a9d8f;--c4:#b5179e;--c5:#8d99ae;--c6:#f2c14e;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--fg:#e6e9ef;--muted:#9aa3b5;--line:#313845;--panel:#1c2027;--ok:#4ac26b;--bad:#ff6b6b;
--warn:#e3b341;--c1:#6f9cff;--c2:#ff9d5c;--c3:#4cc9b0;--c4:#e36bd0;--c5:#aab4c8;--c6:#ffd166}}
*{box-sizing:border-box}body{margin:0 auto;max-width:980px;padding:24px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--fg)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.meta,.note{color:var(--muted)}.note.warn{color:var(--warn)}code{font:12px ui-monospace,monospace;word-break:break-all}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}.tile{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:120px}
.tile b{display:block;font-size:18px}.tile span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;margin:8px 0;font-variant-numeric:tabular-nums}th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child,td.text,th.text{text-align:left;white-space:normal;overflow-wrap:anywhere}th{cursor:pointer;user-select:none;color:var(--muted);font-weight:600}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
.ok{color:var(--ok)}.bad{color:var(--bad)}svg{max-width:100%;height:auto;display:block;margin:6px 0}svg text{fill:var(--fg);font:11px system-ui,sans-serif}
svg .axis{stroke:var(--line)}svg .mark{stroke:var(--bad);stroke-dasharray:4 3}svg .muted{fill:var(--muted)}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
@media print{body{max-width:none;padding:0}th{cursor:auto}h2{break-after:avoid}svg,table{break-inside:avoid}}
"""

SCRIPT = """
(function(){
  var body=document.body;
  window.addEventListener('error',function(){body.setAttribute('data-js-error','1');});
  function key(cell){var v=cell.getAttribute('data-sort');return v===null?cell.textContent.trim().toLowerCase():parseFloat(v);}
  document.querySelectorAll('table.sortable').forEach(function(table){
    table.querySelectorAll('th').forEach(function(th,index){
      th.addEventListener('click',function(){
        var ascending=th.getAttribute('aria-sort')!=='ascending';
        table.querySelectorAll('th').forEach(function(other){other.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',ascending?'ascending':'descending');
        var rows=Array.prototype.slice.call(table.tBodies[0].rows);
        rows.sort(function(a,b){var x=key(a.cells[index]),y=key(b.cells[index]);return (x<y?-1:x>y?1:0)*(ascending?1:-1);});
        rows.forEach(function(row){table.tBodies[0].appendChild(row);});
      });
    });
  });
  body.setAttribute('data-resources',String(performance.getEntriesByType('resource').length));
  body.setAttribute('data-ready','1');
})();
"""

# The page's one script may run, by its hash, and no other: were a value ever to slip past `esc`,
# an injected `<script>` or `onerror=` would not run. (The JSON data block is never executed.)
SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{SCRIPT_HASH}'; img-src data:"


def _page(title: str, sections: Iterable[str], data: object, invocation: str | None, generated: str | None) -> str:
    made = []
    if invocation:
        made.append(f"<code>{esc(invocation)}</code>")
    if generated:
        made.append(f"generated {esc(generated)}")
    return "".join([
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">",
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body data-ready=\"0\">",
        f"<header><h1>{esc(title)}</h1><p class=\"meta\">{' · '.join(made)}</p></header>",
        *sections,
        f"<script type=\"application/json\" id=\"llmobs-data\">{_json_for_script(data)}</script>",
        f"<script>{SCRIPT}</script></body></html>\n",
    ])


def _section(anchor: str, heading: str, *parts: str) -> str:
    return f"<section id=\"{anchor}\"><h2>{esc(heading)}</h2>{''.join(parts)}</section>"


def _unanswered(reason: str) -> str:
    return f"<p class=\"note warn\">Unanswered: {esc(reason)}.</p>"


def _tiles(items: Sequence[tuple[str, str]]) -> str:
    return "<div class=\"tiles\">" + "".join(f"<div class=\"tile\"><b>{esc(value)}</b><span>{esc(label)}</span></div>" for label, value in items) + "</div>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[tuple[str, float | None] | str]], *, table_id: str = "") -> str:
    """A sortable table; a cell is text, or (text, number) sorted by the number."""
    rows = list(rows)
    text_columns = {i for i in range(len(headers)) if i == 0 or all(isinstance(row[i], str) for row in rows)}
    text_class = ' class="text"'
    head = "".join(f"<th scope=\"col\"{text_class if i in text_columns else ''}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            text, number = (cell, None) if isinstance(cell, str) else cell
            sort = "" if number is None or not math.isfinite(number) else f" data-sort=\"{number!r}\""
            cls = " class=\"text\"" if index == 0 or number is None else ""
            cells.append(f"<td{cls}{sort}>{esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    identifier = f" id=\"{table_id}\"" if table_id else ""
    return f"<table class=\"sortable\"{identifier}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _svg(height: float, body: str, label: str) -> str:
    return f"<svg viewBox=\"0 0 {WIDTH} {height:.0f}\" role=\"img\" aria-label=\"{esc(label)}\" class=\"chart\">{body}</svg>"


def _rect(x: float, y: float, w: float, h: float, fill: str, tip: str) -> str:
    return f"<rect x=\"{x:.1f}\" y=\"{y:.1f}\" width=\"{max(w, 0):.1f}\" height=\"{max(h, 0):.1f}\" fill=\"{fill}\"><title>{esc(tip)}</title></rect>"


def _latency_histogram(report: Report) -> str:
    bins = report.requests.latency_histogram
    latency = report.requests.latency_ms
    if not bins or latency is None:
        return ""
    top = max(b.count for b in bins) or 1
    left, right, height, plot = 40, WIDTH - 10, 190, 150
    low, high = math.log10(max(bins[0].low_ms, 1e-3)), math.log10(bins[-1].high_ms)
    span = (high - low) or 1

    def x(value: float) -> float:
        return left + (math.log10(max(value, 1e-3)) - low) / span * (right - left)

    parts = [f"<line class=\"axis\" x1=\"{left}\" y1=\"{plot}\" x2=\"{right}\" y2=\"{plot}\"/>"]
    for b in bins:
        h = b.count / top * (plot - 20)
        parts.append(_rect(x(b.low_ms) + 1, plot - h, x(b.high_ms) - x(b.low_ms) - 2, h, "var(--c1)", f"{ms(b.low_ms)} – {ms(b.high_ms)}: {count(b.count)} requests"))
    marks: dict[str, list[str]] = {}  # equal percentiles share one mark and one label: "p95 = p99 120 ms"
    for label, value in (("p50", latency.p50), ("p95", latency.p95), ("p99", latency.p99)):
        marks.setdefault(ms(value), []).append(label)
    for row, (shown, labels) in enumerate(marks.items()):
        value = {"p50": latency.p50, "p95": latency.p95, "p99": latency.p99}[labels[0]]
        text = f"{' = '.join(labels)} {shown}"
        anchor = ("end", x(value) - 3) if x(value) + 3 + 6.5 * len(text) > WIDTH else ("start", x(value) + 3)
        parts.append(f"<line class=\"mark\" x1=\"{x(value):.1f}\" y1=\"14\" x2=\"{x(value):.1f}\" y2=\"{plot}\"><title>{esc(text)}</title></line>")
        parts.append(f"<text x=\"{anchor[1]:.1f}\" y=\"{12 + 11 * row}\" text-anchor=\"{anchor[0]}\">{esc(text)}</text>")
    decade = math.floor(low)
    while decade <= high:
        value = 10.0**decade
        if value >= 10**low * 0.999:
            parts.append(f"<text class=\"muted\" x=\"{x(value):.1f}\" y=\"{plot + 16}\" text-anchor=\"middle\">{esc(ms(value))}</text>")
        decade += 1
    return _svg(height, "".join(parts), "Request latency distribution, log scale")


def _steps_chart(steps: list[StepSummary]) -> str:
    shown = steps[:STEPS_CHARTED]
    if not shown:
        return ""
    top = max(max(s.p95_ms, s.p50_ms) for s in shown) or 1
    label_width, row = 220, 22
    parts = []
    for i, s in enumerate(shown):
        y = 8 + i * row
        scale = (WIDTH - label_width - STEP_NOTE_WIDTH) / top
        parts.append(f"<text x=\"{label_width - 6}\" y=\"{y + 13}\" text-anchor=\"end\">{esc(s.name[:34] + ('…' if len(s.name) > 34 else ''))}<title>{esc(s.name)}</title></text>")
        parts.append(_rect(label_width, y + 2, s.p95_ms * scale, 14, "var(--c1)", f"{s.name}: p95 {ms(s.p95_ms)}"))
        parts.append(_rect(label_width, y + 6, s.p50_ms * scale, 6, "var(--c2)", f"{s.name}: p50 {ms(s.p50_ms)}"))
        parts.append(f"<text class=\"muted\" x=\"{label_width + s.p95_ms * scale + 4:.1f}\" y=\"{y + 13}\">{esc(ms(s.p95_ms))} · {esc(pct(s.error_rate))} errors</text>")
    legend = "<p class=\"legend\"><span><i style=\"background:var(--c1)\"></i>p95</span><span><i style=\"background:var(--c2)\"></i>p50</span></p>"
    return legend + _svg(16 + len(shown) * row, "".join(parts), "Steps by p95 latency")


def _month_bars(values: Sequence[tuple[str, Sequence[tuple[str, float]]]], fmt: Any, label: str, colors: dict[str, str]) -> str:
    """Stacked columns, one per month: (month, [(series, value)])."""
    if not values:
        return ""
    top = max(sum(v for _, v in series) for _, series in values) or 1
    plot, width = 150, (WIDTH - 60) / len(values)
    parts = [f"<line class=\"axis\" x1=\"40\" y1=\"{plot}\" x2=\"{WIDTH - 10}\" y2=\"{plot}\"/>"]
    for i, (month, series) in enumerate(values):
        x, base = 44 + i * width, float(plot)
        for name, value in series:
            h = value / top * (plot - 20)
            parts.append(_rect(x, base - h, width * 0.7, h, colors.get(name, "var(--c5)"), f"{month} · {name}: {fmt(value)}"))
            base -= h
        parts.append(f"<text class=\"muted\" x=\"{x + width * 0.35:.1f}\" y=\"{plot + 14}\" text-anchor=\"middle\">{esc(month)}</text>")
        parts.append(f"<text x=\"{x + width * 0.35:.1f}\" y=\"{base - 4:.1f}\" text-anchor=\"middle\">{esc(fmt(sum(v for _, v in series)))}</text>")
    return _svg(plot + 22, "".join(parts), label)


def _legend(colors: dict[str, str]) -> str:
    return "<p class=\"legend\">" + "".join(f"<span><i style=\"background:{color}\"></i>{esc(name)}</span>" for name, color in colors.items()) + "</p>"


def _waterfall(w: Waterfall) -> str:
    label_width, row = 200, 18
    total = w.duration_ms or 1
    scale = (WIDTH - label_width - 10) / total
    parts = []
    for i, s in enumerate(w.spans):
        y = 4 + i * row
        name = "  " * s.depth + s.name
        parts.append(f"<text x=\"4\" y=\"{y + 12}\" xml:space=\"preserve\">{esc(name[:30] + ('…' if len(name) > 30 else ''))}<title>{esc(s.name)}</title></text>")
        color = "var(--bad)" if s.status == "error" else PALETTE[s.depth % len(PALETTE)]
        parts.append(_rect(label_width + s.offset_ms * scale, y + 2, max(s.duration_ms * scale, 1), 12, color,
                           f"{s.name}: {ms(s.duration_ms)} from +{ms(s.offset_ms)} ({s.status})"))
    more = f"<p class=\"note\">{w.spans_left_out:,} more spans not drawn.</p>" if w.spans_left_out else ""
    title = f"<h3>{esc(w.name)} · {esc(ms(w.duration_ms))} · <span class=\"{'bad' if w.status == 'error' else 'ok'}\">{esc(w.status)}</span></h3>"
    ident = f"<p class=\"meta\">trace <code>{esc(w.trace_id)}</code>" + (f" · request <code>{esc(w.request_id)}</code>" if w.request_id else "") + "</p>"
    return title + ident + _svg(8 + len(w.spans) * row, "".join(parts), f"Waterfall of trace {safe(w.trace_id)}") + more


def render_report(report: Report, invocation: str | None = None, generated: str | None = None) -> str:
    r = report
    sections = []
    notes = "".join(f"<p class=\"note warn\">{esc(n)}</p>" for n in settled_notes(r))
    bad = "".join(f"<li><code>{esc(sample)}</code></li>" for sample in r.input.bad_line_samples)
    sections.append(_section("input", "Input", f"<p>{esc(input_line(r.input))}</p>", notes,
                             f"<p>First bad lines:</p><ul>{bad}</ul>" if bad else ""))
    req, lat = r.requests, r.requests.latency_ms
    sections.append(_section("latency", "Request latency", _unanswered(r.no_data or "no root spans, so no request can be timed") if lat is None else
                             _tiles([("requests", count(req.count)), ("p50", ms(lat.p50)), ("p95", ms(lat.p95)), ("p99", ms(lat.p99)),
                                     ("request error rate", pct(req.error_rate))]) + _latency_histogram(r)))
    steps_table = _table(
        ["step", "count", "p50", "p95", "p99", "self p95", "share of request time", "error rate"],
        ([s.name, (count(s.count), s.count), (ms(s.p50_ms), s.p50_ms), (ms(s.p95_ms), s.p95_ms), (ms(s.p99_ms), s.p99_ms),
          (ms(s.self_p95_ms), s.self_p95_ms), (pct(s.share_of_request_time), s.share_of_request_time), (pct(s.error_rate), s.error_rate)] for s in r.steps),
        table_id="steps",
    )
    sections.append(_section("steps", "Steps, slowest p95 first", _steps_chart(r.steps) + steps_table if r.steps else _unanswered(r.no_data or "no step spans")))
    errors = r.errors
    if errors.rate is None:
        sections.append(_section("errors", "Errors", _unanswered(r.no_data or "no spans")))
    else:
        by_month = _month_bars([(m.month, [("failed requests", m.error_rate)]) for m in errors.by_month], pct, "Request error rate by month",
                               {"failed requests": "var(--bad)"})
        types = _table(["error type", "count"], ([e.type, (count(e.count), e.count)] for e in errors.top), table_id="error-types")
        sections.append(_section("errors", "Errors", _tiles([("failed spans", count(errors.count)), ("of all spans", pct(errors.rate))]),
                                 "<h3>Request error rate by month</h3>", by_month, "<h3>Error types</h3>", types if errors.top else "<p>No errors.</p>"))
    ret = r.retries
    sections.append(_section("retries", "Retries", _tiles([("retry success rate", pct(ret.success_rate)), ("retried operations", count(ret.operations)),
                                                          ("succeeded", count(ret.succeeded))]) if ret.success_rate is not None
                             else _unanswered(r.no_data or "no retried operations (no span has attempt > 1)")))
    tok, cost = r.tokens, r.cost
    if tok.input_per_request is None and not cost.by_month:
        sections.append(_section("cost", "Tokens and cost", _unanswered(r.no_data or "no usage records with reported tokens")))
    else:
        models = list(dict.fromkeys(m.model for month in cost.by_month for m in month.by_model))
        colors = {model: PALETTE[i % len(PALETTE)] for i, model in enumerate(models)}
        stacked = [(m.month, [(c.model, c.cost_usd / m.requests) for c in m.by_model]) for m in cost.by_month if m.requests]
        months = _table(["month", "requests", "cost", "cost per request", "tokens per request", "cache hit rate"],
                        ([m.month, (count(m.requests), m.requests), (usd(m.cost_usd), m.cost_usd), (usd(m.cost_per_request_usd), m.cost_per_request_usd),
                          (count(m.tokens_per_request), m.tokens_per_request), (pct(m.cache_hit_rate), m.cache_hit_rate)] for m in cost.by_month), table_id="months")
        warnings = ""
        if cost.unpriced_tokens:
            warnings += f"<p class=\"note warn\">{count(cost.unpriced_tokens)} tokens have no known price ({esc(', '.join(cost.unpriced_models))}): costs are lower bounds.</p>"
        if tok.missing_usage:
            warnings += f"<p class=\"note warn\">{count(tok.missing_usage)} usage records did not report tokens (shown as missing, not zero).</p>"
        sections.append(_section(
            "cost", "Tokens and cost",
            _tiles([("cost per request", usd(cost.per_request_usd)), ("cost in all", usd(cost.total_usd)),
                    ("input tokens per request (incl. cache)", count(tok.input_per_request)), ("output tokens per request", count(tok.output_per_request)),
                    ("cache hit rate", pct(tok.cache_hit_rate))]),
            f"<p>{esc(token_totals_line(tok))}.</p>" if tok.totals is not None else "", warnings,
            "<h3>Cost per request by month, by model</h3>", _legend(colors), _month_bars(stacked, usd, "Cost per request by month, stacked by model", colors), months,
        ))
    q = r.quality
    failed = _table(["query", "evaluator", "trace"], ([f.query or "—", f.evaluator, f.trace_id] for f in q.failed_queries), table_id="failed")
    sections.append(_section("quality", "Wrong answers", _unanswered(r.no_data or "no eval records") if not q.evaluated else
                             f"<p>{count(q.failed)} of {count(q.evaluated)} evaluated answers failed ({esc(pct(q.failed / q.evaluated))}).</p>" + failed))
    sections.append(_section("slowest", "The slowest requests", "".join(_waterfall(w) for w in r.slowest_requests) or _unanswered("no root spans")))
    return _page("llmobs report", sections, r.to_json_dict(), invocation, generated)


def render_checklist(checklist: Checklist, invocation: str | None = None, generated: str | None = None) -> str:
    verdict = "passed" if checklist.passed else "failed"
    items = "".join(
        f"<li><span class=\"{'ok' if i.answered else 'bad' if checklist.require_all else 'note warn'}\">{'✓' if i.answered else '✗'}</span> "
        f"<b>{esc(i.question)}</b> {esc(i.answer) if i.answered else 'unanswered: ' + esc(i.reason)}</li>"
        for i in checklist.items
    )
    sections = [f"<p class=\"{'ok' if checklist.passed else 'bad'}\"><b>checklist {verdict}</b></p>",
                "".join(f"<p class=\"bad\">{esc(failure)}</p>" for failure in checklist.failures),
                _section("questions", "The seven questions", f"<ul>{items}</ul>")]
    if checklist.gates:
        gates = _table(["gate", "measured", "limit", "result", "measured over"], (
            [g.name, (with_unit(g.measured, g.unit), g.measured) if g.measured is not None else f"cannot be measured: {g.reason}",
             (("≥ " if g.kind == "floor" else "≤ ") + with_unit(g.limit, g.unit), g.limit), "ok" if g.passed else "FAIL", g.scope]
            for g in checklist.gates), table_id="gates")
        sections.append(_section("gates", "Thresholds", gates))
    if checklist.comparison is not None:
        sections.append(_comparison_section(checklist.comparison))
    return _page(f"llmobs checklist: {verdict}", sections, checklist.model_dump(mode="json"), invocation, generated)


def _comparison_section(comparison: Comparison) -> str:
    latency = [r for r in comparison.rows if r.metric == "p95_ms"][:STEPS_CHARTED]
    chart = ""
    if latency:
        top = max(max(r.base, r.new) for r in latency) or 1
        label_width, row = 220, 26
        scale = (WIDTH - label_width - 110) / top
        parts = []
        for i, r in enumerate(latency):
            y = 6 + i * row
            parts.append(f"<text x=\"{label_width - 6}\" y=\"{y + 15}\" text-anchor=\"end\">{esc(r.name[:34])}<title>{esc(r.name)}</title></text>")
            parts.append(_rect(label_width, y + 2, r.base * scale, 18, "var(--c5)", f"{r.name}: baseline p95 {ms(r.base)}"))
            parts.append(_rect(label_width, y + 7, r.new * scale, 8, "var(--bad)" if r.regression else "var(--c1)", f"{r.name}: new p95 {ms(r.new)}"))
            parts.append(f"<text class=\"muted\" x=\"{label_width + max(r.base, r.new) * scale + 4:.1f}\" y=\"{y + 15}\">{r.change * 100:+.1f}%</text>")
        chart = ("<p class=\"legend\"><span><i style=\"background:var(--c5)\"></i>baseline p95</span><span><i style=\"background:var(--c1)\"></i>new p95</span>"
                 "<span><i style=\"background:var(--bad)\"></i>regression</span></p>" + _svg(12 + len(latency) * row, "".join(parts), "p95 baseline against new"))
    rows = _table(["scope", "metric", "baseline", "new", "change", "interval", "verdict"], (
        [r.name, r.metric, ((pct if r.metric == "error_rate" else ms)(r.base), r.base), ((pct if r.metric == "error_rate" else ms)(r.new), r.new),
         (f"{r.change * 100:+.1f}{' pp' if r.metric == 'error_rate' else '%'}", r.change), f"{r.ci_low * 100:+.1f} … {r.ci_high * 100:+.1f}",
         "REGRESSION" if r.regression else "ok"] for r in comparison.rows), table_id="comparison")
    rule = (f"<p class=\"note\">A regression: slower by more than {comparison.tolerance:.0%} (error rate up by more than "
            f"{comparison.error_rate_tolerance * 100:g} pp) with the {comparison.confidence:.0%} interval excluding no change.</p>")
    return _section("baseline", "Against the baseline", rule, chart, rows)


def render_comparison(comparison: Comparison, invocation: str | None = None, generated: str | None = None) -> str:
    return _page("llmobs diff", [_comparison_section(comparison)], comparison.model_dump(mode="json"), invocation, generated)


def render_slowest(result: SlowestResult, invocation: str | None = None, generated: str | None = None) -> str:
    measure = "p95 of self time" if result.ranked_by == "self_p95_ms" else "p95"

    def steps(rows: list[StepSummary], table_id: str) -> str:
        return _table(["step", "count", "p50", "p95", "self p95", "self share", "error rate"], (
            [s.name, (count(s.count), s.count), (ms(s.p50_ms), s.p50_ms), (ms(s.p95_ms), s.p95_ms), (ms(s.self_p95_ms), s.self_p95_ms),
             (pct(s.self_share), s.self_share), (pct(s.error_rate), s.error_rate)] for s in rows), table_id=table_id)

    sections = [_section("steps", f"Slowest steps by {measure}", _steps_chart(result.steps) + steps(result.steps, "steps") if result.steps else _unanswered("no step spans"))]
    if result.few:
        sections.append(_section("few", f"Too few spans to rank (fewer than {result.min_count} each)", steps(result.few, "few")))
    requests = _table(["trace id", "request", "name", "start", "duration", "status"], (
        [q.trace_id, q.request_id or "—", q.name, q.start, (ms(q.duration_ms), q.duration_ms), q.status] for q in result.requests), table_id="requests")
    sections.append(_section("requests", "Slowest requests", requests if result.requests else _unanswered("no root spans")))
    return _page("llmobs slowest", sections, result.model_dump(mode="json"), invocation, generated)


def render_trace(view: TraceView, invocation: str | None = None, generated: str | None = None) -> str:
    spans = [WaterfallSpan(name=s.name, offset_ms=s.offset_ms, duration_ms=s.duration_ms, depth=s.depth, status=s.status) for s in view.spans]
    root = view.spans[0] if view.spans else None
    waterfall = Waterfall(trace_id=view.trace_id, request_id=view.request_id, name=root.name if root else "trace",
                          duration_ms=max((s.offset_ms + s.duration_ms for s in view.spans), default=0.0), status=root.status if root else "ok", spans=spans)
    details = _table(["span", "start", "duration", "status", "tokens in", "tokens out", "cost"], (
        ["  " * s.depth + s.name, (offset(s.offset_ms), s.offset_ms), (ms(s.duration_ms), s.duration_ms), s.status + (f" {s.error}" if s.error else ""),
         (count(s.input_tokens), s.input_tokens), (count(s.output_tokens), s.output_tokens), (usd(s.cost_usd), s.cost_usd)] for s in view.spans), table_id="spans")
    return _page(f"llmobs trace {safe(view.trace_id)}", [_section("trace", "Waterfall", _waterfall(waterfall)), _section("spans", "Spans", details)],
                 view.model_dump(mode="json"), invocation, generated)


def render_costs(result: CostBreakdown, invocation: str | None = None, generated: str | None = None) -> str:
    rows = _table([result.by, "requests", "cost", "cost per request", "input tokens (incl. cache)", "output tokens", "cache hit rate"], (
        [r.key, (count(r.requests), r.requests), (usd(r.cost_usd), r.cost_usd), (usd(r.cost_per_request_usd), r.cost_per_request_usd),
         (count(r.input_tokens), r.input_tokens), (count(r.output_tokens), r.output_tokens), (pct(r.cache_hit_rate), r.cache_hit_rate)] for r in result.rows),
        table_id="costs")
    chart = _month_bars([(r.key, [("cost", r.cost_usd or 0.0)]) for r in result.rows[:40]], usd, f"Cost by {safe(result.by)}", {"cost": "var(--c1)"})
    note = f"<p class=\"note warn\">No known price for {esc(', '.join(result.unpriced_models))}: costs are lower bounds.</p>" if result.unpriced_models else ""
    return _page(f"llmobs cost by {safe(result.by)}", [_section("costs", f"Cost by {safe(result.by)}", chart, rows, note)],
                 result.model_dump(mode="json"), invocation, generated)

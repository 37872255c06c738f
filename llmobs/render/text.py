"""Untrusted text from logs made safe for a terminal, and small number formats shared by renderers."""

from __future__ import annotations

import math
import unicodedata

from llmobs.analysis.results import Comparison, ComparisonRow, InputSummary, Report, RequestsSummary, TokensSummary
from llmobs.units import ms, pct, plural, usd

__all__ = ["DEFAULT_TOP", "FAILED_QUERIES_SHOWN", "comparison_rows_shown", "input_line", "latency_histogram_line", "ms", "num", "pct", "plural", "safe", "settled_notes", "sparkline", "token_totals_line", "usd"]

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_TABLE = {
    **{c: f"\\x{c:02x}" for c in range(0x20)},
    0x7F: "\\x7f",
    **{c: f"\\x{c:02x}" for c in range(0x80, 0xA0)},
    **{ord(c): f"\\u{ord(c):04x}" for c in _BIDI_CONTROLS},
}
BARS = "▁▂▃▄▅▆▇█"


def safe(value: object) -> str:
    """`value` as text with every control character (C0, DEL, C1, bidi overrides) shown escaped,
    so no escape sequence from a log reaches the terminal; rich markup is handled by the caller
    always wrapping this in `rich.text.Text`, never parsing it."""
    text = "" if value is None else str(value)
    if text.isprintable() and not any(c in _BIDI_CONTROLS for c in text):
        return text
    return "".join(_TABLE.get(ord(c), c if unicodedata.category(c) != "Cc" else f"\\x{ord(c):02x}") for c in text)


def num(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def sparkline(values: list[float | None]) -> str:
    """One block character per value, scaled to the largest; a gap where the value is unknown."""
    known = [v for v in values if v is not None]
    top = max(known) if known else 0
    if top <= 0:
        return "".join(" " if v is None else BARS[0] for v in values)
    return "".join(" " if v is None else BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1) + 0.5))] for v in values)


FAILED_QUERIES_SHOWN = 20  # on a terminal and in markdown; JSON and CSV list every failed query
DEFAULT_TOP = 20  # rows of a steps table on a terminal and in markdown; JSON and CSV keep every row


def settled_notes(report: Report) -> list[str]:
    """What reading settled before the figures: sampling estimates, records read twice, rollups, and
    percentiles estimated by a sketch."""
    notes = []
    req, inp = report.requests, report.input
    if req.estimated:
        notes.append(
            f"Sampled log: figures are estimates for about {req.count:,} requests from the {req.kept:,} kept, each weighted by "
            "1 / the probability it was kept with (traces with an error are always kept)."
        )
    if inp.duplicates:
        notes.append(f"{inp.duplicates:,} records were read more than once (the same span, or an identical usage or eval record) and counted once.")
    if inp.rollups:
        notes.append(f"{inp.rollups:,} spans reported usage that included their descendants'; only their own part is counted.")
    notes += [safe(note) for note in inp.notes]
    if inp.note_count > len(inp.notes):
        notes.append(f"… and {inp.note_count - len(inp.notes):,} more such notes.")
    if report.percentiles != "exact":
        notes.append(f"Percentiles estimated (more values than are kept exactly): {report.percentiles}.")
    return notes


def token_totals_line(tokens: TokensSummary) -> str:
    totals = tokens.totals
    assert totals is not None
    hit = f", cache hit rate {pct(tokens.cache_hit_rate)}" if tokens.cache_hit_rate is not None else ""
    return (
        f"Tokens in all: {totals.input:,} input (cache reads {totals.cache_read:,}, cache writes {totals.cache_write:,}{hit}), "
        f"{totals.output:,} output (reasoning {totals.reasoning:,})"
    )


def input_line(inp: InputSummary) -> str:
    ignored = (f" {plural(inp.ignored_files, 'file')} in the directories {'was not a log' if inp.ignored_files == 1 else 'were not logs'}"
               " (not .jsonl/.ndjson/.json/.log) and skipped." if inp.ignored_files else "")
    kinds = sorted(inp.unknown_types.items(), key=lambda item: (-item[1], item[0]))
    unknown = "" if not kinds else " (" + ", ".join(f"{safe(kind)} ×{count:,}" for kind, count in kinds[:8]) + (", …" if len(kinds) > 8 else "") + "; not read)"
    return (
        f"Read {plural(inp.files, 'file')}, {plural(inp.lines, 'line')}: {plural(inp.records, 'record')} ({plural(inp.spans, 'span')}, "
        f"{inp.usage:,} usage, {plural(inp.evals, 'eval')}); {plural(inp.bad_lines, 'bad line')}, {inp.skipped_unknown:,} of unknown type{unknown}.{ignored}"
    )


def comparison_rows_shown(comparison: Comparison, top: int = DEFAULT_TOP) -> list[ComparisonRow]:
    """The rows a terminal or markdown comparison shows: every regression, then the first others up to `top`."""
    regressions = [r for r in comparison.rows if r.regression]
    others = [r for r in comparison.rows if not r.regression]
    return regressions + others[: max(0, top - len(regressions))]


def latency_histogram_line(requests: RequestsSummary) -> str:
    """The request latency distribution in one line: a bar per log-scale bin, from its first edge to its last."""
    bins = requests.latency_histogram
    per_decade = round(1 / math.log10(bins[0].high_ms / bins[0].low_ms))
    width = {4: "a quarter", 8: "an eighth", 16: "a sixteenth"}.get(per_decade, f"1/{per_decade}")
    return f"latency  {ms(bins[0].low_ms)} {sparkline([b.count for b in bins])} {ms(bins[-1].high_ms)}  (log scale, {plural(len(bins), 'bin')} of {width} decade)"

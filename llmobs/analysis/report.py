"""The whole checklist for one data set, as one `Report`."""

from __future__ import annotations

from llmobs.analysis.errors import analyze_errors, analyze_retries
from llmobs.analysis.filters import Filters
from llmobs.analysis.quality import analyze_quality
from llmobs.analysis.requests import analyze_requests
from llmobs.analysis.results import InputSummary, Report
from llmobs.analysis.steps import analyze_steps
from llmobs.analysis.usage import analyze_cost, analyze_tokens
from llmobs.analysis.waterfall import waterfalls
from llmobs.pricing import Pricer
from llmobs.read import InputStats
from llmobs.read.columns import Columns
from llmobs.units import plural


def input_summary(stats: InputStats) -> InputSummary:
    return InputSummary(
        files=stats.files,
        lines=stats.lines,
        records=stats.records,
        bad_lines=stats.bad_lines,
        skipped_unknown=stats.skipped_unknown,
        spans=stats.spans,
        usage=stats.usage,
        evals=stats.evals,
        bad_line_samples=stats.bad_line_samples,
        ignored_files=len(stats.ignored_files),
        duplicates=stats.duplicates,
        rollups=stats.rollups,
        unknown_types=dict(sorted(stats.unknown_types.items())),
        notes=stats.notes,
        note_count=stats.note_count,
    )


def no_data_reason(columns: Columns, stats: InputStats, filters: Filters | None) -> str | None:
    """Why nothing at all can be answered, naming the cause: an input without records, or filters
    that left no request; None when there is data."""
    if not stats.records:
        return f"the input holds no records ({plural(stats.files, 'file')}, {plural(stats.lines, 'line')})"
    if filters is not None and filters.active and not (len(columns.spans.trace) or len(columns.usage.trace) or len(columns.evals.trace)):
        return f"no request matches the filters ({filters.describe()})"
    return None


def build_report(columns: Columns, stats: InputStats, pricer: Pricer, by: str = "name", filters: Filters | None = None) -> Report:
    """Answer every checklist question the data can answer; the rest are None."""
    requests = analyze_requests(columns)
    return Report(
        no_data=no_data_reason(columns, stats, filters),
        input=input_summary(stats),
        requests=requests,
        steps=analyze_steps(columns, by),
        errors=analyze_errors(columns),
        retries=analyze_retries(columns),
        tokens=analyze_tokens(columns),
        cost=analyze_cost(columns, pricer.price(columns)),
        quality=analyze_quality(columns),
        slowest_requests=waterfalls(columns),
    )

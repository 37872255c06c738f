"""The whole checklist for one data set, as one `Report`."""

from __future__ import annotations

from llmobs.analysis.errors import analyze_errors, analyze_retries
from llmobs.analysis.quality import analyze_quality
from llmobs.analysis.requests import analyze_requests
from llmobs.analysis.results import InputSummary, Report
from llmobs.analysis.steps import analyze_steps
from llmobs.analysis.usage import analyze_cost, analyze_tokens
from llmobs.pricing import Pricer
from llmobs.read import InputStats
from llmobs.read.columns import Columns


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
    )


def build_report(columns: Columns, stats: InputStats, pricer: Pricer, by: str = "name") -> Report:
    """Answer every checklist question the data can answer; the rest are None."""
    requests = analyze_requests(columns)
    return Report(
        input=input_summary(stats),
        requests=requests,
        steps=analyze_steps(columns, by),
        errors=analyze_errors(columns),
        retries=analyze_retries(columns),
        tokens=analyze_tokens(columns),
        cost=analyze_cost(columns, pricer.price(columns)),
        quality=analyze_quality(columns),
    )

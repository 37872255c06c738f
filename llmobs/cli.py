"""The `llmobs` command line: parse options, call the reader and analyses, render, set the exit code.

Exit codes: 0 success (for `checklist`: every question answered), 1 `checklist` found a question
the data cannot answer, 2 unusable input, configuration or arguments.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Callable, Iterator, Optional

import typer

from llmobs.errors import LlmobsError

app = typer.Typer(
    name="llmobs",
    help="Answer 'what are my LLM agents actually doing?' from JSONL trace logs.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_UNANSWERED, EXIT_UNUSABLE = 0, 1, 2
PROGRESS_MIN_BYTES = 32 << 20
BAD_LINES_SHOWN = 5


class OutputFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"
    csv = "csv"


Paths = Annotated[list[str], typer.Argument(help="JSONL files (.gz too), directories, globs, or - for stdin.", show_default=False)]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output form.")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail (exit 2) on the first bad line instead of skipping it.")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="Only requests starting at or after this date (YYYY-MM[-DD] or RFC 3339, UTC).")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Only requests starting before the end of this date (YYYY-MM[-DD]) or before this time.")]
NameOpt = Annotated[Optional[list[str]], typer.Option("--name", help="Only requests with a span of this name (glob; repeatable).")]
ModelOpt = Annotated[Optional[list[str]], typer.Option("--model", help="Only requests that used this model (glob; repeatable).")]
ByOpt = Annotated[str, typer.Option("--by", help="Group steps by name, model, kind, or any span attribute.")]
ConfigOpt = Annotated[Optional[str], typer.Option("--config", help="Config file (pyproject.toml or llmobs.toml); default: nearest one upward.")]


def _stderr(message: str) -> None:
    from llmobs.render.text import safe

    sys.stderr.write(safe(message).replace("\\x0a", "\n") + "\n")


@contextmanager
def _user_errors() -> Iterator[None]:
    """The one error boundary: llmobs errors become one stderr line and exit 2, never a traceback."""
    try:
        yield
    except LlmobsError as exc:
        _stderr(f"llmobs: error: {exc}")
        raise typer.Exit(EXIT_UNUSABLE) from None
    except BrokenPipeError:
        sys.stderr.close()
        raise typer.Exit(EXIT_OK) from None


def _progress_callback(paths: list[str]) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """A progress bar on stderr for large inputs, only when stderr is a terminal."""
    if not sys.stderr.isatty() or "-" in paths:
        return None, lambda: None
    from llmobs.read.sources import expand

    try:
        sources, _ = expand(paths)
        total = sum(s.size() or 0 for s in sources)
    except (LlmobsError, OSError):
        return None, lambda: None
    if total < PROGRESS_MIN_BYTES:
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    # Refreshed from the callback, not by rich's timer thread: the reader forks workers only from a
    # single-threaded process.
    progress = Progress("reading", BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True, auto_refresh=False)
    task = progress.add_task("read", total=total)
    progress.start()

    def advance(n: int) -> None:
        progress.advance(task, n)
        progress.refresh()

    return advance, progress.stop


def _load(
    paths: list[str],
    *,
    strict: bool,
    since: str | None,
    until: str | None,
    names: list[str] | None,
    models: list[str] | None,
    by: str,
    config: str | None,
):
    """Read, filter and price-configure: what every analysis command starts from."""
    from llmobs.analysis.filters import Filters, parse_moment, select
    from llmobs.analysis.steps import BUILTIN_GROUPS
    from llmobs.config import load_tool_config
    from llmobs.pricing import Pricer, parse_overrides
    from llmobs.read import load

    tool = load_tool_config(config)
    prices = tool.table.get("prices", {})
    pricer = Pricer(parse_overrides(prices, str(tool.path)) if prices else None)
    filters = Filters(
        since=parse_moment(since) if since else None,
        until=parse_moment(until, end=True) if until else None,
        names=tuple(names or ()),
        models=tuple(models or ()),
    )
    group_attrs = () if by in BUILTIN_GROUPS else (by,)
    on_progress, stop = _progress_callback(paths)
    try:
        data = load(paths, strict=strict, group_attrs=group_attrs, on_progress=on_progress)
    finally:
        stop()
    stats = data.stats
    if stats.bad_lines:
        _stderr(f"llmobs: skipped {stats.bad_lines:,} bad line(s); use --strict to make them fatal:")
        for sample in stats.bad_line_samples[:BAD_LINES_SHOWN]:
            _stderr(f"  {sample}")
    if stats.skipped_unknown:
        kinds = ", ".join(f"{k!r} ×{n}" for k, n in sorted(stats.unknown_types.items()))
        _stderr(f"llmobs: skipped {stats.skipped_unknown:,} record(s) of unknown type: {kinds}")
    if stats.newer_versions:
        _stderr(f"llmobs: warning: records of format version {sorted(stats.newer_versions)} read as version 1; upgrade llmobs")
    return select(data.columns, filters), stats, pricer


def _print(fmt: OutputFormat, result, renderers: dict[OutputFormat, Callable]) -> None:  # type: ignore[type-arg]
    if fmt is OutputFormat.table:
        from llmobs.render.table import make_console

        make_console().print(renderers[fmt](result))
    else:
        text = renderers[fmt](result)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def report(
    paths: Paths,
    format: FormatOpt = OutputFormat.table,
    strict: StrictOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    name: NameOpt = None,
    model: ModelOpt = None,
    by: ByOpt = "name",
    config: ConfigOpt = None,
) -> None:
    """One screen answering the production checklist: latency, errors, retries, tokens, cost, quality."""
    with _user_errors():
        from llmobs.analysis.report import build_report
        from llmobs.render import csvout, jsonout, markdown, table

        columns, stats, pricer = _load(paths, strict=strict, since=since, until=until, names=name, models=model, by=by, config=config)
        result = build_report(columns, stats, pricer, by)
        _print(format, result, {
            OutputFormat.table: table.report_renderable,
            OutputFormat.markdown: markdown.render_report,
            OutputFormat.json: jsonout.render_json,
            OutputFormat.csv: csvout.render_report,
        })


@app.command()
def slowest(
    paths: Paths,
    top: Annotated[int, typer.Option("--top", "-n", min=1, help="How many steps and requests to list.")] = 5,
    format: FormatOpt = OutputFormat.table,
    strict: StrictOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    name: NameOpt = None,
    model: ModelOpt = None,
    by: ByOpt = "name",
    config: ConfigOpt = None,
) -> None:
    """Steps ranked by p95 (count, percentiles, total, share of request time, errors), then the slowest requests."""
    with _user_errors():
        from llmobs.analysis.slowest import slowest as find_slowest
        from llmobs.render import csvout, jsonout, markdown, table

        columns, _, _ = _load(paths, strict=strict, since=since, until=until, names=name, models=model, by=by, config=config)
        result = find_slowest(columns, top, by)
        _print(format, result, {
            OutputFormat.table: table.slowest_renderable,
            OutputFormat.markdown: markdown.render_slowest,
            OutputFormat.json: jsonout.render_json,
            OutputFormat.csv: csvout.render_slowest,
        })


@app.command()
def checklist(
    paths: Paths,
    format: FormatOpt = OutputFormat.table,
    strict: StrictOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    name: NameOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The seven questions as [x]/[ ] items. Exit 0 when all are answerable, 1 when one is not, 2 on unusable input."""
    with _user_errors():
        from llmobs.analysis.checklist import build_checklist
        from llmobs.analysis.report import build_report
        from llmobs.render import csvout, jsonout, markdown, table

        columns, stats, pricer = _load(paths, strict=strict, since=since, until=until, names=name, models=model, by="name", config=config)
        result = build_checklist(build_report(columns, stats, pricer))
        _print(format, result, {
            OutputFormat.table: table.checklist_renderable,
            OutputFormat.markdown: markdown.render_checklist,
            OutputFormat.json: jsonout.render_json,
            OutputFormat.csv: csvout.render_checklist,
        })
    raise typer.Exit(EXIT_OK if result.all_answered else EXIT_UNANSWERED)


@app.command()
def trace(
    paths: Paths,
    trace_id: Annotated[str, typer.Argument(help="The trace id, or the request id given to TraceContext.")],
    format: FormatOpt = OutputFormat.table,
    config: ConfigOpt = None,
) -> None:
    """One request as an indented tree with durations, status, tokens and cost per span."""
    with _user_errors():
        from llmobs.analysis.trace import build_trace_view
        from llmobs.config import load_tool_config
        from llmobs.pricing import Pricer, parse_overrides
        from llmobs.render import csvout, jsonout, markdown, table

        tool = load_tool_config(config)
        prices = tool.table.get("prices", {})
        view = build_trace_view(paths, trace_id, Pricer(parse_overrides(prices, str(tool.path)) if prices else None))
        _print(format, view, {
            OutputFormat.table: table.trace_renderable,
            OutputFormat.markdown: markdown.render_trace,
            OutputFormat.json: jsonout.render_json,
            OutputFormat.csv: csvout.render_trace,
        })


@app.command()
def schema() -> None:
    """Print the JSON Schema of one record line (FORMAT.md v1), generated from the pydantic models."""
    from llmobs.records import record_json_schema

    sys.stdout.write(json.dumps(record_json_schema(), indent=2) + "\n")


def main() -> None:
    """Console-script entry point."""
    app()

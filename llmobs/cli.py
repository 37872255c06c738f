"""The `llmobs` command line: parse options, call the reader and analyses, render, set the exit code.

Exit codes: 0 success (for `checklist`: every gate holds), 1 a `checklist` gate failed (or, with
`--require-all`, a question cannot be answered), 2 unusable input, configuration or arguments.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, BinaryIO

# numpy's BLAS would start a thread per CPU that spins between calls, taking CPU from the reader's
# threads; no analysis here multiplies matrices large enough to gain from them.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import typer
import typer.core

from llmobs.errors import LlmobsError

app = typer.Typer(
    name="llmobs",
    help="Answer 'what are my LLM agents actually doing?' from JSONL trace logs.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from llmobs import __version__

        sys.stdout.write(f"llmobs {__version__}\n")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Answer 'what are my LLM agents actually doing?' from JSONL trace logs."""


def _number(minimum: float | None = None, maximum: float | None = None, *, whole: bool = False, fraction: bool = False) -> Callable[[object], float | int]:
    """A parser for a number option whose complaints are in plain words, not the parser's."""

    def parse(text: object) -> float | int:
        if isinstance(text, (int, float)):  # a default
            return text
        try:
            value: float | int = int(str(text)) if whole else float(str(text))
        except ValueError:
            raise typer.BadParameter(f"{text!r} is not {'a whole number' if whole else 'a number'}") from None
        if value != value or value in (float("inf"), float("-inf")):
            raise typer.BadParameter(f"{text!r} is not a finite number")
        if fraction and not 0 <= value <= 1:
            raise typer.BadParameter(f"must be a fraction from 0 to 1 (0.05 = 5 %), got {text}")
        if minimum is not None and value < minimum:
            raise typer.BadParameter(f"must be {minimum:g} or more, got {text}")
        if maximum is not None and value > maximum:
            raise typer.BadParameter(f"must be {maximum:g} or less, got {text}")
        return value

    return parse


class _Command(typer.core.TyperCommand):
    """Help that names arguments by their metavar alone (`PATH...`), without a Python type beside it."""

    def get_params(self, ctx: typer.Context) -> list:  # type: ignore[type-arg]
        params = super().get_params(ctx)
        for param in params:
            if isinstance(param, typer.core.TyperArgument):
                param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        return params


EXIT_OK, EXIT_GATE_FAILED, EXIT_UNUSABLE = 0, 1, 2
PROGRESS_MIN_BYTES = 32 << 20
PROGRESS_REFRESH_SECONDS = 0.1  # the reader reports every block (~256 KiB); drawing that often would cost
BAD_LINES_SHOWN = 5


class OutputFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"
    csv = "csv"
    html = "html"


class ChecklistFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"
    csv = "csv"
    html = "html"
    junit = "junit"


Paths = Annotated[list[str], typer.Argument(metavar="PATH", help="Log files (.gz too), directories, globs, or - for stdin.", show_default=False)]
OptionalPaths = Annotated[list[str] | None, typer.Argument(metavar="PATH", help="Log files (.gz too), directories, globs, or - for stdin; none with --source.",
                                                           show_default=False)]


class AgentSource(str, Enum):
    claude_code = "claude-code"
    codex = "codex"


SourceOpt = Annotated[AgentSource | None, typer.Option("--source", metavar="AGENT",
                                                     help="Also read a coding agent's own session logs where it keeps them: claude-code or codex.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", metavar="FORM", help="Output form: table, markdown, json, csv or html (one self-contained page).")]
StrictOpt = Annotated[bool, typer.Option("--strict", help="Fail (exit 2) on the first bad line instead of skipping it.")]


class Engine(str, Enum):
    local = "local"
    dask = "dask"


EngineOpt = Annotated[Engine, typer.Option("--engine", metavar="ENGINE", help="local, or dask: read on the Dask cluster at --scheduler (needs llmobs[dask]).")]
SchedulerOpt = Annotated[str | None, typer.Option("--scheduler", metavar="ADDRESS", envvar="LLMOBS_DASK_SCHEDULER",
                                                  help="The Dask scheduler for --engine dask, e.g. tcp://10.0.0.5:8786.")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", envvar="LLMOBS_NO_CACHE",
                                          help="Read every file whole, neither using nor filling the cache of what earlier runs read.")]
SinceOpt = Annotated[str | None, typer.Option("--since", metavar="DATE", help="Only requests starting at or after DATE (YYYY-MM, YYYY-MM-DD or RFC 3339; UTC).")]
UntilOpt = Annotated[str | None, typer.Option("--until", metavar="DATE", help="Only requests starting before the end of DATE (a month or a day counts whole).")]
NameOpt = Annotated[list[str] | None, typer.Option("--name", metavar="GLOB", help="Only requests with a span whose name matches GLOB (repeatable).")]
ModelOpt = Annotated[list[str] | None, typer.Option("--model", metavar="GLOB", help="Only requests that used a model matching GLOB (repeatable).")]
ByOpt = Annotated[str, typer.Option("--by", metavar="KEY", help="Group steps by name, model, kind, or any span attribute.")]
ConfigOpt = Annotated[str | None, typer.Option("--config", metavar="FILE", help="Settings file (pyproject.toml or llmobs.toml); default: the nearest one upward.")]
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout.")]
RawNamesOpt = Annotated[bool, typer.Option("--raw-names", help="Group steps by span names as written, without turning ids and numbers into placeholders.")]
TopOpt = Annotated[int, typer.Option("--top", "-n", metavar="N", parser=_number(1, whole=True), help="How many rows of each table to show (JSON and CSV keep all).")]


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

    # Refreshed from the callback (which the reader's threads call as they read), not by a timer
    # thread of rich's of its own.
    progress = Progress("reading", BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=Console(stderr=True), transient=True, auto_refresh=False)
    task = progress.add_task("read", total=total)
    progress.start()

    last_refresh = [0.0]

    def advance(n: int) -> None:
        progress.advance(task, n)
        now = time.monotonic()
        if now - last_refresh[0] >= PROGRESS_REFRESH_SECONDS:
            progress.refresh()
            last_refresh[0] = now

    return advance, progress.stop


def _paths(paths: list[str] | None, source: AgentSource | None) -> list[str]:
    """The inputs: the paths given, and with --source the agent's log folders on this machine."""
    from llmobs.agents import default_locations
    from llmobs.errors import InputError

    found = list(paths or [])
    if source is not None:
        folders = default_locations(source.value)
        if not folders and not found:
            raise InputError(f"no {source.value} session logs found in their usual places; give their folder as a PATH")
        found += folders
    if not found:
        raise InputError("no input: give one or more PATHs (or - for stdin), or --source claude-code / --source codex")
    return found


def _filters(since: str | None, until: str | None, names: list[str] | None, models: list[str] | None, name_rules=None):  # type: ignore[no-untyped-def]
    """The filters the options ask for; a range that ends before it starts is an error."""
    from llmobs.analysis.filters import Filters, parse_moment
    from llmobs.errors import ConfigError

    filters = Filters(
        since=parse_moment(since) if since else None,
        until=parse_moment(until, end=True) if until else None,
        names=tuple(names or ()),
        models=tuple(models or ()),
        name_rules=name_rules,
    )
    if filters.since is not None and filters.until is not None and filters.since >= filters.until:
        raise ConfigError(f"--since {since} is not before --until {until}: no request can match; swap them?")
    return filters


def _load(
    paths: list[str],
    *,
    strict: bool,
    no_cache: bool = False,
    engine: Engine = Engine.local,
    scheduler: str | None = None,
    since: str | None,
    until: str | None,
    names: list[str] | None,
    models: list[str] | None,
    by: str,
    config: str | None,
    raw_names: bool = False,
):
    """Read, filter, normalise step names and price-configure: what every analysis command starts
    from. Input that held lines but not one valid record is an error (exit 2): it is not a log."""
    import numpy as np

    from llmobs.analysis.filters import select
    from llmobs.analysis.names import DISTINCT_NAMES_WARNING, normalize_names
    from llmobs.analysis.steps import BUILTIN_GROUPS

    tool = _tool_config(config)
    pricer = _pricer(tool)
    name_rules = None if raw_names else _name_rules(tool)
    filters = _filters(since, until, names, models, name_rules)
    data = _read(paths, strict=strict, no_cache=no_cache, engine=engine, scheduler=scheduler, group_attrs=() if by in BUILTIN_GROUPS else (by,))
    columns = select(data.columns, filters)
    if name_rules is not None:
        columns, _ = normalize_names(columns, name_rules)
    distinct = len({columns.names.values[code] for code in np.unique(columns.spans.name[~columns.spans.is_root])}) if len(columns.names) > DISTINCT_NAMES_WARNING else 0
    if distinct > DISTINCT_NAMES_WARNING:
        _stderr(f"llmobs: warning: {distinct:,} distinct step names{'' if raw_names else ' remain after normalising ids and numbers'}; "
                f"{'drop --raw-names, or ' if raw_names else ''}add a rule for their variable part in [tool.llmobs.names] (see the README), "
                "or group with --by kind / --by <attribute>")
    return columns, data.stats, pricer, filters


def _report(paths: list[str], *, strict: bool, no_cache: bool, engine: Engine, scheduler: str | None, since: str | None, until: str | None,
            names: list[str] | None, models: list[str] | None, by: str, config: str | None, raw_names: bool, need_columns: bool = False):  # type: ignore[no-untyped-def]
    """(report, columns or None, filters) of the inputs. On a Dask cluster the report is made there
    in mergeable parts, and no columns come back, unless `need_columns` (a baseline comparison)."""
    if engine is not Engine.dask or need_columns:
        from llmobs.analysis.report import build_report

        columns, stats, pricer, filters = _load(paths, strict=strict, no_cache=no_cache, engine=engine, scheduler=scheduler, since=since, until=until,
                                                names=names, models=models, by=by, config=config, raw_names=raw_names)
        return build_report(columns, stats, pricer, by, filters), columns, filters
    from llmobs.analysis.cluster import report_on_cluster
    from llmobs.analysis.names import DISTINCT_NAMES_WARNING

    tool = _tool_config(config)
    name_rules = None if raw_names else _name_rules(tool)
    filters = _filters(since, until, names, models, name_rules)
    report, stats, sources = report_on_cluster(paths, _scheduler(scheduler), _pricer(tool), by=by, filters=filters, name_rules=name_rules, strict=strict)
    _warn_about_input(stats)
    _refuse_non_logs(stats, sources)
    if len(report.steps) > DISTINCT_NAMES_WARNING:
        _stderr(f"llmobs: warning: {len(report.steps):,} distinct step names; group with --by kind / --by <attribute>, or add a rule in [tool.llmobs.names]")
    return report, None, filters


def _scheduler(scheduler: str | None) -> str:
    from llmobs.errors import ConfigError

    if not scheduler:
        raise ConfigError("--engine dask needs --scheduler ADDRESS (or LLMOBS_DASK_SCHEDULER)")
    return scheduler


def _read(paths: list[str], *, strict: bool, no_cache: bool, engine: Engine = Engine.local, scheduler: str | None = None,
          group_attrs: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    """The inputs read (through the cache unless `no_cache`; or on a Dask cluster), with what was
    skipped on stderr; input that held lines but not one valid record is an error."""
    from llmobs.read import load

    if engine is Engine.dask:
        from llmobs.read.cluster import load_on_cluster

        data = load_on_cluster(paths, _scheduler(scheduler), strict=strict, group_attrs=group_attrs)
        _warn_about_input(data.stats)
        _refuse_non_logs(data.stats, data.sources)
        return data
    if any("://" in path for path in paths):
        from llmobs.errors import ConfigError

        raise ConfigError("URLs (s3://, gs://, …) are read by the workers of --engine dask")
    on_progress, stop = _progress_callback(paths)
    cache = None if no_cache else _cache()
    try:
        data = load(paths, strict=strict, group_attrs=group_attrs, on_progress=on_progress, cache=cache)
    finally:
        stop()
    if cache is not None:
        _show_cache_warnings(cache)
    _warn_about_input(data.stats)
    _refuse_non_logs(data.stats, data.sources)
    return data


def _cache():  # type: ignore[no-untyped-def]
    """The cache of what earlier runs read. Its writes go on while the command works; warnings of
    those still going on when it ends are shown once they end. A run that wrote to it then keeps
    it within its size limit (what no run can use goes first, then the least recently used)."""
    import atexit

    from llmobs.read.cache import Cache

    cache = Cache()

    def finish() -> None:
        cache.wait()
        if cache.wrote:
            from llmobs.read.cache import max_size
            from llmobs.read.cache.info import evict

            limit, problem = max_size()
            if problem is not None:
                cache.warnings.append(problem)
            evict(cache, limit)
        _show_cache_warnings(cache)

    atexit.register(finish)
    return cache


def _show_cache_warnings(cache) -> None:  # type: ignore[no-untyped-def]
    while cache.warnings:
        _stderr(f"llmobs: warning: {cache.warnings.pop(0)}")


def _name_rules(tool):  # type: ignore[no-untyped-def]
    """The step-name rules: `[tool.llmobs.names]` of `tool`, then the built-in ones."""
    from llmobs.analysis.names import NameRules, parse_names_config

    table = tool.table.get("names")
    if table is None:
        return NameRules.build()
    return parse_names_config(table, tool.section("names"), str(tool.path))


def _refuse_non_logs(stats, sources: list[str]) -> None:  # type: ignore[no-untyped-def]
    from llmobs.errors import InputError
    from llmobs.units import plural

    if stats.lines and not stats.records:
        named = ", ".join(sources[:3]) + (f" and {len(sources) - 3:,} more" if len(sources) > 3 else "")
        first = f" (first: {stats.first_bad})" if stats.first_bad else ""
        raise InputError(f"{named}: {plural(stats.lines, 'line')}, none a valid llmobs or OTLP record{first}; is this a trace log?")


def _warn_about_input(stats) -> None:  # type: ignore[no-untyped-def]
    """What was skipped while reading, on stderr: bad lines (the first few), unknown types, newer versions."""
    from llmobs.units import plural

    if stats.bad_lines:
        _stderr(f"llmobs: skipped {plural(stats.bad_lines, 'bad line')}; use --strict to make them fatal:")
        for sample in stats.bad_line_samples[:BAD_LINES_SHOWN]:
            _stderr(f"  {sample}")
    if stats.skipped_unknown:
        kinds = ", ".join(f"{k!r} ×{n}" for k, n in sorted(stats.unknown_types.items()))
        _stderr(f"llmobs: skipped {plural(stats.skipped_unknown, 'record')} of unknown type: {kinds}")
    if stats.newer_versions:
        _stderr(f"llmobs: warning: records of format version {sorted(stats.newer_versions)} read as version 1; upgrade llmobs")
    if stats.unused_usage_attrs:
        names = ", ".join(sorted(stats.unused_usage_attrs))
        _stderr(f"llmobs: warning: usage-like span attributes that no mapping reads (kept as attributes, not counted as tokens or cost): {names}")


def _invocation() -> str:
    """The command line that made this output, as a shell would take it back."""
    import shlex

    return shlex.join(["llmobs", *sys.argv[1:]])


def _print(fmt: Enum, what: str, result: object, output: str | None = None, **options: object) -> None:
    """Render `result` (a `what`: report, slowest, …) in the chosen form, on stdout or into `output`."""
    import io

    from llmobs.render import renderer

    if fmt.value == "html":
        from datetime import datetime, timezone

        options = {**options, "invocation": _invocation(), "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    rendered = renderer(fmt.value, what)(result, **options)
    if fmt.value == "table":
        from llmobs.render.table import write

        if output is None:
            write(rendered, sys.stdout)
            return
        buffer = io.StringIO()
        write(rendered, buffer)
        rendered = buffer.getvalue()
    _emit(rendered if rendered.endswith("\n") else rendered + "\n", output)


def _emit(text: str, output: str | None) -> None:
    """`text` on stdout, or written atomically to `output`."""
    if output is None:
        sys.stdout.write(text)
    else:
        with _atomic_output(output) as handle:
            handle.write(text.encode("utf-8"))


class SlowestTable(str, Enum):
    steps = "steps"
    requests = "requests"


@app.command(cls=_Command, short_help="The whole checklist on one screen.")
def report(
    paths: OptionalPaths = None,
    source: SourceOpt = None,
    format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    top: TopOpt = 20,
    strict: StrictOpt = False,
    no_cache: NoCacheOpt = False,
    engine: EngineOpt = Engine.local,
    scheduler: SchedulerOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    name: NameOpt = None,
    model: ModelOpt = None,
    by: ByOpt = "name",
    raw_names: RawNamesOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The whole checklist on one screen: latency, steps, errors, retries, tokens, cost, quality."""
    with _user_errors():
        paths = _paths(paths, source)
        result, _, _ = _report(paths, strict=strict, no_cache=no_cache, engine=engine, scheduler=scheduler, since=since, until=until, names=name, models=model,
                               by=by, config=config, raw_names=raw_names)
        _print(format, "report", result, output, **({"top": top} if format.value in ("table", "markdown") else {}))


@app.command(cls=_Command, short_help="Steps ranked by p95, then the slowest requests.")
def slowest(
    paths: OptionalPaths = None,
    source: SourceOpt = None,
    top: TopOpt = 5,
    format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    by_self_time: Annotated[bool, typer.Option("--by-self-time", help="Rank steps by the p95 of their self time (not spent in child spans) instead of their whole duration.")] = False,
    table: Annotated[SlowestTable, typer.Option("--table", metavar="TABLE", help="With --format csv: steps or requests (one table per file).")] = SlowestTable.steps,
    strict: StrictOpt = False,
    no_cache: NoCacheOpt = False,
    engine: EngineOpt = Engine.local,
    scheduler: SchedulerOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    name: NameOpt = None,
    model: ModelOpt = None,
    by: ByOpt = "name",
    raw_names: RawNamesOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Steps ranked by p95 (count, percentiles, total, self time, errors), then the slowest requests.

    Steps with fewer than 5 spans are listed apart: their p95 is mostly one span's duration. Step
    names are grouped with their ids and numbers as placeholders (GET /users/{id}) unless
    --raw-names; --by-self-time ranks by the time a step spends outside its child spans."""
    with _user_errors():
        paths = _paths(paths, source)
        from llmobs.analysis.slowest import slowest as find_slowest

        columns, _, _, _ = _load(paths, strict=strict, no_cache=no_cache, engine=engine, scheduler=scheduler, since=since, until=until, names=name, models=model, by=by, config=config, raw_names=raw_names)
        result = find_slowest(columns, top, by, "self_p95_ms" if by_self_time else "p95_ms")
        _print(format, "slowest", result, output, **({"table": table.value} if format.value == "csv" else {}))


BaselineOpt = Annotated[list[str] | None, typer.Option("--baseline", "-b", metavar="PATH", help="Baseline log: file, directory or glob (repeatable).")]
ToleranceOpt = Annotated[float | None, typer.Option("--tolerance", metavar="FRACTION", parser=_number(0),
                                                    help="Relative latency change allowed before a significant change is a regression (default 0.10).")]
TOOL_SECTIONS = ("prices", "checklist", "names")


def _tool_config(config: str | None):
    """The `[tool.llmobs]` table, its unknown sections rejected, and where it came from."""
    from llmobs.config import load_tool_config, suggestion
    from llmobs.errors import ConfigError

    tool = load_tool_config(config)
    unknown = sorted(set(tool.table) - set(TOOL_SECTIONS))
    if unknown:
        raise ConfigError("\n".join(
            f"{tool.path}: unknown section {tool.section(name)}{suggestion(name, TOOL_SECTIONS)}; the known ones are {', '.join(tool.section(k) for k in TOOL_SECTIONS)}"
            for name in unknown
        ))
    return tool


def _pricer(tool):  # type: ignore[no-untyped-def]
    """Prices from genai-prices, with the `[tool.llmobs.prices]` overrides of `tool`."""
    from llmobs.pricing import Pricer, parse_overrides

    prices = tool.table.get("prices", {})
    return Pricer(parse_overrides(prices, str(tool.path), tool.prefix) if prices else None)


def _step_limits(values: list[str]) -> dict[str, dict[str, float]]:
    from llmobs.errors import ConfigError

    steps: dict[str, dict[str, float]] = {}
    for value in values:
        target, sep, number = value.partition("=")
        name, dot, key = target.rpartition(".")
        try:
            limit = float(number)
        except ValueError:
            limit = None
        if not sep or not dot or not name or limit is None:
            raise ConfigError(f"--step {value!r}: expected NAME.KEY=VALUE, e.g. --step search.p95_ms=800")
        steps.setdefault(name, {})[key] = limit
    return steps


@app.command(cls=_Command, short_help="The seven questions as a CI gate, with thresholds.")
def checklist(
    paths: OptionalPaths = None,
    source: SourceOpt = None,
    format: Annotated[ChecklistFormat, typer.Option("--format", "-f", metavar="FORM", help="Output form: table, markdown ($GITHUB_STEP_SUMMARY), json, csv, html or junit (CI test reports).")] = ChecklistFormat.table,
    output: OutputOpt = None,
    strict: StrictOpt = False,
    no_cache: NoCacheOpt = False,
    engine: EngineOpt = Engine.local,
    scheduler: SchedulerOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    name: NameOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    raw_names: RawNamesOpt = False,
    p50_ms: Annotated[float | None, typer.Option("--p50-ms", metavar="MS", parser=_number(0), help="Ceiling on request p50 latency.")] = None,
    p95_ms: Annotated[float | None, typer.Option("--p95-ms", metavar="MS", parser=_number(0), help="Ceiling on request p95 latency.")] = None,
    p99_ms: Annotated[float | None, typer.Option("--p99-ms", metavar="MS", parser=_number(0), help="Ceiling on request p99 latency.")] = None,
    error_rate: Annotated[float | None, typer.Option("--error-rate", metavar="FRACTION", parser=_number(fraction=True), help="Ceiling on the share of failed spans.")] = None,
    retry_success_rate: Annotated[float | None, typer.Option("--retry-success-rate", metavar="FRACTION", parser=_number(fraction=True), help="Floor on the retry success rate.")] = None,
    tokens_per_request: Annotated[float | None, typer.Option("--tokens-per-request", metavar="TOKENS", parser=_number(0), help="Ceiling on tokens per request, latest month.")] = None,
    cost_per_request_usd: Annotated[float | None, typer.Option("--cost-per-request-usd", metavar="USD", parser=_number(0), help="Ceiling on $ per request, latest month.")] = None,
    failed_eval_rate: Annotated[float | None, typer.Option("--failed-eval-rate", metavar="FRACTION", parser=_number(fraction=True), help="Ceiling on the share of failed evals.")] = None,
    monthly_cost_growth: Annotated[float | None, typer.Option("--monthly-cost-growth", metavar="FRACTION", parser=_number(), help="Ceiling on month-over-month growth of $ per request (0.2 = +20 %).")] = None,
    unread_share: Annotated[float | None, typer.Option("--unread-share", metavar="FRACTION", parser=_number(fraction=True), help="Ceiling on the share of lines not read (bad, or of unknown type); default 0: any fails.")] = None,
    step: Annotated[list[str] | None, typer.Option("--step", metavar="NAME.KEY=VALUE", help="Per-step ceiling, KEY one of p50_ms, p95_ms, p99_ms, error_rate (repeatable).")] = None,
    require_all: Annotated[bool, typer.Option("--require-all", help="Fail when any checklist question cannot be answered.")] = False,
    allow_empty: Annotated[bool, typer.Option("--allow-empty", help="Pass even when the input holds no records or every request was filtered out.")] = False,
    baseline: BaselineOpt = None,
    tolerance: ToleranceOpt = None,
) -> None:
    """The seven questions as [x]/[ ] items, checked against thresholds and optionally a baseline.

    Exit 0 when every gate holds, 1 when a gate fails, when there is no data to check (unless
    --allow-empty) or, with --require-all, a question cannot be answered; 2 for unusable input,
    configuration or arguments. Thresholds come from [tool.llmobs.checklist] in the nearest
    pyproject.toml, [checklist] in llmobs.toml, or --config; flags override them.
    """
    with _user_errors():
        paths = _paths(paths, source)
        from llmobs.analysis.checklist import build_checklist
        from llmobs.analysis.compare import compare
        from llmobs.analysis.gates import evaluate_gates, parse_checklist_config

        tool = _tool_config(config)
        settings = dict(tool.table.get("checklist", {}))
        flags = {
            "p50_ms": p50_ms, "p95_ms": p95_ms, "p99_ms": p99_ms, "error_rate": error_rate,
            "retry_success_rate": retry_success_rate, "tokens_per_request": tokens_per_request,
            "cost_per_request_usd": cost_per_request_usd, "failed_eval_rate": failed_eval_rate,
            "monthly_cost_growth": monthly_cost_growth, "unread_share": unread_share,
        }
        settings.update({key: value for key, value in flags.items() if value is not None})
        if require_all:
            settings["require_all"] = True
        for step_name, limits in _step_limits(step or []).items():
            settings["steps"] = {**settings.get("steps", {}), step_name: {**settings.get("steps", {}).get(step_name, {}), **limits}}
        if tolerance is not None:
            settings["baseline"] = {**settings.get("baseline", {}), "tolerance": tolerance}
        gate_config = parse_checklist_config(settings, tool.section("checklist") if tool.path else "checklist options", str(tool.path or "options"))

        report_result, columns, filters = _report(paths, strict=strict, no_cache=no_cache, engine=engine, scheduler=scheduler, since=since, until=until, names=name,
                                                  models=model, by="name", config=config, raw_names=raw_names, need_columns=bool(baseline))
        if filters.name_rules is not None:  # a gate on `GET /users/42` or on `GET /users/{id}` checks the step as grouped
            gate_config = gate_config.model_copy(update={"steps": {filters.name_rules.apply(key): limits for key, limits in gate_config.steps.items()}})
        comparison = None
        if baseline:
            base_columns, _, _, _ = _load(baseline, strict=strict, no_cache=no_cache, engine=engine, scheduler=scheduler, since=since, until=until, names=name, models=model, by="name", config=config, raw_names=raw_names)
            comparison = compare(base_columns, columns, gate_config.baseline)
        result = build_checklist(report_result, evaluate_gates(report_result, gate_config), comparison, gate_config.require_all, allow_empty=allow_empty)
        _print(format, "checklist", result, output)
        _append_step_summary(result)
    raise typer.Exit(EXIT_OK if result.passed else EXIT_GATE_FAILED)


def _append_step_summary(result: object) -> None:
    """Add the markdown checklist to a GitHub Actions job summary when running there."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    from llmobs.render.markdown import render_checklist

    text = render_checklist(result)  # type: ignore[arg-type]
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        _stderr(f"llmobs: warning: cannot append to $GITHUB_STEP_SUMMARY ({target}): {exc.strerror or exc}")


@app.command(cls=_Command, short_help="Compare with a baseline; informational, exits 0.")
def diff(
    baseline: Annotated[list[str], typer.Option("--baseline", "-b", metavar="PATH", help="Baseline log: file, directory or glob (repeatable).", show_default=False)],
    paths: OptionalPaths = None,
    source: SourceOpt = None,
    format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    strict: StrictOpt = False,
    no_cache: NoCacheOpt = False,
    engine: EngineOpt = Engine.local,
    scheduler: SchedulerOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    name: NameOpt = None,
    model: ModelOpt = None,
    tolerance: ToleranceOpt = None,
    config: ConfigOpt = None,
    raw_names: RawNamesOpt = False,
) -> None:
    """Compare new logs (PATHS) with a baseline: per step and for requests, the change in p50, p95
    and error rate with a bootstrap confidence interval. Informational: exits 0 whatever changed."""
    with _user_errors():
        from llmobs.analysis.compare import compare
        from llmobs.analysis.gates import parse_checklist_config

        tool = _tool_config(config)
        settings = dict(tool.table.get("checklist", {}))
        if tolerance is not None:
            settings["baseline"] = {**settings.get("baseline", {}), "tolerance": tolerance}
        gate_config = parse_checklist_config(settings, tool.section("checklist") if tool.path else "options", str(tool.path or "options"))
        paths = _paths(paths, source)
        base_columns, _, _, _ = _load(baseline, strict=strict, no_cache=no_cache, engine=engine, scheduler=scheduler, since=since, until=until, names=name, models=model, by="name", config=config, raw_names=raw_names)
        new_columns, _, _, _ = _load(paths, strict=strict, no_cache=no_cache, engine=engine, scheduler=scheduler, since=since, until=until, names=name, models=model, by="name", config=config, raw_names=raw_names)
        result = compare(base_columns, new_columns, gate_config.baseline)
        _print(format, "comparison", result, output)


@app.command(cls=_Command, short_help="One request as a tree: durations, status, tokens, $.")
def trace(
    paths_and_id: Annotated[list[str], typer.Argument(metavar="[PATH]... ID", help="Log files (.gz too), directories, globs, or - for stdin (none with --source), then a trace id (or a unique prefix of 8 or more of its characters), or the request id given to TraceContext.", show_default=False)],
    source: SourceOpt = None,
    format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    strict: StrictOpt = False,
    config: ConfigOpt = None,
) -> None:
    """One request as an indented tree with durations, status, tokens and cost per span."""
    with _user_errors():
        from llmobs.analysis.trace import build_trace_view

        *given, trace_id = paths_and_id
        paths = _paths(given or None, source)
        view = build_trace_view(paths, trace_id, _pricer(_tool_config(config)), strict=strict)
        _print(format, "trace", view, output)


class OtlpProtocol(str, Enum):
    json = "http/json"
    protobuf = "http/protobuf"


@app.command(cls=_Command, short_help="Export as OpenTelemetry traces: OTLP file or collector.")
def export(
    paths: OptionalPaths = None,
    source: SourceOpt = None,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE", help="Write OTLP/JSON to FILE (atomically), one ExportTraceServiceRequest per line; - for stdout.")] = None,
    otlp: Annotated[str | None, typer.Option("--otlp", metavar="FILE", hidden=True, help="The older spelling of --output.")] = None,
    endpoint: Annotated[str | None, typer.Option("--endpoint", metavar="URL", help="Send to an OTLP/HTTP collector, e.g. http://localhost:4318 (/v1/traces is added).")] = None,
    protocol: Annotated[OtlpProtocol, typer.Option("--protocol", metavar="PROTOCOL", help="OTLP/HTTP encoding: http/json, or http/protobuf (needs llmobs[otel]).")] = OtlpProtocol.json,
    header: Annotated[list[str] | None, typer.Option("--header", metavar="NAME=VALUE", help="Extra HTTP header for the collector (repeatable).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", metavar="N", parser=_number(1, whole=True), help="Spans per OTLP document / request.")] = 512,
    service_name: Annotated[str, typer.Option("--service-name", metavar="NAME", help="resource service.name of the exported spans.")] = "llmobs",
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", parser=_number(0.1), help="Seconds per HTTP request.")] = 10.0,
    retries: Annotated[int, typer.Option("--retries", metavar="N", parser=_number(0, whole=True), help="Retries of a request the collector could not take (429, 502-504, no connection), with backoff.")] = 5,
    parquet: Annotated[str | None, typer.Option("--parquet", metavar="DIR", help="Write the columns as DIR/spans.parquet, usage.parquet and evals.parquet (needs llmobs[parquet]).")] = None,
    strict: StrictOpt = False,
    no_cache: NoCacheOpt = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    name: NameOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Export logs as OpenTelemetry traces: OTLP/JSON to a file, or OTLP/HTTP to a collector; or as
    Parquet columns for DuckDB, polars or Spark.

    Usage becomes gen_ai.usage.* attributes of the calling span, evals become span events, retries
    become links; reading the export back gives the same records. Parquet holds the records as the
    analyses count them (docs/FORMAT.md, "Parquet export").
    """
    with _user_errors():
        import orjson

        from llmobs.errors import ConfigError
        from llmobs.otlp.encode import documents
        from llmobs.otlp.stream import otlp_span_stream
        from llmobs.read import InputStats
        from llmobs.read.sources import expand
        from llmobs.units import plural

        paths = _paths(paths, source)
        if output is not None and otlp is not None:
            raise ConfigError("--otlp is the older spelling of --output: give one of them")
        otlp = output if output is not None else otlp
        if otlp is None and endpoint is None and parquet is None:
            raise ConfigError("nothing to do: give --output FILE, --endpoint URL and/or --parquet DIR")
        tool = _tool_config(config)  # checked like every command's: a typo in the settings is an error here too
        filters = _filters(since, until, name, model, _name_rules(tool))
        if parquet is not None:
            _export_parquet(paths, parquet, filters, strict=strict, no_cache=no_cache)
            if otlp is None and endpoint is None:
                return
        keep = _traces_to_export(paths, filters, strict) if filters.active else None
        headers = {}
        for item in header or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"--header {item!r}: expected NAME=VALUE")
            headers[key.strip()] = value.strip()
        sender = None
        if endpoint is not None:
            from llmobs.otlp.send import Sender

            sender = Sender(endpoint, protocol=protocol.value, headers=headers, timeout=timeout, retries=retries)
        stats = InputStats()
        spans, window = otlp_span_stream(expand(paths)[0], stats, strict=strict, keep_traces=keep)
        span_count = 0

        def counted() -> Iterator[dict]:
            nonlocal span_count
            for span in spans:
                span_count += 1
                yield span

        def export_to(file: BinaryIO | None) -> None:
            """Encode once; each document goes to the file and to the collector as it is made."""
            for document in documents(counted(), batch_size, service_name):
                if file is not None:
                    file.write(orjson.dumps(document, option=orjson.OPT_APPEND_NEWLINE))
                if sender is not None:
                    sender.send(document)

        if otlp is None:
            export_to(None)
        elif otlp == "-":
            export_to(sys.stdout.buffer)
            sys.stdout.flush()
        else:
            with _atomic_output(otlp) as handle:
                export_to(handle)
        if sender is not None:
            _stderr(f"llmobs: sent {plural(span_count, 'span')} in {plural(sender.requests, 'request')} to {endpoint}")
        homeless = window.homeless
        if window.duplicates:
            _stderr(f"llmobs: {plural(window.duplicates, 'record')} read more than once {'was' if window.duplicates == 1 else 'were'} exported once")
        _warn_about_input(stats)
        _refuse_non_logs(stats, [source.name for source in expand(paths)[0]])
        if homeless:
            _stderr(f"llmobs: warning: {plural(homeless, 'usage or eval record')} with no span of their trace to travel on cannot be expressed in OTLP and were not exported")


def _export_parquet(paths: list[str], folder: str, filters, *, strict: bool, no_cache: bool) -> None:  # type: ignore[no-untyped-def]
    from llmobs.analysis.filters import select
    from llmobs.render.parquet import write_parquet
    from llmobs.units import plural

    rows = write_parquet(select(_read(paths, strict=strict, no_cache=no_cache).columns, filters), folder)
    _stderr(f"llmobs: wrote {plural(rows['spans'], 'span')}, {plural(rows['usage'], 'usage record')} and {plural(rows['evals'], 'eval')} "
            f"to {os.path.join(folder, '')}{{spans,usage,evals}}.parquet")


def _traces_to_export(paths: list[str], filters, strict: bool) -> set[str]:  # type: ignore[no-untyped-def]
    """The ids of the traces the filters keep, from a first reading of the inputs (not stdin)."""
    from llmobs.analysis.filters import kept_trace_ids
    from llmobs.errors import ConfigError
    from llmobs.read import load

    if "-" in paths:
        raise ConfigError("export reads stdin once and cannot apply filters to it; save it to a file first")
    return kept_trace_ids(load(paths, strict=strict).columns, filters)


@contextmanager
def _atomic_output(path: str) -> Iterator[BinaryIO]:
    """A binary file written under a temporary name and renamed into place when complete."""
    from llmobs.errors import InputError

    temporary = f"{path}.tmp{os.getpid()}"
    try:
        handle = open(temporary, "wb")  # noqa: SIM115 (closed below, before the rename)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    try:
        with handle:
            yield handle
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


@app.command(cls=_Command, short_help="Cost by day, month, session, project or any attribute.")
def cost(
    paths: OptionalPaths = None,
    source: SourceOpt = None,
    by: Annotated[str, typer.Option("--by", metavar="KEY", help="day, month, or a request attribute: session, project, user.id …")] = "month",
    format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    top: TopOpt = 20,
    strict: StrictOpt = False,
    no_cache: NoCacheOpt = False,
    engine: EngineOpt = Engine.local,
    scheduler: SchedulerOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    name: NameOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Requests, tokens, cache hit rate and cost per UTC day or month, or per value of a request's
    attribute (`session` and `project` for coding agents' logs), costliest first."""
    with _user_errors():
        from llmobs.analysis.costs import PERIODS, cost_by

        paths = _paths(paths, source)
        columns, _, pricer, _ = _load(paths, strict=strict, no_cache=no_cache, engine=engine, scheduler=scheduler, since=since, until=until, names=name, models=model,
                                      by="name" if by in PERIODS else by, config=config)
        _print(format, "costs", cost_by(columns, pricer.price(columns), by), output, **({"top": top} if format.value in ("table", "markdown") else {}))


@app.command(cls=_Command, short_help="Prometheus metrics: duration histograms, counters.")
def metrics(
    paths: OptionalPaths = None,
    source: SourceOpt = None,
    output: OutputOpt = None,
    strict: StrictOpt = False,
    no_cache: NoCacheOpt = False,
    engine: EngineOpt = Engine.local,
    scheduler: SchedulerOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    name: NameOpt = None,
    model: ModelOpt = None,
    config: ConfigOpt = None,
    raw_names: RawNamesOpt = False,
) -> None:
    """Prometheus text exposition: request and step duration histograms (GenAI operation-duration
    buckets), token and cost counters by model, error counters by type. With --output the file is
    replaced atomically, for node_exporter's textfile collector."""
    with _user_errors():
        paths = _paths(paths, source)
        from llmobs.analysis.metrics import build_metrics
        from llmobs.render.prometheus import render_metrics

        columns, _, pricer, _ = _load(paths, strict=strict, no_cache=no_cache, engine=engine, scheduler=scheduler, since=since, until=until, names=name, models=model, by="name", config=config, raw_names=raw_names)
        _emit(render_metrics(build_metrics(columns, pricer.price(columns))), output)


@app.command(cls=_Command, short_help="The JSON Schema of one record line.")
def schema(output: OutputOpt = None) -> None:
    """Print the JSON Schema of one record line (docs/FORMAT.md), generated from the pydantic models."""
    with _user_errors():
        from llmobs.records import record_json_schema

        _emit(json.dumps(record_json_schema(), indent=2) + "\n", output)


cache_app = typer.Typer(name="cache", help="The cache of what earlier runs read, so later runs read only what changed.",
                        no_args_is_help=True, rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]})
app.add_typer(cache_app, name="cache", short_help="The cache of what earlier runs read: info, clear.")


class InfoFormat(str, Enum):
    table = "table"
    json = "json"


@cache_app.command("info", cls=_Command, short_help="Where the cache is and what it holds.")
def cache_info_command(
    format: Annotated[InfoFormat, typer.Option("--format", "-f", metavar="FORM", help="Output form: table or json.")] = InfoFormat.table,
) -> None:
    """Where the cache is (LLMOBS_CACHE_DIR, else $XDG_CACHE_HOME/llmobs), each log file it holds
    the columns of, and whether that file changed since: current, grown (only the rest will be
    read), changed (read again), gone, stale (kept by another llmobs version) or damaged."""
    with _user_errors():
        from llmobs.read.cache import Cache
        from llmobs.read.cache.info import cache_info
        from llmobs.units import count, plural, size

        info = cache_info(Cache())
        if format is InfoFormat.json:
            _emit(info.model_dump_json(indent=2) + "\n", None)
            return
        lines = [f"cache: {info.directory} ({size(info.disk_bytes)} in {plural(len(info.entries), 'log file')})"]
        for entry in info.entries:
            grouped = f", --by {', '.join(entry.group_attrs)}" if entry.group_attrs else ""
            lines.append(f"  {entry.state:<8} {entry.log or '(unreadable manifest)'}: {count(entry.records)} records, "
                         f"{size(entry.bytes_covered)} of the log, {size(entry.disk_bytes)} on disk{grouped}")
        _emit("\n".join(lines) + "\n", None)


@cache_app.command("clear", cls=_Command, short_help="Empty the cache, or drop what no run can use.")
def cache_clear_command(
    unusable: Annotated[bool, typer.Option("--unusable", help="Only the entries no run can use as they are: their log gone, changed or rewritten, "
                                                             "kept by another llmobs version, or damaged.")] = False,
) -> None:
    """Remove everything the cache holds (the next run reads every file whole, and keeps it again),
    or with --unusable only what no run can use."""
    with _user_errors():
        from llmobs.read.cache import Cache
        from llmobs.read.cache.info import remove_unusable
        from llmobs.units import plural, size

        cache = Cache()
        if unusable:
            removed, freed = remove_unusable(cache)
            _emit(f"llmobs: removed {plural(removed, 'unusable entry', 'unusable entries')} ({size(freed)}) from {cache.directory}\n", None)
            return
        freed = cache.clear()
        _emit(f"llmobs: removed {size(freed)} from {cache.directory}\n", None)


def main() -> None:
    """Console-script entry point."""
    app()

"""What every command does the same way: read the inputs (with the cache, filters and progress), report
problems with the input as one line each, turn errors into exit codes, and render or write the result."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from typing import BinaryIO

import typer

from llmobs.cli.options import AgentSource, Engine
from llmobs.cli.root import BAD_LINES_SHOWN, EXIT_OK, EXIT_UNUSABLE, PROGRESS_MIN_BYTES, PROGRESS_REFRESH_SECONDS
from llmobs.errors import LlmobsError


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


TOOL_SECTIONS = ("prices", "checklist", "names", "alerts")


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

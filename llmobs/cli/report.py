"""`llmobs report` (the whole checklist on one screen) and `llmobs slowest` (steps ranked by p95)."""

from __future__ import annotations

from typing import Annotated

import typer

from llmobs.cli.common import _load, _paths, _print, _report, _user_errors
from llmobs.cli.options import (
    ByOpt,
    ConfigOpt,
    Engine,
    EngineOpt,
    FormatOpt,
    ModelOpt,
    NameOpt,
    NoCacheOpt,
    OptionalPaths,
    OutputFormat,
    OutputOpt,
    RawNamesOpt,
    SchedulerOpt,
    SinceOpt,
    SlowestTable,
    SourceOpt,
    StrictOpt,
    TopOpt,
    UntilOpt,
)
from llmobs.cli.root import _Command, app


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

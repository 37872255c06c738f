"""`llmobs cost` (money by day, month or attribute) and `llmobs metrics` (the Prometheus text format)."""

from __future__ import annotations

from typing import Annotated

import typer

from llmobs.cli.common import _emit, _load, _paths, _print, _user_errors
from llmobs.cli.options import (
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
    SourceOpt,
    StrictOpt,
    TopOpt,
    UntilOpt,
)
from llmobs.cli.root import _Command, app


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

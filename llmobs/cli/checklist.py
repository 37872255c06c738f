"""`llmobs checklist` (the seven questions as a CI gate) and `llmobs diff` (the same comparison, informational)."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from llmobs.cli.common import _load, _paths, _print, _report, _stderr, _step_limits, _tool_config, _user_errors
from llmobs.cli.options import (
    BaselineOpt,
    ChecklistFormat,
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
    ToleranceOpt,
    UntilOpt,
    _number,
)
from llmobs.cli.root import EXIT_GATE_FAILED, EXIT_OK, _Command, app


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

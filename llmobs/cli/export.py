"""`llmobs export`: OTLP/JSON to a file, OTLP/HTTP to a collector, or Parquet columns."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Annotated, BinaryIO

import typer

from llmobs.cli.common import _atomic_output, _filters, _name_rules, _paths, _read, _refuse_non_logs, _stderr, _tool_config, _user_errors, _warn_about_input
from llmobs.cli.options import ConfigOpt, ModelOpt, NameOpt, NoCacheOpt, OptionalPaths, OtlpProtocol, SinceOpt, SourceOpt, StrictOpt, UntilOpt, _number
from llmobs.cli.root import _Command, app


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

"""`llmobs trace`: one request as a tree."""

from __future__ import annotations

from typing import Annotated

import typer

from llmobs.cli.common import _paths, _pricer, _print, _tool_config, _user_errors
from llmobs.cli.options import ConfigOpt, FormatOpt, OutputFormat, OutputOpt, SourceOpt, StrictOpt
from llmobs.cli.root import _Command, app


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

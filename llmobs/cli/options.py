"""The options and arguments several commands share, each declared once, and their parsers."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Annotated

import typer


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


def _duration(text: object) -> float:
    """A parser for a duration option (`30s`, `5m`, `1h`, or seconds), more than 0."""
    from llmobs.analysis.alerts import parse_duration

    if isinstance(text, (int, float)):  # a default
        return float(text)
    try:
        seconds = parse_duration(str(text))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if seconds <= 0:
        raise typer.BadParameter("must be more than 0")
    return seconds


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


class SlowestTable(str, Enum):
    steps = "steps"
    requests = "requests"


BaselineOpt = Annotated[list[str] | None, typer.Option("--baseline", "-b", metavar="PATH", help="Baseline log: file, directory or glob (repeatable).")]
ToleranceOpt = Annotated[float | None, typer.Option("--tolerance", metavar="FRACTION", parser=_number(0),
                                                    help="Relative latency change allowed before a significant change is a regression (default 0.10).")]


class OtlpProtocol(str, Enum):
    json = "http/json"
    protobuf = "http/protobuf"


class InfoFormat(str, Enum):
    table = "table"
    json = "json"

WindowOpt = Annotated[float | None, typer.Option("--window", "-w", metavar="DURATION", parser=_duration,
                                                 help="The sliding window the figures and alert rules cover (30s, 5m, 1h; default [alerts] window, else 5m).")]

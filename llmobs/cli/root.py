"""The `llmobs` Typer app itself: its version option, the help every command shares, and the exit codes."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
import typer.core

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

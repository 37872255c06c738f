"""The `llmobs` command line: parse options, call the reader and analyses, render, set the exit code.

One module a command (or group of commands that share their work): `report` (report, slowest),
`checklist` (checklist, diff), `trace`, `cost` (cost, metrics), `export`, `schema`, `cache`, `watch`
(watch, alert-rules, grafana-dashboard); the options they share in `options`, what they all do the
same way (reading, errors, output) in `common`, the Typer app and exit codes in `root`. Each imports
the reader, analyses and renderers it needs when it runs, and `llmobs --version` imports none of it.

Exit codes: 0 success (for `checklist`: every gate holds), 1 a `checklist` gate failed (or, with
`--require-all`, a question cannot be answered), 2 unusable input, configuration or arguments.
"""

from __future__ import annotations

import os

# numpy's BLAS would start a thread per CPU that spins between calls, taking CPU from the reader's
# threads; no analysis here multiplies matrices large enough to gain from them.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: `llmobs --version` imports nothing heavy
if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]
VERSION_FLAGS = (["--version"], ["-V"])


def _app() -> typer.Typer:
    """The Typer app with every command registered (each module registers its own)."""
    from llmobs.cli import cache, checklist, cost, export, report, schema, trace, watch  # noqa: F401
    from llmobs.cli.root import app

    globals()["app"] = app
    return app


def __getattr__(name: str) -> typer.Typer:
    """`llmobs.cli.app`, made on first use: `llmobs --version` never imports typer."""
    if name == "app":
        return _app()
    raise AttributeError(name)


def main() -> None:
    """Console-script entry point; `--version` alone is answered before anything is imported."""
    if sys.argv[1:] in VERSION_FLAGS:
        from llmobs import __version__

        sys.stdout.write(f"llmobs {__version__}\n")
        return
    _app()()

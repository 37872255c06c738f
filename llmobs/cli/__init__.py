"""The `llmobs` command line: parse options, call the reader and analyses, render, set the exit code.

One module a command (or group of commands that share their work): `report` (report, slowest),
`checklist` (checklist, diff), `trace`, `cost` (cost, metrics), `export`, `schema`, `cache`, `watch`
(watch, alert-rules, grafana-dashboard); the
options they share in `options`, and what they all do the same way (reading, errors, output) in
`common`. Each imports the reader, analyses and renderers it needs when it runs.

Exit codes: 0 success (for `checklist`: every gate holds), 1 a `checklist` gate failed (or, with
`--require-all`, a question cannot be answered), 2 unusable input, configuration or arguments.
"""

from __future__ import annotations

import os

# numpy's BLAS would start a thread per CPU that spins between calls, taking CPU from the reader's
# threads; no analysis here multiplies matrices large enough to gain from them.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from llmobs.cli import cache, checklist, cost, export, report, schema, trace, watch  # noqa: F401 (each registers its commands)
from llmobs.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()

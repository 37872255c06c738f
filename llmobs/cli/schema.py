"""`llmobs schema`: the JSON Schema of one record line."""

from __future__ import annotations

import json

from llmobs.cli.common import _emit, _user_errors
from llmobs.cli.options import OutputOpt
from llmobs.cli.root import _Command, app


@app.command(cls=_Command, short_help="The JSON Schema of one record line.")
def schema(output: OutputOpt = None) -> None:
    """Print the JSON Schema of one record line (docs/FORMAT.md), generated from the pydantic models."""
    with _user_errors():
        from llmobs.records import record_json_schema

        _emit(json.dumps(record_json_schema(), indent=2) + "\n", output)

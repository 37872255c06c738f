"""JSON output: the result models' own dumps (the report as FORMAT.md's `llmobs.report/1`)."""

from __future__ import annotations

import math

import orjson
from pydantic import BaseModel

from llmobs.analysis.results import Report


def render_json(result: BaseModel) -> str:
    """The result as indented JSON (orjson: a report lists every failed query, and the standard
    library takes a quarter of a second on a large one). Non-finite numbers are refused, as JSON
    has none (orjson would write them as null)."""
    data = result.to_json_dict() if isinstance(result, Report) else result.model_dump(mode="json")
    _refuse_non_finite(data)
    return orjson.dumps(data, option=orjson.OPT_INDENT_2).decode()


def _refuse_non_finite(value: object) -> None:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} has no JSON form: a result must hold only finite numbers")
    elif isinstance(value, dict):
        for item in value.values():
            _refuse_non_finite(item)
    elif isinstance(value, list):
        for item in value:
            _refuse_non_finite(item)

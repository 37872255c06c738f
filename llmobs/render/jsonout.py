"""JSON output: the result models' own dumps (the report as FORMAT.md's `llmobs.report/1`)."""

from __future__ import annotations

import json

from pydantic import BaseModel

from llmobs.analysis.results import Report


def render_json(result: BaseModel) -> str:
    data = result.to_json_dict() if isinstance(result, Report) else result.model_dump(mode="json")
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)

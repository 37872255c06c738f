from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmobs.records import RECORD_ADAPTER


def read_jsonl(path: Path) -> list[dict[str, object]]:
    """Every line of a JSONL file, each checked against the record models."""
    records = []
    for line in path.read_bytes().splitlines():
        RECORD_ADAPTER.validate_json(line)
        records.append(json.loads(line))
    return records


@pytest.fixture
def spans_of():
    def pick(records: list[dict[str, object]]) -> list[dict[str, object]]:
        return [r for r in records if r["type"] == "span"]

    return pick

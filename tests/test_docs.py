"""docs/FORMAT.md, the record format users read, stays true to the models that judge every line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from llmobs.analysis.results import InputSummary, RequestsSummary, TokensSummary, TokenTotals
from llmobs.cli import app
from llmobs.records import Eval, Span, Usage

FORMAT = (Path(__file__).parent.parent / "docs" / "FORMAT.md").read_text(encoding="utf-8")


def test_every_record_field_is_documented():
    for model in (Span, Usage, Eval):
        for name in model.model_fields:
            assert f"`{name}`" in FORMAT, f"{model.__name__}.{name} is not in docs/FORMAT.md"


def test_every_report_key_of_the_settled_figures_is_documented():
    for model in (InputSummary, RequestsSummary, TokensSummary, TokenTotals):
        for name in model.model_fields:
            if name not in ("bad_line_samples", "ignored_files"):
                assert f'"{name}"' in FORMAT, f"{model.__name__}.{name} is not in the report JSON of docs/FORMAT.md"


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_every_key_of_a_real_report_is_documented():
    result = CliRunner().invoke(app, ["report", "sample_traces/agent_traces.jsonl", "--format", "json"])
    missing = sorted(key for key in _keys(json.loads(result.stdout)) if f'"{key}"' not in FORMAT)
    assert missing == [], f"report keys missing from docs/FORMAT.md: {missing}"


def test_the_readme_links_the_living_copy():
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "(docs/FORMAT.md)" in readme and "../shared/" not in readme


def test_parquet_columns_are_in_format_md(tmp_path):
    import pyarrow.parquet as pq

    from llmobs.read import load
    from llmobs.render.parquet import write_parquet

    write_parquet(load([str(Path(__file__).parent.parent / "sample_traces" / "agent_traces.jsonl")]).columns, str(tmp_path))
    section = FORMAT[FORMAT.index("# `llmobs export --parquet DIR`") :]
    for name in ("spans", "usage", "evals"):
        missing = [column for column in pq.read_schema(tmp_path / f"{name}.parquet").names if f"`{column}`" not in section]
        assert missing == [], f"{name}.parquet columns missing from docs/FORMAT.md: {missing}"

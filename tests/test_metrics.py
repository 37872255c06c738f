"""`llmobs metrics`: Prometheus text that prometheus_client parses and whose counts match the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from llmobs.analysis.metrics import DURATION_BUCKETS_S
from llmobs.cli import app

runner = CliRunner()
SAMPLE = "sample_traces/agent_traces.jsonl"


def samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        out[family.name] = family.samples
    return out


def test_metrics_parse_and_match_the_report(tmp_path: Path):
    result = runner.invoke(app, ["metrics", SAMPLE])
    assert result.exit_code == 0
    families = samples(result.stdout)
    report = json.loads(runner.invoke(app, ["report", SAMPLE, "--format", "json"]).stdout)

    request = families["llmobs_request_duration_seconds"]
    count = sum(s.value for s in request if s.name.endswith("_count"))
    assert count == report["requests"]["count"]
    buckets = [s for s in request if s.name.endswith("_bucket")]
    assert [float(s.labels["le"]) for s in buckets] == [*DURATION_BUCKETS_S, float("inf")]
    assert [s.value for s in buckets] == sorted(s.value for s in buckets)

    steps = {s.labels["step"]: s.value for s in families["llmobs_step_duration_seconds"] if s.name.endswith("_count")}
    assert steps == {s["name"]: s["count"] for s in report["steps"]}
    sums = {s.labels["step"]: s.value for s in families["llmobs_step_duration_seconds"] if s.name.endswith("_sum")}
    assert sums["answer"] == pytest.approx(next(s["total_ms"] for s in report["steps"] if s["name"] == "answer") / 1000)

    errors = {s.labels["type"]: s.value for s in families["llmobs_span_errors"]}
    assert errors == {e["type"]: e["count"] for e in report["errors"]["top"]}
    tokens = families["llmobs_tokens"]
    total_in = sum(s.value for s in tokens if s.labels["token_type"] == "input")
    assert total_in == pytest.approx(report["tokens"]["input_per_request"] * report["requests"]["count"])
    assert sum(s.value for s in families["llmobs_cost_usd"]) == pytest.approx(report["cost"]["total_usd"])
    assert sum(s.value for s in families["llmobs_unpriced_tokens"]) == report["cost"]["unpriced_tokens"]
    assert sum(s.value for s in families["llmobs_missing_usage"]) == report["tokens"]["missing_usage"]
    requests = {s.labels["status"]: s.value for s in families["llmobs_requests"]}
    assert requests["error"] == pytest.approx(report["requests"]["error_rate"] * report["requests"]["count"])


def test_metrics_file_is_written_whole(tmp_path: Path):
    target = tmp_path / "llmobs.prom"
    assert runner.invoke(app, ["metrics", SAMPLE, "--output", str(target)]).exit_code == 0
    text = target.read_text()
    assert text.startswith("# HELP") and "llmobs_tokens_total{" in text
    assert list(tmp_path.iterdir()) == [target]

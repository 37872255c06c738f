"""`llmobs export --parquet DIR`: the columns the analyses count, as Parquet that other tools read
back to the same figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from helpers import evaluation, llmobs, root, span, usage, write_jsonl

from llmobs.read import load

SAMPLE = str(Path(__file__).resolve().parents[2] / "sample_traces" / "agent_traces.jsonl")


def test_parquet_holds_what_the_report_counts(tmp_path):
    done = llmobs("export", SAMPLE, "--parquet", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"llmobs: wrote 3,636 spans, 1,176 usage records and 298 evals to {tmp_path / 'out'}/{{spans,usage,evals}}.parquet\n"
    report = json.loads(llmobs("report", SAMPLE, "-f", "json").stdout)
    spans = pq.read_table(tmp_path / "out" / "spans.parquet").to_pylist()
    roots = [row for row in spans if row["parent_id64"] is None]
    assert len(roots) == report["requests"]["count"] == 600
    assert np.percentile([row["duration_ms"] for row in roots], 95) == pytest.approx(report["requests"]["latency_ms"]["p95"])
    errors: dict[str, int] = {}
    for row in spans:
        if row["status"] == "error":
            errors[row["error_type"]] = errors.get(row["error_type"], 0) + 1
    assert sorted(errors.items(), key=lambda item: -item[1])[0] == (report["errors"]["top"][0]["type"], report["errors"]["top"][0]["count"])
    usage_rows = pq.read_table(tmp_path / "out" / "usage.parquet").to_pylist()
    assert sum(1 for row in usage_rows if row["input_tokens"] is None) == 24  # unreported stays null, never 0
    data = load([SAMPLE])
    reported = data.columns.usage.input_tokens
    assert sum(row["input_tokens"] or 0 for row in usage_rows) == int(reported[reported >= 0].sum())
    evals = pq.read_table(tmp_path / "out" / "evals.parquet").to_pylist()
    failed = [row for row in evals if row["passed"] is False]
    assert len(failed) == 24 and all(row["query"] for row in failed) and all(row["query"] is None for row in evals if row["passed"])


def test_parquet_values_match_the_records_exactly(tmp_path):
    log = write_jsonl(tmp_path / "a.jsonl", [
        root("t1", 120.5, start="2026-03-01T10:00:00.250Z"),
        span("t1", "0123456789abcdef", "llm_call", 80.0, status="error", error="Timeout", **{"gen_ai.request.model": "gpt-4o"}),
        span("t1", "0123456789abcdef", "llm_call", 80.0, status="error", error="Timeout", **{"gen_ai.request.model": "gpt-4o"}),  # read twice, counted once
        usage("t1", "gpt-4o", 100, None, provider="openai", cost=0.25, span_id="0123456789abcdef"),
        evaluation("t1", None, name="tone"),
        evaluation("t1", False, query="why?"),
    ])
    out = tmp_path / "pq"
    assert llmobs("export", str(log), "--parquet", str(out)).returncode == 0
    spans = pq.read_table(out / "spans.parquet").to_pylist()
    assert len(spans) == 2
    step = next(row for row in spans if row["name"] == "llm_call")
    assert step["span_id64"] == 0x0123456789ABCDEF and step["status"] == "error" and step["error_type"] == "Timeout" and step["model"] == "gpt-4o"
    assert step["parent_id64"] is not None and step["retry_of64"] is None and step["weight"] == 1.0
    request = next(row for row in spans if row["name"] == "request")
    assert request["start"].isoformat() == "2026-03-01T10:00:00.250000+00:00" and request["duration_ms"] == 120.5 and request["kind"] is None
    [use] = pq.read_table(out / "usage.parquet").to_pylist()
    assert (use["input_tokens"], use["output_tokens"], use["cost_usd"], use["span_id64"], use["scope"]) == (100, None, 0.25, 0x0123456789ABCDEF, "call")
    evals = pq.read_table(out / "evals.parquet").to_pylist()
    assert [(row["name"], row["passed"], row["query"]) for row in evals] == [("tone", None, None), ("correctness", False, "why?")]


def test_parquet_export_applies_the_filters_and_says_when_it_cannot_write(tmp_path):
    log = write_jsonl(tmp_path / "a.jsonl", [root("t1", 10, start="2026-03-01T10:00:00Z"), root("t2", 20, start="2026-04-01T10:00:00Z")])
    assert llmobs("export", str(log), "--parquet", str(tmp_path / "pq"), "--since", "2026-04").returncode == 0
    assert [row["trace_id"] for row in pq.read_table(tmp_path / "pq" / "spans.parquet").to_pylist()] == ["t2"]
    blocker = tmp_path / "file"
    blocker.write_text("")
    failed = llmobs("export", str(log), "--parquet", str(blocker / "pq"))
    assert failed.returncode == 2 and failed.stderr.startswith(f"llmobs: error: --parquet {blocker / 'pq'}: cannot make the folder")

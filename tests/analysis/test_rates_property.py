"""Report rates and totals against an independent computation straight from the records (hypothesis)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmobs.analysis.report import build_report
from llmobs.pricing import Pricer
from llmobs.read import load


@st.composite
def dataset(draw) -> list[dict]:
    records: list[dict] = []
    for t in range(draw(st.integers(1, 8))):
        trace = f"t{t}"
        if draw(st.booleans()):
            records.append({"type": "span", "trace_id": trace, "span_id": "root", "parent_id": None, "name": "request",
                            "start": f"2026-0{draw(st.integers(1, 9))}-01T00:00:00Z", "duration_ms": draw(st.floats(0, 1e5)),
                            "status": draw(st.sampled_from(["ok", "error"]))})
        for s in range(draw(st.integers(0, 5))):
            attempt = draw(st.integers(1, 3))
            records.append({"type": "span", "trace_id": trace, "span_id": f"s{s}", "parent_id": "root",
                            "name": draw(st.sampled_from(["search", "llm"])), "start": "2026-01-01T00:00:00Z",
                            "duration_ms": draw(st.floats(0, 1e4)), "status": draw(st.sampled_from(["ok", "error"])),
                            "error": {"type": draw(st.sampled_from(["A", "B"]))}, "attempt": attempt,
                            **({"retry_of": f"op{draw(st.integers(0, 2))}"} if attempt > 1 else {})})
        for _ in range(draw(st.integers(0, 3))):
            records.append({"type": "usage", "trace_id": trace, "time": "2026-01-01T00:00:00Z", "model": "m",
                            "input_tokens": draw(st.none() | st.integers(0, 10**6)), "output_tokens": draw(st.none() | st.integers(0, 10**5))})
        for _ in range(draw(st.integers(0, 2))):
            records.append({"type": "eval", "trace_id": trace, "time": "2026-01-01T00:00:00Z", "name": "c",
                            "passed": draw(st.none() | st.booleans())})
    return records


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(dataset())
def test_rates_match_a_direct_computation(tmp_path_factory, records):
    path: Path = tmp_path_factory.mktemp("rates") / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    data = load([str(path)])
    report = build_report(data.columns, data.stats, Pricer())
    unique = list({json.dumps(r, sort_keys=True): r for r in reversed(records)}.values())[::-1]  # identical records count once
    assert report.input.duplicates == len(records) - len(unique)
    records = unique

    spans = [r for r in records if r["type"] == "span"]
    roots = [r for r in spans if r["parent_id"] is None]
    assert report.requests.count == len(roots)
    if roots:
        assert report.requests.error_rate == pytest.approx(np.mean([r["status"] == "error" for r in roots]))
        assert report.requests.latency_ms.p95 == pytest.approx(np.percentile([r["duration_ms"] for r in roots], 95))
    else:
        assert report.requests.error_rate is None and report.requests.latency_ms is None
    errors = [r for r in spans if r["status"] == "error"]
    assert report.errors.count == len(errors)
    assert report.errors.rate == (pytest.approx(len(errors) / len(spans)) if spans else None)
    error_type = lambda r: r.get("error", {}).get("type", "unspecified")  # noqa: E731
    assert {e.type: e.count for e in report.errors.top} == {t: sum(error_type(r) == t for r in errors) for t in {error_type(r) for r in errors}}

    operations: dict[tuple[str, str], list[dict]] = {}
    for r in spans:
        if r.get("retry_of"):
            operations.setdefault((r["trace_id"], r["retry_of"]), []).append(r)
    # the last attempt: the highest attempt number, and of equal ones the later in the log
    succeeded = sum(max(reversed(group), key=lambda r: r["attempt"])["status"] == "ok" for group in operations.values())
    assert report.retries.operations == len(operations) and report.retries.succeeded == succeeded

    usage = [r for r in records if r["type"] == "usage"]
    inputs = [r["input_tokens"] for r in usage if r["input_tokens"] is not None]
    assert report.tokens.missing_usage == sum(r["input_tokens"] is None or r["output_tokens"] is None for r in usage)
    if roots and inputs:
        assert report.tokens.input_per_request == pytest.approx(sum(inputs) / len(roots))
    evals = [r for r in records if r["type"] == "eval"]
    assert report.quality.evaluated == len(evals) and report.quality.failed == sum(r["passed"] is False for r in evals)

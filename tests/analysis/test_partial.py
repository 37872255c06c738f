"""The report made in parts (as a cluster makes it: whole traces per part, parts merged in any
order) is the report made at once: counts exact, float sums to the last bits, percentiles exact
while the values fit, else within DDSketch's accuracy."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import mixed_requests, same, write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st

from llmobs.analysis import sketch
from llmobs.analysis.partial import SKETCHED, finish_report, merge_parts, report_part
from llmobs.analysis.report import build_report, no_data_reason
from llmobs.analysis.sketch import RELATIVE_ACCURACY
from llmobs.pricing import Pricer
from llmobs.read import load
from llmobs.read.merge import split_by_trace

SAMPLE = str(Path(__file__).resolve().parents[2] / "sample_traces" / "agent_traces.jsonl")


def in_parts(data, count: int, by: str = "name", order: list[int] | None = None):  # type: ignore[no-untyped-def]
    pricer = Pricer()
    parts = [report_part(columns, pricer, by) for columns in split_by_trace(data.columns, count)]
    if order is not None:
        parts = [parts[i] for i in order]
    merged = functools.reduce(merge_parts, parts)
    return finish_report(merged, data.stats, no_data_reason(data.columns, data.stats, None))


@pytest.mark.parametrize("count", [1, 3, 16])
def test_the_sample_traces_in_parts_make_the_same_report(count):
    data = load([SAMPLE])
    whole = build_report(data.columns, data.stats, Pricer()).to_json_dict()
    report = in_parts(data, count).to_json_dict()
    same(report, whole)
    assert report["percentiles"] == "exact"
    assert json.dumps(report["requests"]) == json.dumps(whole["requests"])  # unweighted: bit for bit
    assert [s["p95_ms"] for s in report["steps"]] == [s["p95_ms"] for s in whole["steps"]]


def test_a_sampled_log_rollups_retries_and_groups_in_parts(tmp_path):
    records = mixed_requests(60)
    log = write_jsonl(tmp_path / "a.jsonl", records + records[:14])  # two traces read twice
    for by in ("name", "team"):
        data = load([str(log)], group_attrs=() if by == "name" else (by,))
        assert data.columns.trace_weight is not None and data.stats.duplicates and data.stats.rollups
        whole = build_report(data.columns, data.stats, Pricer(), by).to_json_dict()
        for count in (2, 7):
            same(in_parts(data, count, by).to_json_dict(), whole, weighted=True)


@settings(max_examples=25)
@given(st.integers(2, 9), st.randoms(use_true_random=False))
def test_parts_merge_in_any_order(count, rng):
    data = load([SAMPLE])
    order = list(range(count))
    rng.shuffle(order)
    same(in_parts(data, count, order=order).to_json_dict(), build_report(data.columns, data.stats, Pricer()).to_json_dict())


def test_beyond_the_exact_limit_percentiles_are_sketched_and_within_the_accuracy(monkeypatch):
    data = load([SAMPLE])
    whole = build_report(data.columns, data.stats, Pricer())
    monkeypatch.setattr(sketch, "EXACT_LIMIT", 50)  # keep at most 50 values of a distribution exactly
    report = in_parts(data, 4)
    assert report.percentiles == SKETCHED
    from llmobs.render.markdown import render_report as markdown
    from llmobs.render.table import render_report as table

    assert f"Percentiles estimated (more values than are kept exactly): {SKETCHED}." in markdown(report)
    assert any(getattr(part, "plain", "").startswith("Percentiles estimated") for part in table(report).renderables)
    roots = data.columns.spans.duration_ms[data.columns.spans.is_root]
    for q, got in zip((0.5, 0.95, 0.99), (report.requests.latency_ms.p50, report.requests.latency_ms.p95, report.requests.latency_ms.p99), strict=True):
        at_rank = float(np.sort(roots)[math.floor(q * (len(roots) - 1))])
        assert abs(got - at_rank) <= RELATIVE_ACCURACY * at_rank
    same(report.model_dump(exclude={"requests": {"latency_ms"}, "steps": True, "percentiles": True}),
         whole.model_dump(exclude={"requests": {"latency_ms"}, "steps": True, "percentiles": True}))
    assert [s.name for s in report.steps] == [s.name for s in whole.steps] and [s.count for s in report.steps] == [s.count for s in whole.steps]

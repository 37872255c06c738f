from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import evaluation, root, span, usage, write_jsonl

from llmobs.analysis.checklist import build_checklist
from llmobs.analysis.filters import Filters, parse_moment, select
from llmobs.analysis.report import build_report
from llmobs.pricing import PriceOverride, Pricer
from llmobs.read import load


@pytest.fixture
def small_log(tmp_path: Path) -> Path:
    records = [
        root("t1", 1000, start="2026-03-01T10:00:00Z", input="what is 2+2?"),
        span("t1", "s1", "search", 100),
        span("t1", "s2", "llm", 700, status="error", error="TimeoutError"),
        span("t1", "s3", "llm", 500, attempt=2, retry_of="s2"),
        usage("t1", "my-model", 1000, 100, time="2026-03-01T10:00:01Z"),
        root("t2", 3000, status="error", start="2026-04-02T10:00:00Z", input="capital of France?"),
        span("t2", "s1", "search", 300, start="2026-04-02T10:00:00Z"),
        span("t2", "s2", "llm", 900, status="error", error="TimeoutError", start="2026-04-02T10:00:00Z"),
        span("t2", "s3", "llm", 900, status="error", error="RateLimitError", attempt=2, retry_of="s2", start="2026-04-02T10:00:00Z"),
        usage("t2", "my-model", 3000, 300, time="2026-04-02T10:00:01Z"),
        usage("t2", "my-model", None, None, time="2026-04-02T10:00:02Z"),
        usage("t2", "mystery-model", 50, 5, time="2026-04-02T10:00:03Z"),
        evaluation("t1", True),
        evaluation("t2", False),
        span("t3", "s9", "search", 50, parent="gone"),
    ]
    return write_jsonl(tmp_path / "small.jsonl", records)


def pricer() -> Pricer:
    return Pricer({"my-model": PriceOverride(input_mtok=1.0, output_mtok=10.0)})


def test_report_numbers_by_hand(small_log: Path):
    data = load([str(small_log)])
    report = build_report(data.columns, data.stats, pricer())
    assert report.input.records == 15 and report.input.spans == 9 and report.input.usage == 4 and report.input.evals == 2
    req = report.requests
    assert req.count == 2 and req.incomplete == 1 and req.error_rate == 0.5
    assert req.latency_ms.p50 == 2000 and req.latency_ms.p95 == pytest.approx(2900) and req.latency_ms.p99 == pytest.approx(2980)
    names = [s.name for s in report.steps]
    assert names == ["llm", "search"]  # llm p95 900 > search p95
    llm = report.steps[0]
    assert llm.count == 4 and llm.total_ms == 3000 and llm.error_rate == 0.75
    assert llm.share_of_request_time == pytest.approx(3000 / 4000)
    assert report.errors.count == 4 and report.errors.rate == pytest.approx(4 / 9)
    assert [(e.type, e.count) for e in report.errors.top] == [("TimeoutError", 2), ("AgentFailed", 1), ("RateLimitError", 1)]
    assert (report.retries.operations, report.retries.succeeded, report.retries.success_rate) == (2, 1, 0.5)
    assert report.tokens.input_per_request == (1000 + 3000 + 50) / 2
    assert report.tokens.output_per_request == (100 + 300 + 5) / 2
    assert report.tokens.missing_usage == 1
    march = 1000 * 1e-6 + 100 * 10e-6
    april = 3000 * 1e-6 + 300 * 10e-6
    assert report.cost.total_usd == pytest.approx(march + april)
    assert report.cost.per_request_usd == pytest.approx((march + april) / 2)
    assert report.cost.unpriced_tokens == 55 and report.cost.unpriced_models == ["mystery-model"]
    months = {m.month: m for m in report.cost.by_month}
    assert months["2026-03"].cost_per_request_usd == pytest.approx(march)
    assert months["2026-04"].cost_per_request_usd == pytest.approx(april)
    assert report.quality.evaluated == 2 and report.quality.failed == 1
    assert report.quality.failed_queries[0].query == "capital of France?"  # from the root's input
    assert report.quality.failed_queries[0].trace_id == "t2"


def test_json_document_has_the_contract_keys(small_log: Path):
    data = load([str(small_log)])
    doc = build_report(data.columns, data.stats, pricer()).to_json_dict()
    assert doc["schema"] == "llmobs.report/1"
    assert list(doc)[:9] == ["schema", "input", "requests", "steps", "errors", "retries", "tokens", "cost", "quality"]
    for key in ("files", "lines", "records", "bad_lines", "skipped_unknown", "spans", "usage", "evals"):
        assert key in doc["input"]
    assert set(doc["requests"]["latency_ms"]) == {"p50", "p95", "p99"}
    assert {"name", "count", "p50_ms", "p95_ms", "p99_ms", "total_ms", "error_rate"} <= set(doc["steps"][0])
    assert {"month", "cost_usd", "requests", "cost_per_request_usd"} <= set(doc["cost"]["by_month"][0])


def test_empty_data_answers_nothing_and_says_so(tmp_path: Path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    data = load([str(empty)])
    report = build_report(data.columns, data.stats, Pricer())
    assert report.requests.latency_ms is None and report.requests.error_rate is None
    assert report.errors.rate is None and report.retries.success_rate is None
    assert report.tokens.input_per_request is None and report.cost.total_usd is None and report.cost.per_request_usd is None
    checklist = build_checklist(report)
    assert not any(item.answered for item in checklist.items)
    assert all(item.reason for item in checklist.items)


def test_filters_select_whole_requests(small_log: Path):
    data = load([str(small_log)])
    april = select(data.columns, Filters(since=parse_moment("2026-04"), until=parse_moment("2026-04", end=True)))
    report = build_report(april, data.stats, pricer())
    assert report.requests.count == 1 and report.requests.latency_ms.p50 == 3000
    assert report.tokens.missing_usage == 1 and report.quality.evaluated == 1
    by_model = select(data.columns, Filters(models=("mystery-*",)))
    assert build_report(by_model, data.stats, pricer()).requests.count == 1
    none = select(data.columns, Filters(names=("nope",)))
    assert build_report(none, data.stats, pricer()).requests.count == 0


def test_group_steps_by_attribute(tmp_path: Path):
    path = write_jsonl(tmp_path / "g.jsonl", [
        root("t1", 100),
        span("t1", "a", "llm", 10, **{"gen_ai.request.model": "m1", "tier": "gold"}),
        span("t1", "b", "llm", 30, **{"gen_ai.request.model": "m2"}),
    ])
    data = load([str(path)], group_attrs=("tier",))
    report = build_report(data.columns, data.stats, Pricer(), by="tier")
    assert {(s.name, s.count) for s in report.steps} == {("gold", 1), ("(unset)", 1)}
    report = build_report(data.columns, data.stats, Pricer(), by="model")
    assert [s.name for s in report.steps] == ["m2", "m1"]


def test_percentiles_agree_with_numpy_on_sample_traces():
    data = load(["sample_traces/agent_traces.jsonl"])
    report = build_report(data.columns, data.stats, Pricer())
    roots = data.columns.spans.duration_ms[data.columns.spans.is_root]
    assert [report.requests.latency_ms.p50, report.requests.latency_ms.p95, report.requests.latency_ms.p99] == pytest.approx(
        np.percentile(roots, [50, 95, 99]).tolist()
    )

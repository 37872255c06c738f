"""A log sampled at 10 % answers within sampling error of the unsampled truth (Horvitz–Thompson)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest

import llmobs
from llmobs.analysis.report import build_report
from llmobs.pricing import Pricer
from llmobs.read import load

REQUESTS = 20_000
ERROR_RATE = 0.10
EPOCH_NS = 1_780_000_000 * 10**9


def _workload(path: Path, sample_rate: float) -> None:
    """The same 20,000 requests either way (seeded ids and latencies), logged by the real logger."""
    random.seed(7)  # the logger's trace and span ids
    rng = random.Random(11)
    now = [0]
    llmobs.configure(path, sample_rate=sample_rate, clock=(lambda: EPOCH_NS + now[0], lambda: now[0]))
    try:
        for i in range(REQUESTS):
            try:
                with llmobs.TraceContext(f"r{i}", name="request"):
                    with llmobs.trace_span("search", kind="retrieval"):
                        now[0] += int(rng.lognormvariate(3.0, 0.5) * 1e6)
                    with llmobs.trace_span("llm", kind="llm"):
                        now[0] += int(rng.lognormvariate(6.0, 0.6) * 1e6)
                        llmobs.record_usage("gpt-4o-mini", rng.randint(100, 280), rng.randint(10, 60), provider="openai")
                        if rng.random() < ERROR_RATE:
                            raise TimeoutError("model timed out")
            except TimeoutError:
                pass
            now[0] += 10**9
    finally:
        llmobs._config._reset()


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sampling")
    out = {}
    for name, rate in (("truth", 1.0), ("sampled", 0.1)):
        _workload(folder / f"{name}.jsonl", rate)
        data = load([str(folder / f"{name}.jsonl")])
        out[name] = (build_report(data.columns, data.stats, Pricer()), data)
    return out


def test_the_sampled_log_keeps_a_tenth_and_every_error(reports):
    truth, _ = reports["truth"]
    sampled, data = reports["sampled"]
    errors = round(truth.requests.error_rate * truth.requests.count)
    assert truth.requests.count == REQUESTS and not truth.requests.estimated
    assert sampled.requests.estimated
    kept_ok = sampled.requests.kept - errors
    assert abs(kept_ok - 0.1 * (REQUESTS - errors)) < 4 * math.sqrt((REQUESTS - errors) * 0.1 * 0.9)
    spans_of_errors = data.columns.spans.is_error & data.columns.spans.is_root
    assert int(spans_of_errors.sum()) == errors  # every failed request kept


def test_estimates_land_within_sampling_error_of_the_truth(reports):
    truth, _ = reports["truth"]
    sampled, _ = reports["sampled"]
    ok = REQUESTS * (1 - truth.requests.error_rate)
    count_sd = math.sqrt(ok * 0.9 / 0.1)  # Horvitz–Thompson variance of the ok requests' count
    assert abs(sampled.requests.count - truth.requests.count) < 4 * count_sd
    rate_sd = truth.requests.error_rate * count_sd / REQUESTS
    assert sampled.requests.error_rate == pytest.approx(truth.requests.error_rate, abs=4 * rate_sd)
    assert sampled.tokens.input_per_request == pytest.approx(truth.tokens.input_per_request, rel=0.03)
    assert sampled.tokens.output_per_request == pytest.approx(truth.tokens.output_per_request, rel=0.03)
    assert sampled.requests.latency_ms.p50 == pytest.approx(truth.requests.latency_ms.p50, rel=0.05)
    assert sampled.requests.latency_ms.p95 == pytest.approx(truth.requests.latency_ms.p95, rel=0.08)
    assert sampled.cost.total_usd == pytest.approx(truth.cost.total_usd, rel=0.05)
    llm, true_llm = ({s.name: s for s in report.steps}["llm"] for report in (sampled, truth))
    assert abs(llm.count - true_llm.count) < 4 * count_sd
    assert llm.error_rate == pytest.approx(true_llm.error_rate, abs=4 * rate_sd)
    assert llm.p95_ms == pytest.approx(true_llm.p95_ms, rel=0.08)


def test_read_unweighted_the_same_log_is_far_off(reports):
    """What the weights correct: the kept traces alone overstate errors about fivefold."""
    truth, _ = reports["truth"]
    _, data = reports["sampled"]
    roots = data.columns.spans.is_root
    naive_error_rate = float(np.mean(data.columns.spans.is_error[roots]))
    assert naive_error_rate > 4 * truth.requests.error_rate


def test_every_output_agrees_on_the_estimates(reports, tmp_path_factory):
    """Prometheus counters and the baseline comparison read the sampled log as the report does."""
    from prometheus_client.parser import text_string_to_metric_families

    from llmobs.analysis.compare import compare
    from llmobs.analysis.gates import BaselineSettings
    from llmobs.analysis.metrics import build_metrics
    from llmobs.render.prometheus import render_metrics

    sampled, data = reports["sampled"]
    truth, truth_data = reports["truth"]
    metrics = {f.name: f for f in text_string_to_metric_families(render_metrics(build_metrics(data.columns, Pricer().price(data.columns))))}
    requests = sum(s.value for s in metrics["llmobs_requests"].samples if s.name == "llmobs_requests_total")
    assert requests == pytest.approx(sampled.requests.count, abs=0.5)
    errors = {s.labels["status"]: s.value for s in metrics["llmobs_requests"].samples if s.name == "llmobs_requests_total"}
    assert errors["error"] / requests == pytest.approx(sampled.requests.error_rate)
    comparison = compare(truth_data.columns, data.columns, BaselineSettings())
    assert comparison.regressions == []  # the same workload, sampled: no change beyond noise
    p95 = next(r for r in comparison.rows if r.scope == "requests" and r.metric == "p95_ms")
    assert p95.new == pytest.approx(sampled.requests.latency_ms.p95) and p95.base == pytest.approx(truth.requests.latency_ms.p95)

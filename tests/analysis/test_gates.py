from __future__ import annotations

import pytest

from llmobs.analysis.gates import ChecklistConfig, evaluate_gates, parse_checklist_config
from llmobs.analysis.report import build_report
from llmobs.errors import ConfigError
from llmobs.pricing import Pricer
from llmobs.read import load

SAMPLE = "sample_traces/agent_traces.jsonl"


@pytest.fixture(scope="module")
def report():
    data = load([SAMPLE])
    return build_report(data.columns, data.stats, Pricer())


def by_name(results):
    return {g.name: g for g in results}


def test_ceilings_and_floors_against_measured_values(report):
    config = ChecklistConfig(p95_ms=report.requests.latency_ms.p95, p99_ms=report.requests.latency_ms.p99 - 1,
                             retry_success_rate=0.9, error_rate=0.01, failed_eval_rate=0.5)
    gates = by_name(evaluate_gates(report, config))
    assert gates["p95_ms"].passed  # equal to the limit holds
    assert not gates["p99_ms"].passed and gates["p99_ms"].measured == report.requests.latency_ms.p99
    assert gates["retry_success_rate"].passed and gates["retry_success_rate"].kind == "floor"
    assert not gates["error_rate"].passed and gates["error_rate"].measured == pytest.approx(report.errors.rate)
    assert gates["failed_eval_rate"].measured == pytest.approx(report.quality.failed / report.quality.evaluated)


def test_latest_month_cost_tokens_and_growth(report):
    months = [m for m in report.cost.by_month if m.requests]
    config = ChecklistConfig(cost_per_request_usd=1.0, tokens_per_request=1.0, monthly_cost_growth=0.0)
    gates = by_name(evaluate_gates(report, config))
    assert gates["cost_per_request_usd"].measured == pytest.approx(months[-1].cost_per_request_usd)
    assert gates["tokens_per_request"].measured == pytest.approx(months[-1].tokens_per_request)
    assert not gates["tokens_per_request"].passed
    growth = months[-1].cost_per_request_usd / months[-2].cost_per_request_usd - 1
    assert gates["monthly_cost_growth"].measured == pytest.approx(growth)
    assert gates["monthly_cost_growth"].passed == (growth <= 0)


def test_step_gates_and_unmeasurable_gates_fail(report):
    answer = next(s for s in report.steps if s.name == "answer")
    config = parse_checklist_config({"steps": {"answer": {"p95_ms": answer.p95_ms + 1, "error_rate": 0.01}, "missing_step": {"p50_ms": 5}}}, "[checklist]", "test")
    gates = by_name(evaluate_gates(report, config))
    assert gates["steps.answer.p95_ms"].passed
    assert not gates["steps.answer.error_rate"].passed
    missing = gates["steps.missing_step.p50_ms"]
    assert not missing.passed and missing.measured is None and "no spans named 'missing_step'" in missing.reason


def test_unknown_and_bad_keys_are_named_one_line_each_with_a_suggestion():
    section = "[tool.llmobs.checklist]"
    with pytest.raises(ConfigError) as caught:
        parse_checklist_config({"p95": 800}, section, "pyproject.toml")
    assert str(caught.value) == "pyproject.toml: [tool.llmobs.checklist] unknown key 'p95' (did you mean 'p95_ms'?): a typo would silently switch a gate off"
    with pytest.raises(ConfigError) as caught:
        parse_checklist_config({"steps": {"search": {"p95": 800}}, "error_rate": 5, "baseline": {"tolerence": 0.2}, "zzz": 1}, section, "pyproject.toml")
    assert sorted(str(caught.value).splitlines()) == sorted([
        "pyproject.toml: [tool.llmobs.checklist] error_rate: must be at most 1",
        "pyproject.toml: [tool.llmobs.checklist] unknown key 'zzz': a typo would silently switch a gate off",
        "pyproject.toml: [tool.llmobs.checklist.steps.search] unknown key 'p95' (did you mean 'p95_ms'?): a typo would silently switch a gate off",
        "pyproject.toml: [tool.llmobs.checklist.baseline] unknown key 'tolerence' (did you mean 'tolerance'?): a typo would silently switch a gate off",
    ])

"""The `[tool.llmobs.alerts]` table and each rule's figure on a window, against values worked out by
hand from the records."""

from __future__ import annotations

import json

import pytest
from helpers import evaluation, root, span, usage

from llmobs.analysis.alerts import AlertsConfig, measure, parse_alerts_config, parse_duration, rule_specs
from llmobs.analysis.partial import finish_report, report_part
from llmobs.errors import ConfigError
from llmobs.pricing import Pricer
from llmobs.read.columns import ColumnBuilder
from llmobs.read.settle import settle
from llmobs.read.stats import InputStats
from llmobs.records import RECORD_ADAPTER


def window(records: list[dict]):  # type: ignore[no-untyped-def]
    builder = ColumnBuilder()
    builder.add_records([RECORD_ADAPTER.validate_json(json.dumps(r)) for r in records])
    columns, _, _ = settle(builder.finish())
    part = report_part(columns, Pricer())
    return finish_report(part, InputStats(records=len(records)), None), part


RECORDS = [
    root("a" * 32, 1000.0), span("a" * 32, "s1", "search", 400.0), usage("a" * 32, "m", 1000, 200, cost=0.02),
    root("b" * 32, 3000.0), span("b" * 32, "s1", "search", 600.0, status="error", error="RateLimitError"),
    span("b" * 32, "s2", "search", 300.0, attempt=2, retry_of="b" * 32 + "-s1"), usage("b" * 32, "m", 3000, 800, cost=0.06),
    evaluation("a" * 32, True), evaluation("b" * 32, False),
]


def figures(table: dict) -> dict[str, float | None]:
    config = AlertsConfig.model_validate(table)
    report, part = window(RECORDS)
    return {spec.name: measure(spec, report, part, 600.0, 90.0).value for spec in rule_specs(config)}


def test_each_rule_measures_its_figure_on_the_window() -> None:
    found = figures({"p50_ms": 1, "p99_ms": 1, "error_rate": 0.5, "retry_success_rate": 0.5, "cost_per_hour_usd": 1, "cost_per_request_usd": 1,
                     "tokens_per_request": 1, "failed_eval_rate": 0.5, "no_requests_minutes": 1,
                     "steps": {"search": {"p95_ms": 1, "error_rate": 0.5}}, "error_types": {"RateLimitError": 0.5, "Timeout": 0.5}})
    assert found["p50_ms"] == 2000.0  # type-7 median of 1000 and 3000
    assert found["p99_ms"] == pytest.approx(1000 + 0.99 * 2000)
    assert found["error_rate"] == 1 / 5  # one failed span of five
    assert found["retry_success_rate"] == 1.0
    assert found["cost_per_hour_usd"] == pytest.approx(0.08 * 6)  # $0.08 in a 10-minute window
    assert found["cost_per_request_usd"] == pytest.approx(0.04)
    assert found["tokens_per_request"] == (1000 + 200 + 3000 + 800) / 2
    assert found["failed_eval_rate"] == 0.5
    assert found["no_requests_minutes"] == 1.5
    assert found["steps.search.p95_ms"] == pytest.approx(400 + 0.9 * 200)  # type-7, of 300, 400, 600: rank 1.9
    assert found["steps.search.error_rate"] == pytest.approx(1 / 3)
    assert found["error_types.RateLimitError"] == 1 / 5
    assert found["error_types.Timeout"] == 0.0


def test_a_window_without_the_data_says_why_and_gives_no_value() -> None:
    report, part = window([usage("c" * 32, "m", 10, 1)])
    config = AlertsConfig.model_validate({"p95_ms": 1, "failed_eval_rate": 0.1, "retry_success_rate": 0.9, "steps": {"search": {"p95_ms": 1}}})
    reasons = {spec.name: measure(spec, report, part, 300.0, 0.0) for spec in rule_specs(config)}
    assert {name: (m.value, m.reason) for name, m in reasons.items()} == {
        "p95_ms": (None, "no requests in the window"),
        "retry_success_rate": (None, "no retried operations in the window"),
        "failed_eval_rate": (None, "no evals in the window"),
        "steps.search.p95_ms": (None, "no spans named 'search' in the window"),
    }


def test_rules_take_a_number_or_a_table_and_durations_in_words() -> None:
    config = parse_alerts_config({"for": "2m", "window": "15m", "p95_ms": 5000, "error_rate": {"limit": 0.05, "for": "30s"}}, "[tool.llmobs.alerts]", "p")
    specs = {spec.name: spec for spec in rule_specs(config)}
    assert (config.window, specs["p95_ms"].for_seconds, specs["error_rate"].for_seconds, specs["error_rate"].limit) == (900.0, 120.0, 30.0, 0.05)
    assert specs["p95_ms"].kind == "ceiling" and parse_duration("250ms") == 0.25 and parse_duration(90) == 90.0


def test_every_mistake_is_one_line_naming_the_file_and_key() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_alerts_config({"p95ms": 3, "error_rate": 2, "p99_ms": -1, "for": "5 parsecs", "steps": {"x": {"p95": 1}},
                             "error_types": {"E": 1.5}}, "[tool.llmobs.alerts]", "pyproject.toml")
    assert sorted(str(raised.value).splitlines()) == sorted([
        "pyproject.toml: [tool.llmobs.alerts] unknown key 'p95ms' (did you mean 'p95_ms'?): a typo would silently switch an alert off",
        "pyproject.toml: [tool.llmobs.alerts] error_rate: must be at most 1 (a rate: 0.05 is 5 %)",
        "pyproject.toml: [tool.llmobs.alerts] p99_ms: must be at least 0",
        "pyproject.toml: [tool.llmobs.alerts] for: '5 parsecs' is not a duration (e.g. 30s, 5m, 1h)",
        "pyproject.toml: [tool.llmobs.alerts.steps.x] unknown key 'p95' (did you mean 'p95_ms'?): a typo would silently switch an alert off",
        "pyproject.toml: [tool.llmobs.alerts] error_types: 'E': must be at most 1 (a rate: 0.05 is 5 %)",
    ])

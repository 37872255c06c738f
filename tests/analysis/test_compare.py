"""The baseline comparison must pass unchanged distributions and catch a real slowdown of one step.

Measured over many seeds; the rates printed in the README come from test_false_alarm_and_detection_rates.
"""

from __future__ import annotations

from types import SimpleNamespace as NS

import numpy as np
import pytest

from llmobs.analysis.compare import _quantile_replicates, compare
from llmobs.analysis.gates import BaselineSettings
from llmobs.read.columns import ColumnBuilder

SEEDS = range(40)
REQUESTS = 400


def simulated(rng: np.random.Generator, requests: int, search_factor: float = 1.0, llm_errors: float = 0.05):
    """Columns of `requests` agent runs: a root, a search step, an llm step (lognormal latencies)."""
    spans = []
    for i in range(requests):
        trace = f"t{i}"
        search = float(rng.lognormal(4.6, 0.5)) * search_factor
        llm = float(rng.lognormal(6.6, 0.4))
        failed = bool(rng.random() < llm_errors)
        spans += [
            NS(span_id="r", trace_id=trace, parent_id=None, name="request", kind=None, duration_ms=search + llm + 5, status="ok", error=None, attempt=1, retry_of=None, attrs=None, sample_rate=1.0),
            NS(span_id="s", trace_id=trace, parent_id="r", name="search", kind=None, duration_ms=search, status="ok", error=None, attempt=1, retry_of=None, attrs=None, sample_rate=1.0),
            NS(span_id="l", trace_id=trace, parent_id="r", name="llm", kind=None, duration_ms=llm, status="error" if failed else "ok", error=None, attempt=1, retry_of=None, attrs=None, sample_rate=1.0),
        ]
    builder = ColumnBuilder()
    builder.add_spans(spans, np.zeros(len(spans), dtype=np.int64))
    return builder.finish()


def test_false_alarm_and_detection_rates():
    false_alarms = detections = wrong_steps = 0
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        base = simulated(rng, REQUESTS)
        same = simulated(rng, REQUESTS)
        slower = simulated(rng, REQUESTS, search_factor=1.4)
        false_alarms += bool(compare(base, same, BaselineSettings()).regressions)
        flagged = {(r.scope, r.name) for r in compare(base, slower, BaselineSettings()).regressions}
        detections += ("step", "search") in flagged
        wrong_steps += bool(flagged - {("step", "search"), ("requests", "requests")})
    assert false_alarms == 0, f"{false_alarms}/{len(SEEDS)} false alarms"
    assert detections == len(SEEDS), f"detected {detections}/{len(SEEDS)}"
    assert wrong_steps == 0


def test_error_rate_regression_is_absolute_and_significant():
    rng = np.random.default_rng(1)
    base = simulated(rng, 1000, llm_errors=0.02)
    worse = simulated(rng, 1000, llm_errors=0.08)
    rows = {(r.name, r.metric): r for r in compare(base, worse, BaselineSettings()).rows}
    row = rows[("llm", "error_rate")]
    assert row.regression and row.change == pytest.approx(row.new - row.base) and row.ci_low > 0
    assert not rows[("search", "error_rate")].regression


def test_results_repeat_and_small_samples_are_not_compared():
    rng = np.random.default_rng(2)
    base, new = simulated(rng, 100), simulated(rng, 100)
    assert compare(base, new, BaselineSettings()) == compare(base, new, BaselineSettings())
    assert compare(simulated(rng, 5), simulated(rng, 5), BaselineSettings()).rows == []


def test_order_statistic_draws_match_a_real_bootstrap():
    rng = np.random.default_rng(3)
    values = np.sort(rng.lognormal(5, 1, 300))
    drawn = _quantile_replicates(values, 0.95, np.random.default_rng(4), 20000)
    resampled = np.array([np.sort(rng.choice(values, len(values)))[int(np.floor(299 * 0.95))] for _ in range(4000)])
    assert abs(np.median(drawn) - np.median(resampled)) / np.median(resampled) < 0.02
    assert abs(np.std(drawn) - np.std(resampled)) / np.std(resampled) < 0.1

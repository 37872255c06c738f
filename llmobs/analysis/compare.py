"""Baseline against new: did requests or a step get slower or flakier, beyond tolerance and noise?

The same agent measured twice never gives identical p95s, so a change is a regression only when
it is both larger than the tolerance *and* its bootstrap confidence interval excludes zero. The
intervals are Bonferroni-adjusted for the number of metrics compared, so `confidence` bounds the
chance of any false alarm in the whole comparison, not of each metric alone.

Latency percentiles are compared as a relative change (new / base − 1). Each bootstrap replicate
draws the resampled order statistic from its exact distribution: for a resample of size n from the
sorted sample s, the r-th order statistic is s[⌈n·U⌉] with U ~ Beta(r, n − r + 1), so a thousand
replicates cost a thousand draws instead of a thousand resorts. A sampled log's values carry
weights: the sample is then drawn from their weighted distribution (s at the first cumulative
weight share ≥ U), which is the same draw when every weight is 1. Error rates are compared as an
absolute change, each replicate a binomial draw. Seeds are fixed per metric, so results repeat.
"""

from __future__ import annotations

import zlib
from itertools import pairwise

import numpy as np

from llmobs.analysis.gates import BaselineSettings
from llmobs.analysis.results import Comparison, ComparisonRow
from llmobs.analysis.stats import weighted_percentiles
from llmobs.read.columns import Columns

LATENCY_METRICS = (("p50_ms", 0.50), ("p95_ms", 0.95))


Sample = tuple[np.ndarray, np.ndarray, np.ndarray]  # durations, error flags, weights


def _samples(columns: Columns) -> dict[tuple[str, str], Sample]:
    """(scope, name) -> (durations, error flags, weights): requests, then each step by name."""
    spans = columns.spans
    weights = columns.span_weights()
    if weights is None:
        weights = np.ones(len(spans.trace))
    roots = spans.is_root
    out = {("requests", "requests"): (spans.duration_ms[roots], spans.is_error[roots], weights[roots])}
    child = ~roots
    names = spans.name[child]
    order = np.argsort(names, kind="stable")
    names, durations, errors, step_weights = names[order], spans.duration_ms[child][order], spans.is_error[child][order], weights[child][order]
    bounds = np.flatnonzero(np.r_[True, names[1:] != names[:-1], True])
    for start, end in pairwise(bounds):
        if end > start:
            out[("step", columns.names.values[names[start]])] = (durations[start:end], errors[start:end], step_weights[start:end])
    return out


def _rng(settings: BaselineSettings, *key: str) -> np.random.Generator:
    return np.random.default_rng([settings.seed, zlib.crc32("\x00".join(key).encode())])


def _quantile_replicates(sorted_values: np.ndarray, q: float, rng: np.random.Generator, count: int, shares: np.ndarray | None = None) -> np.ndarray:
    """Bootstrap replicates of the q-quantile; `shares` is the cumulative weight share of the sorted
    values (None: equal weights)."""
    n = len(sorted_values)
    rank = int(np.floor((n - 1) * q)) + 1  # the order statistic type-7 interpolation starts from
    u = rng.beta(rank, n - rank + 1, size=count)
    index = np.minimum(np.ceil(u * n).astype(np.int64), n) - 1 if shares is None else np.minimum(np.searchsorted(shares, u, side="left"), n - 1)
    return sorted_values[np.maximum(index, 0)]


def _sorted_with_shares(durations: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    order = np.argsort(durations, kind="stable")
    if (weights == 1).all():
        return durations[order], None
    running = np.cumsum(weights[order])
    return durations[order], running / running[-1]


def _percentile(durations: np.ndarray, weights: np.ndarray, q: float) -> float:
    values = weighted_percentiles(durations, None if (weights == 1).all() else weights, (q,))
    assert values is not None
    return values[0]


def compare(base: Columns, new: Columns, settings: BaselineSettings) -> Comparison:
    """Every metric of requests and of each step present in both data sets, with its interval."""
    base_samples, new_samples = _samples(base), _samples(new)
    compared = [
        key for key in base_samples
        if key in new_samples and min(len(base_samples[key][0]), len(new_samples[key][0])) >= settings.min_count
    ]
    alpha = (1 - settings.confidence) / max(1, len(compared) * (len(LATENCY_METRICS) + 1))
    rows: list[ComparisonRow] = []
    for key in compared:
        scope, name = key
        base_d, base_e, base_w = base_samples[key]
        new_d, new_e, new_w = new_samples[key]
        (base_sorted, base_shares), (new_sorted, new_shares) = _sorted_with_shares(base_d, base_w), _sorted_with_shares(new_d, new_w)
        for metric, q in LATENCY_METRICS:
            b = _percentile(base_d, base_w, q)
            x = _percentile(new_d, new_w, q)
            if b <= 0:
                continue
            rng = _rng(settings, scope, name, metric)
            b_rep = _quantile_replicates(base_sorted, q, rng, settings.resamples, base_shares)
            x_rep = _quantile_replicates(new_sorted, q, rng, settings.resamples, new_shares)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratios = np.where(b_rep > 0, x_rep / b_rep - 1, np.inf)
            low, high = np.quantile(ratios, [alpha / 2, 1 - alpha / 2])
            change = x / b - 1
            rows.append(
                ComparisonRow(
                    scope=scope, name=name, metric=metric, base=b, new=x, change=change,
                    ci_low=float(low), ci_high=float(high), base_count=len(base_d), new_count=len(new_d),
                    regression=bool(change > settings.tolerance and low > 0),
                )
            )
        b_rate, x_rate = float(np.average(base_e, weights=base_w)), float(np.average(new_e, weights=new_w))
        rng = _rng(settings, scope, name, "error_rate")
        diffs = rng.binomial(len(new_e), x_rate, settings.resamples) / len(new_e) - rng.binomial(len(base_e), b_rate, settings.resamples) / len(base_e)
        low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
        change = x_rate - b_rate
        rows.append(
            ComparisonRow(
                scope=scope, name=name, metric="error_rate", base=b_rate, new=x_rate, change=change,
                ci_low=float(low), ci_high=float(high), base_count=len(base_e), new_count=len(new_e),
                regression=bool(change > settings.error_rate_tolerance and low > 0),
            )
        )
    base_steps = {name for scope, name in base_samples if scope == "step"}
    new_steps = {name for scope, name in new_samples if scope == "step"}
    return Comparison(
        tolerance=settings.tolerance,
        error_rate_tolerance=settings.error_rate_tolerance,
        confidence=settings.confidence,
        rows=rows,
        missing_steps=sorted(base_steps - new_steps),
        new_steps=sorted(new_steps - base_steps),
    )

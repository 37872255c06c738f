"""The sketch is the `ddsketch` package's DDSketch, bin for bin, and its quantiles are within the
stated accuracy; distributions stay exact while they fit."""

from __future__ import annotations

import numpy as np
import pytest
from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping
from hypothesis import given
from hypothesis import strategies as st

from llmobs.analysis.sketch import RELATIVE_ACCURACY, Distribution, Sketch

durations = st.lists(st.one_of(st.just(0.0), st.floats(1e-3, 1e7, allow_nan=False)), min_size=1, max_size=300)


@given(durations)
def test_bins_are_the_ddsketch_packages(values):
    mapping = LogarithmicMapping(RELATIVE_ACCURACY)
    ours = Sketch()
    positive = np.array([v for v in values if v > ours.min_possible])
    assert ours.key(positive).tolist() == [mapping.key(v) for v in positive]
    assert all(ours.value(k) == mapping.value(k) for k in ours.key(positive).tolist())


@given(durations, durations, st.lists(st.floats(0.01, 0.999), min_size=1, max_size=3))
def test_merged_quantiles_equal_the_packages_and_stay_within_the_accuracy(first, second, quantiles):
    ours = Sketch().add(np.array(first)).merge(Sketch().add(np.array(second)))
    theirs = DDSketch(RELATIVE_ACCURACY)
    for value in first + second:
        theirs.add(value)
    every = np.sort(np.array(first + second))
    for q in quantiles:
        assert ours.quantile(q) == pytest.approx(theirs.get_quantile_value(q), rel=1e-12, abs=0)
        at_rank = every[int(np.floor(q * (len(every) - 1)))]  # the sketch's rank: q·(n − 1), rounded down
        assert abs(ours.quantile(q) - at_rank) <= RELATIVE_ACCURACY * at_rank + 1e-12


def test_weights_count_as_repeats():
    weighted = Sketch().add(np.array([1.0, 10.0, 100.0]), np.array([3.0, 1.0, 2.0]))
    repeated = Sketch().add(np.array([1.0] * 3 + [10.0] + [100.0] * 2))
    assert weighted.keys.tolist() == repeated.keys.tolist() and weighted.counts.tolist() == repeated.counts.tolist()
    assert [weighted.quantile(q) for q in (0.1, 0.5, 0.9)] == [repeated.quantile(q) for q in (0.1, 0.5, 0.9)]


def test_distributions_are_exact_while_they_fit_then_sketched():
    rng = np.random.default_rng(7)
    a, b = rng.lognormal(3, 1, 600), rng.lognormal(3, 1, 500)
    exact = Distribution.of(a, limit=2000).merge(Distribution.of(b, limit=2000), limit=2000)
    assert exact.exact and exact.quantiles() == [float(v) for v in np.percentile(np.r_[a, b], [50, 95, 99])]
    sketched = Distribution.of(a, limit=2000).merge(Distribution.of(b, limit=2000), limit=1000)
    assert not sketched.exact
    lower = np.percentile(np.r_[a, b], [50, 95, 99], method="lower")
    assert all(abs(got - want) <= RELATIVE_ACCURACY * want for got, want in zip(sketched.quantiles(), lower, strict=True))
    assert Distribution.of(np.empty(0)).quantiles() is None

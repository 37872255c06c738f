from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmobs.analysis.stats import grouped_percentiles, percentiles

durations = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)


@given(st.lists(durations, min_size=1, max_size=200))
def test_percentiles_match_numpy_linear(values):
    expected = np.percentile(np.array(values), [50, 95, 99])
    assert np.allclose(percentiles(np.array(values)), expected, rtol=1e-12, atol=1e-9)


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(-1, 6), durations), min_size=1, max_size=300))
def test_grouped_percentiles_match_numpy_per_group(pairs):
    """-1 is the code of spans without the grouping key."""
    codes = np.array([c for c, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs])
    groups, sizes, result = grouped_percentiles(codes, values)
    assert list(groups) == sorted(set(codes.tolist()))
    for group, size, row in zip(groups, sizes, result, strict=True):
        members = values[codes == group]
        assert size == len(members)
        assert np.allclose(row, np.percentile(members, [50, 95, 99]), rtol=1e-12, atol=1e-9)


@settings(max_examples=50, suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow])  # 300 values reach the many-groups branch
@given(st.lists(st.tuples(st.integers(0, 2000) | st.integers(2**15 - 5, 2**20), durations), min_size=300, max_size=600))
def test_grouped_percentiles_with_many_groups(pairs):
    """Codes past 16 bits are sorted as they are."""
    codes = np.array([c for c, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs])
    groups, _, result = grouped_percentiles(codes, values)
    for group, row in zip(groups, result, strict=True):
        assert np.allclose(row, np.percentile(values[codes == group], [50, 95, 99]), rtol=1e-12, atol=1e-9)


def test_no_values_means_no_answer():
    assert percentiles(np.array([])) is None
    groups, sizes, result = grouped_percentiles(np.array([], dtype=np.int64), np.array([]))
    assert len(groups) == 0 and len(sizes) == 0 and result.shape == (0, 3)

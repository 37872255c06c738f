"""Months of timestamps, found by a binary search among month starts, against numpy's own calendar."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from llmobs.analysis.usage import month_groups, months_of, sum_by_month

YEAR_1_US, YEAR_9999_END_US = -62_135_596_800_000_000, 253_402_300_799_999_999
MONTH_EDGES = st.sampled_from([0, -1, 2_678_400_000_000 - 1, 2_678_400_000_000, 951_782_400_000_000, 951_868_800_000_000 - 1])  # 1970-02, 2000-02-29


@given(st.lists(st.integers(YEAR_1_US, YEAR_9999_END_US) | MONTH_EDGES, max_size=60))
def test_months_and_groups_are_numpys(values):
    micros = np.array(values, dtype=np.int64)
    expected = micros.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
    assert months_of(micros).tolist() == expected.tolist()
    months, index = month_groups(micros)
    unique, inverse = np.unique(expected, return_inverse=True)
    assert months.tolist() == unique.tolist() and index.tolist() == inverse.tolist()


def test_sums_by_month_name_only_months_present():
    january, march = 0, 5_097_600_000_000  # 1970-01-01 and 1970-03-01
    assert sum_by_month(np.array([january, march, march + 1]), None) == {"1970-01": 1.0, "1970-03": 2.0}
    assert sum_by_month(np.array([march, january]), np.array([2.5, 1.0])) == {"1970-01": 1.0, "1970-03": 2.5}

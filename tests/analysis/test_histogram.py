"""The request-latency histogram against numpy's own on the bins it chose; a narrow spread gets
finer bins, and parts counted apart merge into the histogram of the whole."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from llmobs.analysis.requests import MIN_BINS, fine_bins, histogram_of

latencies = st.lists(st.floats(min_value=0.01, max_value=1e7, allow_nan=False), min_size=1, max_size=300)


@given(latencies, st.integers(0, 5))
def test_counts_match_numpy_on_the_chosen_edges(values, zeros):
    durations = np.array(values + [0.0] * zeros)
    bins = histogram_of(*fine_bins(durations, None))
    edges = np.array([b.low_ms for b in bins] + [bins[-1].high_ms])
    per_decade = round(1 / np.log10(edges[1] / edges[0]))
    assert per_decade in (4, 8, 16)
    assert len(bins) >= MIN_BINS or per_decade == 16  # the coarsest width that shows 12 bins, else the finest
    expected, _ = np.histogram(np.clip(durations, edges[0], None), bins=edges)
    assert [b.count for b in bins] == expected.astype(float).tolist()
    assert sum(b.count for b in bins) == len(durations)


@given(latencies, latencies)
@example([1.0], [9999999.999999998])  # a rounding below an edge: the same bin alone and together
def test_parts_merge_into_the_whole(a, b):
    whole = histogram_of(*fine_bins(np.array(a + b), None))
    (ca, la, ha, za), (cb, lb, hb, zb) = fine_bins(np.array(a), None), fine_bins(np.array(b), None)
    merged = {k: ca.get(k, 0.0) + cb.get(k, 0.0) for k in ca.keys() | cb.keys()}
    assert histogram_of(merged, min(la, lb), max(ha, hb), za + zb) == whole


def test_six_hundred_requests_within_one_decade_show_their_shape():
    rng = np.random.default_rng(7)
    bins = histogram_of(*fine_bins(rng.lognormal(np.log(1500), 0.4, 600), None))
    assert len(bins) >= MIN_BINS

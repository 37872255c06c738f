"""Percentiles as FORMAT.md defines them: linear interpolation between closest ranks (numpy's default
`linear` method, DuckDB's `quantile_cont`, Hyndman–Fan type 7), over the exact values; for one
group or for many groups at once.

Sampled data carries weights (a trace kept with probability p stands for 1/p traces). A weighted
percentile is type 7 over the values each repeated `weight` times: the value at 0-based rank r is
the first whose cumulative weight exceeds r, and ranks (W − 1)·q are interpolated as type 7 does.
With integer weights that is exactly type 7 of the repeated values; with every weight 1, type 7.
"""

from __future__ import annotations

import numpy as np

QUANTILES = (0.50, 0.95, 0.99)
MANY_GROUPS = 256


def percentiles(values: np.ndarray, quantiles: tuple[float, ...] = QUANTILES) -> list[float] | None:
    """Type-7 percentiles of `values`, or None when there are none."""
    if len(values) == 0:
        return None
    return [float(v) for v in np.percentile(values, [q * 100 for q in quantiles], method="linear")]


def weighted_percentiles(values: np.ndarray, weights: np.ndarray | None, quantiles: tuple[float, ...] = QUANTILES) -> list[float] | None:
    """Percentiles of `values` with frequency `weights` (see the module's docstring); None when empty."""
    if weights is None:
        return percentiles(values, quantiles)
    if len(values) == 0:
        return None
    order = np.argsort(values, kind="stable")
    result = _weighted_at(values[order], np.cumsum(weights[order]), np.zeros(1, dtype=np.int64), np.array([len(values)]), quantiles)
    return [float(v) for v in result[0]]


def _weighted_at(sorted_values: np.ndarray, cumulative: np.ndarray, starts: np.ndarray, ends: np.ndarray, quantiles: tuple[float, ...]) -> np.ndarray:
    """Weighted type-7 percentiles[group, quantile] of groups lying at [start, end) of values sorted
    within each group, from the running total of their weights over all groups."""
    base = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0.0)
    total = cumulative[ends - 1] - base
    positions = np.maximum(total[:, None] - 1, 0) * np.asarray(quantiles)
    low = np.floor(positions)

    def value_at(rank: np.ndarray) -> np.ndarray:
        index = np.searchsorted(cumulative, base[:, None] + rank, side="right")
        return sorted_values[np.clip(index, starts[:, None], ends[:, None] - 1)]

    below = value_at(low)
    return below + (positions - low) * (value_at(low + 1) - below)


def groups_of(keys: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(key, rows) of each distinct key, ascending; the rows in their order."""
    if len(keys) == 0:
        return []
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return [(int(ordered[start]), order[start:end]) for start, end in zip(starts, np.r_[starts[1:], len(keys)], strict=True)]


def grouped_percentiles(
    codes: np.ndarray, values: np.ndarray, quantiles: tuple[float, ...] = QUANTILES, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group codes, sizes, percentiles[group, quantile]) of `values` grouped by integer `codes`,
    weighted by `weights` when given (sizes stay the numbers of values).

    Values are grouped by one stable sort of the codes; each group is then put in order only at the
    ranks its quantiles need (a partition), and interpolated at (n-1)·q exactly as
    `np.percentile(..., method="linear")` does for that group alone.
    """
    if len(values) == 0:
        return np.empty(0, dtype=codes.dtype), np.empty(0, dtype=np.int64), np.empty((0, len(quantiles)))
    if weights is not None:
        order = np.lexsort((values, codes))
        sorted_codes = codes[order]
        starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
        ends = np.r_[starts[1:], len(values)]
        return sorted_codes[starts], ends - starts, _weighted_at(values[order], np.cumsum(weights[order]), starts, ends, quantiles)
    narrow = len(codes) and codes.min() >= -(2**15) and codes.max() < 2**15
    order = np.argsort(codes.astype(np.int16) if narrow else codes, kind="stable")  # 16-bit keys: numpy's radix sort
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(values)])
    positions = (sizes[:, None] - 1) * np.asarray(quantiles)  # where each quantile falls in its sorted group
    low = np.floor(positions).astype(np.int64)
    high = np.minimum(low + 1, sizes[:, None] - 1)
    if len(starts) <= MANY_GROUPS:  # a few large groups: each run only needs its values at `low` and `high` in place
        sorted_values = values[order]
        for group, (start, size) in enumerate(zip(starts, sizes, strict=True)):
            sorted_values[start : start + size].partition(np.unique(np.r_[low[group], high[group]]))
    else:
        sorted_values = values[np.lexsort((values, codes))]
    below = sorted_values[starts[:, None] + low]
    above = sorted_values[starts[:, None] + high]
    return sorted_codes[starts], sizes, below + (positions - low) * (above - below)

"""Percentiles as FORMAT.md defines them: linear interpolation between closest ranks (numpy's default
`linear` method, DuckDB's `quantile_cont`, Hyndman–Fan type 7), over the exact values; for one
group or for many groups at once."""

from __future__ import annotations

import numpy as np

QUANTILES = (0.50, 0.95, 0.99)
MANY_GROUPS = 256


def percentiles(values: np.ndarray, quantiles: tuple[float, ...] = QUANTILES) -> list[float] | None:
    """Type-7 percentiles of `values`, or None when there are none."""
    if len(values) == 0:
        return None
    return [float(v) for v in np.percentile(values, [q * 100 for q in quantiles], method="linear")]


def grouped_percentiles(
    codes: np.ndarray, values: np.ndarray, quantiles: tuple[float, ...] = QUANTILES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group codes, sizes, percentiles[group, quantile]) of `values` grouped by integer `codes`.

    Values are grouped by one stable sort of the codes; each group is then put in order only at the
    ranks its quantiles need (a partition), and interpolated at (n-1)·q exactly as
    `np.percentile(..., method="linear")` does for that group alone.
    """
    if len(values) == 0:
        return np.empty(0, dtype=codes.dtype), np.empty(0, dtype=np.int64), np.empty((0, len(quantiles)))
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

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

    One sort for all groups: each group's sorted run is interpolated at (n-1)·q, exactly as
    `np.percentile(..., method="linear")` does for that group alone.
    """
    if len(values) == 0:
        return np.empty(0, dtype=codes.dtype), np.empty(0, dtype=np.int64), np.empty((0, len(quantiles)))
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    sizes = np.diff(np.r_[starts, len(values)])
    if len(starts) <= MANY_GROUPS:  # a few large groups: sorting each run is faster than one lexsort
        sorted_values = values[order]
        for start, size in zip(starts, sizes, strict=True):
            sorted_values[start : start + size].sort()
    else:
        sorted_values = values[np.lexsort((values, codes))]
    result = np.empty((len(starts), len(quantiles)))
    for column, q in enumerate(quantiles):
        position = (sizes - 1) * q
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, sizes - 1)
        fraction = position - low
        below = sorted_values[starts + low]
        above = sorted_values[starts + high]
        result[:, column] = below + fraction * (above - below)
    return sorted_codes[starts], sizes, result

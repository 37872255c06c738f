"""Mergeable distributions, for percentiles computed in parts (on a Dask cluster): the exact values
while they fit, else a DDSketch.

The sketch is DDSketch (Masson, Rim and Lee, VLDB 2019) with the `ddsketch` package's
`LogarithmicMapping`: the same bins, keys and quantile rule, so its bins can be merged with that
package's sketches, and every quantile it gives is within `RELATIVE_ACCURACY` of the exact one
(relative to the value, for values above about 2.2e-308; smaller ones count as zero).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from llmobs.analysis.stats import QUANTILES, weighted_percentiles

RELATIVE_ACCURACY = 0.01
EXACT_LIMIT = 2_000_000  # values kept exactly per distribution (16 bytes each with weights); beyond, a sketch


class Sketch:
    """A weighted DDSketch of non-negative values (durations), bins as the `ddsketch` package's
    `DDSketch(relative_accuracy)` makes them."""

    def __init__(self, relative_accuracy: float = RELATIVE_ACCURACY) -> None:
        self.relative_accuracy = relative_accuracy
        mantissa = 2 * relative_accuracy / (1 - relative_accuracy)
        self.gamma = 1 + mantissa
        self.multiplier = math.log(2) / math.log1p(mantissa)
        self.min_possible = sys.float_info.min * self.gamma
        self.keys = np.empty(0, dtype=np.int64)  # ascending
        self.counts = np.empty(0, dtype=np.float64)
        self.zero_count = 0.0

    @property
    def count(self) -> float:
        return self.zero_count + float(self.counts.sum())

    def key(self, values: np.ndarray) -> np.ndarray:
        """Each value's bin: ceil(log_gamma(value)), with log_gamma computed as the package does
        (log(value) / log(2) times its multiplier)."""
        return np.ceil(np.log(values) / math.log(2) * self.multiplier).astype(np.int64)

    def value(self, key: int) -> float:
        """The value a bin stands for: within the relative accuracy of every value in it."""
        return math.pow(2.0, key / self.multiplier) * (2.0 / (1 + self.gamma))

    def add(self, values: np.ndarray, weights: np.ndarray | None = None) -> Sketch:
        values = np.asarray(values, dtype=np.float64)
        weights = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=np.float64)
        positive = values > self.min_possible
        self.zero_count += float(weights[~positive].sum())
        self._add_bins(self.key(values[positive]), weights[positive])
        return self

    def _add_bins(self, keys: np.ndarray, counts: np.ndarray) -> None:
        merged, inverse = np.unique(np.concatenate([self.keys, keys]), return_inverse=True)
        self.counts = np.bincount(inverse, weights=np.concatenate([self.counts, counts]), minlength=len(merged))
        self.keys = merged

    def merge(self, other: Sketch) -> Sketch:
        if other.relative_accuracy != self.relative_accuracy:
            raise ValueError("sketches of different accuracy cannot be merged")
        self.zero_count += other.zero_count
        self._add_bins(other.keys, other.counts)
        return self

    def quantile(self, q: float) -> float | None:
        """The package's rule: the bin holding rank q·(count − 1), counting bins from the lowest."""
        count = self.count
        if count == 0:
            return None
        rank = q * (count - 1)
        if rank < self.zero_count:
            return 0.0
        index = int(np.searchsorted(np.cumsum(self.counts), rank - self.zero_count, side="right"))
        return self.value(int(self.keys[min(index, len(self.keys) - 1)]))


@dataclass
class Distribution:
    """Values with their weights (None: each counts once), or their sketch once there are too
    many; merging keeps exact values for as long as they fit in EXACT_LIMIT."""

    values: np.ndarray | None
    weights: np.ndarray | None = None
    sketch: Sketch | None = None

    @classmethod
    def of(cls, values: np.ndarray, weights: np.ndarray | None = None, limit: int | None = None) -> Distribution:
        if len(values) > (EXACT_LIMIT if limit is None else limit):
            return cls(None, None, Sketch().add(values, weights))
        return cls(np.asarray(values, dtype=np.float64), None if weights is None else np.asarray(weights, dtype=np.float64))

    @property
    def exact(self) -> bool:
        return self.sketch is None

    def __len__(self) -> int:
        return len(self.values) if self.values is not None else 0

    def to_sketch(self) -> Sketch:
        return self.sketch if self.sketch is not None else Sketch().add(self.values, self.weights)  # type: ignore[arg-type]

    def merge(self, other: Distribution, limit: int | None = None) -> Distribution:
        if self.exact and other.exact and len(self) + len(other) <= (EXACT_LIMIT if limit is None else limit):
            weights = None
            if self.weights is not None or other.weights is not None:
                weights = np.concatenate([np.ones(len(self)) if self.weights is None else self.weights,
                                          np.ones(len(other)) if other.weights is None else other.weights])
            return Distribution(np.concatenate([self.values, other.values]), weights)  # type: ignore[list-item]
        sketch = Sketch().merge(self.to_sketch()).merge(other.to_sketch())
        return Distribution(None, None, sketch)

    def quantiles(self, quantiles: tuple[float, ...] = QUANTILES) -> list[float] | None:
        """Type-7 percentiles of the exact values (as the local engine computes them), or the sketch's."""
        if self.sketch is None:
            return weighted_percentiles(self.values, self.weights, quantiles)  # type: ignore[arg-type]
        if self.sketch.count == 0:
            return None
        return [self.sketch.quantile(q) for q in quantiles]  # type: ignore[misc]

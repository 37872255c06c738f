"""Cost of usage rows: `cost_usd` when the writer logged it, else tokens priced at the call's time.

Prices come from `genai-prices` (maintained, knows cache-token prices, long-context tiers and price
changes over time), overridden per model by `[tool.llmobs.prices."MODEL"]` tables. Tokens of a model
neither knows are *unpriced*: reported as such, never as $0.

Rows are priced in groups that share a model, the price table in force at their time (looked up per
UTC day, or per minute for time-of-day prices) and a long-context tier; within a group genai-prices
is linear in the token counts, so its per-token rates are read off a few exact calls and applied to
the whole group at once.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from llmobs.config import problem_lines
from llmobs.errors import ConfigError
from llmobs.read.columns import Columns, UsageColumns

DAY_US = 86_400_000_000
MINUTE_US = 60_000_000
PROBE = 1_000_000  # tokens used to read a per-token rate off genai-prices


class PriceOverride(BaseModel):
    """A user's prices for one model, in USD per million tokens; cache prices default to input's."""

    model_config = ConfigDict(extra="forbid")

    input_mtok: float = Field(ge=0)
    output_mtok: float = Field(ge=0)
    cache_read_mtok: float | None = Field(default=None, ge=0)
    cache_write_mtok: float | None = Field(default=None, ge=0)
    cache_write_1h_mtok: float | None = Field(default=None, ge=0)  # default: the cache-write price


def parse_overrides(table: Mapping[str, Any], source: str, prefix: str = "tool.llmobs.") -> dict[str, PriceOverride]:
    """`[tool.llmobs.prices]` (`[prices]` in llmobs.toml, `prefix` says which) as overrides keyed by
    model (or `provider/model`); each problem is one line naming the table and the key."""
    overrides: dict[str, PriceOverride] = {}
    problems: list[str] = []
    for model, prices in table.items():
        section = f'[{prefix}prices."{model}"]'
        if not isinstance(prices, dict):
            problems.append(f"{section} must be a table of prices (input_mtok = …, output_mtok = …)")
            continue
        try:
            overrides[model] = PriceOverride.model_validate(prices)
        except ValidationError as exc:
            problems += problem_lines(exc.errors(include_input=False), section, lambda parent: list(PriceOverride.model_fields),
                                      "a typo would silently leave a price unset")
    if problems:
        raise ConfigError("\n".join(f"{source}: {line}" for line in problems))
    return overrides


@dataclass
class PricedUsage:
    """Per usage row: its cost (NaN when unknown) and why a row has none."""

    cost_usd: np.ndarray  # float64 per usage row, NaN when not priced or usage missing
    missing_usage: np.ndarray  # bool: tokens not reported and no cost logged
    unpriced: np.ndarray  # bool: tokens reported, but no price known for the model
    unpriced_models: list[str]


def _missing_tokens(usage: UsageColumns) -> np.ndarray:
    return (usage.input_tokens < 0) | (usage.output_tokens < 0)


class Pricer:
    """Prices usage columns with genai-prices and the user's overrides."""

    def __init__(self, overrides: Mapping[str, PriceOverride] | None = None) -> None:
        self.overrides = dict(overrides or {})

    def price(self, columns: Columns) -> PricedUsage:
        usage = columns.usage
        cost = usage.cost_usd.copy()
        logged = ~np.isnan(cost)
        missing = ~logged & _missing_tokens(usage)
        unpriced = np.zeros(len(cost), dtype=bool)
        unpriced_models: list[str] = []
        to_price = ~logged & ~missing
        if to_price.any():
            keys = usage.provider.astype(np.int64) * (len(columns.models) + 1) + usage.model
            for key in np.unique(keys[to_price]):
                rows = np.flatnonzero(to_price & (keys == key))
                model = columns.models.values[usage.model[rows[0]]]
                provider = columns.providers.lookup(int(usage.provider[rows[0]]))
                if not self._price_rows(usage, rows, model, provider, cost):
                    unpriced[rows] = True
                    label = f"{provider}/{model}" if provider else model
                    if label not in unpriced_models:
                        unpriced_models.append(label)
        return PricedUsage(cost_usd=cost, missing_usage=missing, unpriced=unpriced, unpriced_models=sorted(unpriced_models))

    def _override_for(self, model: str, provider: str | None) -> PriceOverride | None:
        if provider is not None and f"{provider}/{model}" in self.overrides:
            return self.overrides[f"{provider}/{model}"]
        return self.overrides.get(model)

    def _price_rows(self, usage: UsageColumns, rows: np.ndarray, model: str, provider: str | None, out: np.ndarray) -> bool:
        override = self._override_for(model, provider)
        tokens_in = usage.input_tokens[rows].astype(np.float64)
        cache_read = usage.cache_read_tokens[rows].astype(np.float64)
        cache_write = usage.cache_write_tokens[rows].astype(np.float64)
        hour = np.minimum(usage.cache_write_1h_tokens[rows], usage.cache_write_tokens[rows]).astype(np.float64)
        tokens_out = usage.output_tokens[rows].astype(np.float64)
        if override is not None:
            cr = override.input_mtok if override.cache_read_mtok is None else override.cache_read_mtok
            cw = override.input_mtok if override.cache_write_mtok is None else override.cache_write_mtok
            cw_hour = cw if override.cache_write_1h_mtok is None else override.cache_write_1h_mtok
            uncached = np.maximum(tokens_in - cache_read - cache_write, 0)
            out[rows] = (uncached * override.input_mtok + cache_read * cr + (cache_write - hour) * cw + hour * cw_hour + tokens_out * override.output_mtok) / 1e6
            return True
        found = _find_model(model, provider)
        if found is None:
            return False
        provider_info, model_info = found
        thresholds = _tier_thresholds(model_info)
        bucket = np.searchsorted(np.asarray(thresholds, dtype=np.int64), usage.input_tokens[rows], side="left")
        period = MINUTE_US if _has_time_of_day_prices(model_info) else DAY_US
        periods, period_index = np.unique(usage.time_us[rows] // period, return_inverse=True)
        # Prices change only at a few dates: periods whose active price table is the same object
        # share one set of rates.
        tables: dict[int, int] = {}
        table_of_period = np.empty(len(periods), dtype=np.int64)
        for i, p in enumerate(periods):
            moment = datetime.fromtimestamp(int(p) * period / 1e6, tz=timezone.utc)
            table_of_period[i] = tables.setdefault(id(model_info.get_prices(moment)), len(tables))
        group_keys = table_of_period[period_index] * (len(thresholds) + 1) + bucket
        for group in np.unique(group_keys):
            members = np.flatnonzero(group_keys == group)
            first = rows[members[0]]
            moment = datetime.fromtimestamp(int(usage.time_us[first]) / 1e6, tz=timezone.utc)
            tier = int(bucket[members[0]])
            low = 0 if tier == 0 else thresholds[tier - 1] + 1
            high = thresholds[tier] if tier < len(thresholds) else None
            rates = _linear_rates(model_info, provider_info, moment, int(tokens_in[members].min()), low, high)
            if rates is None:
                return False
            fixed, r_in, r_cache_read, r_cache_write, r_cache_write_hour, r_out = rates
            uncached = tokens_in[members] - cache_read[members] - cache_write[members]
            out[rows[members]] = (fixed + uncached * r_in + cache_read[members] * r_cache_read + (cache_write[members] - hour[members]) * r_cache_write
                                  + hour[members] * r_cache_write_hour + tokens_out[members] * r_out)
        return True


def _find_model(model: str, provider: str | None) -> tuple[Any, Any] | None:
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    for provider_id in ([provider, None] if provider else [None]):
        try:
            return snapshot.find_provider_model(model, None, provider_id, None)
        except LookupError:
            continue
    return None


def _all_model_prices(model_info: Any) -> list[Any]:
    prices = model_info.prices
    return [prices] if not isinstance(prices, list) else [conditional.prices for conditional in prices]


def _tier_thresholds(model_info: Any) -> list[int]:
    from genai_prices.types import TieredPrices

    starts = {
        tier.start
        for model_price in _all_model_prices(model_info)
        for value in vars(model_price).values()
        if isinstance(value, TieredPrices)
        for tier in value.tiers
    }
    return sorted(starts)


def _has_time_of_day_prices(model_info: Any) -> bool:
    from genai_prices.types import TimeOfDateConstraint

    prices = model_info.prices
    return isinstance(prices, list) and any(isinstance(c.constraint, TimeOfDateConstraint) for c in prices)


def _linear_rates(
    model_info: Any, provider_info: Any, moment: datetime, representative: int, low: int, high: int | None
) -> tuple[float, float, float, float, float, float] | None:
    """(fixed, input, cache read, cache write, 1-hour cache write, output) USD per call/token for calls whose total input
    lies in [low, high] at `moment`, read off exact genai-prices calls at two input sizes there."""
    from genai_prices import Usage

    def total(**tokens: int) -> Decimal:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model_info.calc_price(Usage(**tokens), provider_info, genai_request_timestamp=moment).total_price

    base = max(representative, low)
    other = base + 1 if high is None or base + 1 <= high else base - 1
    if other < low:  # a bucket one token wide: nothing linear to read off
        return None
    try:
        at_base = total(input_tokens=base)
        at_other = total(input_tokens=other)
        r_in = (at_other - at_base) / (other - base)
        fixed = at_base - r_in * base
        size = max(base, 1)
        r_cache_read = (total(input_tokens=size, cache_read_tokens=size) - fixed) / size
        r_cache_write = (total(input_tokens=size, cache_write_tokens=size) - fixed) / size
        r_cache_write_hour = (total(input_tokens=size, cache_write_tokens=size, cache_write_1h_tokens=size) - fixed) / size
        r_out = (total(input_tokens=base, output_tokens=PROBE) - at_base) / PROBE
    except (ValueError, ArithmeticError, LookupError):
        return None
    return float(fixed), float(r_in), float(r_cache_read), float(r_cache_write), float(r_cache_write_hour), float(r_out)

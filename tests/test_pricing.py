from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from genai_prices import Usage, calc_price
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmobs.errors import ConfigError
from llmobs.pricing import PriceOverride, Pricer, parse_overrides
from llmobs.read.columns import ColumnBuilder, to_micros
from llmobs.records import Usage as UsageRecord

MODELS = [("claude-sonnet-4-5", "anthropic"), ("gpt-4o", "openai"), ("gpt-4o-mini", None), ("gemini-2.5-pro", "google")]


def columns_of(rows: list[dict]):
    builder = ColumnBuilder()
    for row in rows:
        builder.add(UsageRecord.model_validate({"type": "usage", "trace_id": "t", **row}, strict=False))
    return builder.finish()


row_strategy = st.builds(
    lambda model, cached_read, cached_write, uncached, out, day: {
        "model": model[0],
        "provider": model[1],
        "input_tokens": uncached + cached_read + cached_write,
        "output_tokens": out,
        "cache_read_tokens": cached_read,
        "cache_write_tokens": cached_write,
        "time": datetime(2025, 6, 1, tzinfo=timezone.utc).replace(day=day).isoformat(),
    },
    st.sampled_from(MODELS),
    st.integers(0, 150_000),
    st.integers(0, 50_000),
    st.integers(0, 300_000),
    st.integers(0, 50_000),
    st.integers(1, 28),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy, min_size=1, max_size=12))
def test_group_pricing_equals_genai_prices_per_call(rows):
    priced = Pricer().price(columns_of(rows))
    for row, cost in zip(rows, priced.cost_usd, strict=True):
        expected = calc_price(
            Usage(input_tokens=row["input_tokens"], output_tokens=row["output_tokens"],
                  cache_read_tokens=row["cache_read_tokens"], cache_write_tokens=row["cache_write_tokens"]),
            row["model"], provider_id=row["provider"], genai_request_timestamp=datetime.fromisoformat(row["time"]),
        ).total_price
        assert cost == pytest.approx(float(expected), rel=1e-9, abs=1e-12)


def test_logged_cost_wins_missing_usage_and_unknown_models_are_not_zero():
    rows = [
        {"model": "gpt-4o", "provider": "openai", "input_tokens": 1000, "output_tokens": 10, "cost_usd": 0.5, "time": "2026-01-01T00:00:00Z"},
        {"model": "gpt-4o", "provider": "openai", "input_tokens": None, "output_tokens": None, "time": "2026-01-01T00:00:00Z"},
        {"model": "my-private-llm", "input_tokens": 10, "output_tokens": 10, "time": "2026-01-01T00:00:00Z"},
    ]
    priced = Pricer().price(columns_of(rows))
    assert priced.cost_usd[0] == 0.5
    assert np.isnan(priced.cost_usd[1]) and priced.missing_usage.tolist() == [False, True, False]
    assert np.isnan(priced.cost_usd[2]) and priced.unpriced.tolist() == [False, False, True]
    assert priced.unpriced_models == ["my-private-llm"]


def test_overrides_price_by_model_or_provider_slash_model():
    rows = [
        {"model": "llama3.1", "provider": "ollama", "input_tokens": 2_000_000, "output_tokens": 1_000_000, "cache_read_tokens": 1_000_000, "time": "2026-01-01T00:00:00Z"},
        {"model": "gpt-4o", "provider": "openai", "input_tokens": 1_000_000, "output_tokens": 0, "time": "2026-01-01T00:00:00Z"},
    ]
    overrides = parse_overrides({"ollama/llama3.1": {"input_mtok": 1, "output_mtok": 2, "cache_read_mtok": 0.5}, "gpt-4o": {"input_mtok": 0, "output_mtok": 0}}, "pyproject.toml")
    priced = Pricer(overrides).price(columns_of(rows))
    assert priced.cost_usd.tolist() == [1.0 + 0.5 + 2.0, 0.0]


def test_bad_override_names_the_key():
    with pytest.raises(ConfigError) as caught:
        parse_overrides({"m": {"input_mtk": 1, "input_mtok": 1, "output_mtok": 1}, "n": {"input_mtok": -1, "output_mtok": 1}}, "pyproject.toml")
    assert str(caught.value).splitlines() == [
        "pyproject.toml: [tool.llmobs.prices.\"m\"] unknown key 'input_mtk' (did you mean 'input_mtok'?): a typo would silently leave a price unset",
        "pyproject.toml: [tool.llmobs.prices.\"n\"] input_mtok: must be at least 0",
    ]
    with pytest.raises(ConfigError, match="must be a table"):
        parse_overrides({"m": 3}, "pyproject.toml")
    assert PriceOverride(input_mtok=1, output_mtok=2).cache_read_mtok is None


def test_time_matters_for_prices():
    assert to_micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)) == 1_000_000

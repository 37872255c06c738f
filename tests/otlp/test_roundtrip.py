"""JSONL → OTLP → JSONL keeps every span, link, status and token count (hypothesis-generated traces)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmobs.otlp.encode import documents, otlp_spans, split_records
from llmobs.read.judge import decode_otlp
from llmobs.records import RECORD_ADAPTER

hex_id = lambda n: st.text("0123456789abcdef", min_size=n, max_size=n)  # noqa: E731
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False), names)
attr_values = st.one_of(scalars, st.lists(scalars, max_size=3))
attr_maps = st.dictionaries(st.text("abcdefgh.", min_size=1, max_size=8), attr_values, max_size=4)
moments = st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)).map(lambda d: d.replace(tzinfo=timezone.utc))
counts = st.one_of(st.none(), st.integers(0, 10**9))


@st.composite
def traces(draw) -> list[dict]:
    trace = draw(hex_id(32))
    span_ids = draw(st.lists(hex_id(16), min_size=1, max_size=6, unique=True))
    start = draw(moments)
    rate = draw(st.sampled_from([1.0, 1.0, 0.1, 0.37]))  # the probability a sampled trace was kept with
    records: list[dict] = []
    for index, span_id in enumerate(span_ids):
        failed = draw(st.booleans())
        record = {
            "type": "span", "trace_id": trace, "span_id": span_id,
            "parent_id": None if index == 0 else span_ids[draw(st.integers(0, index - 1))],
            "name": draw(names), "start": (start + timedelta(microseconds=draw(st.integers(0, 10**7)))).isoformat(),
            "duration_ms": draw(st.integers(0, 10**9)) / 1e6, "status": "error" if failed else "ok",
        }
        if draw(st.booleans()):
            record["kind"] = draw(st.sampled_from(["llm", "tool", "retrieval", "embedding", "custom"]))
        if failed:
            record["error"] = {"type": draw(names), "message": draw(st.one_of(st.none(), names))}
        if index > 0 and draw(st.booleans()):
            record["attempt"] = draw(st.integers(2, 5))
            record["retry_of"] = span_ids[0]
        attrs = draw(attr_maps)
        if attrs:
            record["attrs"] = attrs
        if rate < 1:
            record["sample_rate"] = rate
        records.append(record)
    for _ in range(draw(st.integers(0, 4))):
        record = {
            "type": "usage", "trace_id": trace, "span_id": draw(st.one_of(st.none(), st.sampled_from(span_ids))),
            "time": draw(moments).isoformat(), "provider": draw(st.one_of(st.none(), st.sampled_from(["openai", "anthropic"]))),
            "model": draw(st.sampled_from(["gpt-4o", "claude-sonnet-4-5", "llama3.1"])),
            "input_tokens": draw(counts), "output_tokens": draw(counts),
            "cache_read_tokens": draw(st.integers(0, 1000)), "cache_write_tokens": draw(st.integers(0, 1000)),
            "reasoning_tokens": draw(st.integers(0, 1000)),
        }
        record["cache_write_1h_tokens"] = draw(st.integers(0, record["cache_write_tokens"]))
        if draw(st.booleans()):
            record["cost_usd"] = draw(st.floats(0, 10, allow_nan=False))
        if draw(st.booleans()):
            record["scope"] = "span"
        if rate < 1:
            record["sample_rate"] = rate
        records.append(record)
    for _ in range(draw(st.integers(0, 2))):
        records.append({
            "type": "eval", "trace_id": trace, "time": draw(moments).isoformat(), "name": draw(names),
            "passed": draw(st.one_of(st.none(), st.booleans())), "score": draw(st.one_of(st.none(), st.floats(-1, 1))),
            "query": draw(st.one_of(st.none(), names)), "comment": draw(st.one_of(st.none(), names)),
        })
    return records


def normalise(record) -> dict:
    data = record.model_dump(mode="json")
    if data["type"] == "span":
        data["duration_ms"] = round(data["duration_ms"], 6)
    return data


def key(data: dict) -> tuple:
    return (data["type"], data.get("span_id") or "", data.get("time") or data.get("start"), json.dumps(data, sort_keys=True))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(traces(), min_size=1, max_size=3))
def test_jsonl_to_otlp_to_jsonl(batch):
    originals = [RECORD_ADAPTER.validate_python(r, strict=False) for trace in batch for r in trace]
    spans, homeless = otlp_spans(*split_records(originals))
    assert homeless == 0
    back = []
    for document in documents(spans, batch_size=4):
        records, problem, _ = decode_otlp(json.dumps(document).encode())
        assert problem is None
        back.extend(records)
    assert sorted(map(normalise, back), key=key) == sorted(map(normalise, originals), key=key)


def test_a_duration_past_otlps_last_moment_survives_the_round_trip():
    """1e308 ms is a valid duration, but no fixed64 end time holds it: the end is the last
    representable moment and the exact duration travels in an attribute."""
    record = {"type": "span", "trace_id": "a" * 32, "span_id": "b" * 16, "parent_id": None, "name": "n",
              "start": "2026-01-01T00:00:00Z", "duration_ms": 1e308, "status": "ok"}
    spans, _ = otlp_spans(*split_records([RECORD_ADAPTER.validate_json(json.dumps(record))]))
    assert int(spans[0]["endTimeUnixNano"]) == 2**64 - 1
    document = json.dumps(next(documents(spans, 10))).encode()
    back, problem, _ = decode_otlp(document)
    assert problem is None and back[0].duration_ms == 1e308 and back[0].attrs is None


def test_a_time_past_otlps_last_moment_is_a_clear_protobuf_error():
    """A valid span starting in 9999 fits OTLP/JSON's number strings but not protobuf's fixed64:
    sending it as protobuf is refused with a message, not a traceback."""
    import pytest

    from llmobs.otlp.send import ExportError, encode_body

    record = {"type": "span", "trace_id": "a" * 32, "span_id": "b" * 16, "parent_id": None, "name": "n",
              "start": "9999-12-31T23:59:59Z", "duration_ms": 5, "status": "ok"}
    spans, _ = otlp_spans(*split_records([RECORD_ADAPTER.validate_json(json.dumps(record))]))
    document = next(documents(spans, 10))
    assert encode_body(document, "http/json")[1] == "application/json"
    with pytest.raises(ExportError, match=r"after the year 2554 do not fit it: use --protocol http/json"):
        encode_body(document, "http/protobuf")

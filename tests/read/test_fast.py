"""The fast decoding path accepts and rejects exactly what the pydantic models do, with the same
values: every generated line goes through `load()` (fast path, fallback to the models) and through
a reference reader that asks the models alone, and the resulting columns and counts must agree."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmobs.read import load
from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.decode import UnknownType, decode_line
from llmobs.read.settle import settle

VALID_TIMES = st.sampled_from([
    "2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5Z", "2026-01-01T00:00:00.123456Z", "2026-12-31T23:59:59.999999Z",
    "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00+01:00", "2026-01-01T00:00:00z", "2026-01-01 00:00:00Z",
    "2026-01-01T00:00Z", "2026-01-01T00:00:00.1234567Z", "2026-01-01T00:00:00.9999995Z", "2026-01-01T00:00:00,5Z",
    "2024-02-29T12:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
])
ODD_TIMES = st.sampled_from([
    "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z", "2026-01-01T00:00:00", "2026-01-01",
    "yesterday", "", "2026-01-01T00:00:00.Z", "0000-01-01T00:00:00Z", "１２３４-01-01T00:00:00Z", "2025-02-29T00:00:00Z",
    "2026-01-01T00:00:00+25:00", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00 Z", "2026-01-01T00:00:00ZZ",
])
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=3),
    st.sampled_from([[], {}, [1], {"a": 1}, "", -1, 0, 2**53, 2**53 + 1, 1.5, "1", True]), ODD_TIMES,
)
COUNTS = st.one_of(st.none(), st.integers(0, 10**6), st.sampled_from([0, 2**53]))


@st.composite
def valid_record(draw) -> dict:
    kind = draw(st.sampled_from(["span", "span", "usage", "eval", "metric"]))
    out: dict = {"type": kind, "trace_id": draw(st.sampled_from(["t1", "t2", "a" * 32]))}
    if draw(st.booleans()):
        out["v"] = draw(st.sampled_from([1, 2]))
    if kind == "span":
        out.update(
            span_id=draw(st.sampled_from(["s1", "s2", "b" * 16])),
            parent_id=draw(st.sampled_from([None, "s1"])),
            name=draw(st.sampled_from(["search", "llm", "é", "[b]x[/b]"])),
            start=draw(VALID_TIMES),
            duration_ms=draw(st.floats(min_value=0, max_value=1e12, allow_nan=False) | st.integers(0, 10**6)),
            status=draw(st.sampled_from(["ok", "error"])),
        )
        if draw(st.booleans()):
            out["error"] = {"type": draw(st.sampled_from(["E", "TimeoutError"])), "message": draw(st.none() | st.text(max_size=3))}
        if draw(st.booleans()):
            out["attempt"] = draw(st.integers(1, 4))
            out["retry_of"] = "s1"
        if draw(st.booleans()):
            out["kind"] = draw(st.sampled_from(["llm", "tool", None]))
        if draw(st.booleans()):
            out["sample_rate"] = draw(st.sampled_from([0.1, 1, 1.0, 0.25]))
        if draw(st.booleans()):
            out["attrs"] = draw(st.dictionaries(st.sampled_from(["gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "input", "request.id", "x"]),
                                                st.none() | st.text(max_size=4) | st.integers(-(2**70), 2**70) | st.booleans() | st.lists(st.integers(), max_size=2), max_size=3))
    elif kind == "usage":
        out.update(time=draw(VALID_TIMES), model=draw(st.sampled_from(["gpt-4o", "m"])))
        for field in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "span_id", "provider", "cost_usd"):
            if draw(st.booleans()):
                out[field] = draw({"span_id": st.none() | st.just("s1"), "provider": st.none() | st.just("openai"),
                                   "cost_usd": st.none() | st.floats(0, 10, allow_nan=False)}.get(field, COUNTS))
        for field in ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens"):
            if out.get(field, 0) is None:
                out[field] = 0
        if draw(st.booleans()):
            out["scope"] = draw(st.sampled_from(["call", "span"]))
        if draw(st.booleans()):
            out["sample_rate"] = draw(st.sampled_from([0.1, 1, 0.5]))
    elif kind == "eval":
        out.update(time=draw(VALID_TIMES), name=draw(st.sampled_from(["correctness", "feedback"])))
        for field, values in (("passed", st.none() | st.booleans()), ("score", st.none() | st.floats(-1e6, 1e6)), ("query", st.none() | st.text(max_size=4))):
            if draw(st.booleans()):
                out[field] = draw(values)
    return out


@st.composite
def record(draw) -> dict:
    """A valid record, or one with a single thing wrong (a field replaced, dropped or inconsistent)."""
    out = draw(valid_record())
    mutation = draw(st.sampled_from(["none", "none", "replace", "replace", "drop", "retry"]))
    if mutation == "replace":
        out[draw(st.sampled_from(sorted(out)))] = draw(ODD_VALUES)
    elif mutation == "drop" and len(out) > 1:
        out.pop(draw(st.sampled_from(sorted(out))))
    elif mutation == "retry" and out["type"] == "span":
        out["attempt"] = draw(st.integers(2, 3))
        out.pop("retry_of", None)
    return out


@st.composite
def line(draw) -> bytes:
    text = json.dumps(draw(record()), ensure_ascii=draw(st.booleans()))
    mutation = draw(st.integers(0, 19))
    if mutation == 0:
        text = text[: draw(st.integers(0, len(text)))]
    elif mutation == 1:
        text = text.replace('"type"', '"type": "span", "type"', 1)
    elif mutation == 2:
        text = text + " "
    elif mutation == 3:
        text = "[" + text + "]"
    elif mutation == 4:
        text = text.replace('"duration_ms"', '"duration_ms": -1, "duration_ms"', 1)
    return text.encode()


def reference(lines: list[bytes]) -> tuple[Columns, dict[str, int]]:
    builder = ColumnBuilder(("x",))
    counts = {"records": 0, "bad": 0, "unknown": 0}
    for raw in lines:
        result = decode_line(raw)
        if isinstance(result, str):
            counts["bad"] += 1
        elif isinstance(result, UnknownType):
            counts["unknown"] += 1
        else:
            counts["records"] += 1
            builder.add(result)
    return settle(builder.finish())[0], counts


def rows(columns: Columns) -> list[list[tuple]]:
    s, u, e = columns.spans, columns.usage, columns.evals
    t = columns.trace_ids.lookup
    span_rows = sorted((
        (t(s.trace[i]), bool(s.is_root[i]), columns.names.lookup(s.name[i]), columns.kinds.lookup(s.kind[i]), int(s.start_us[i]),
         float(s.duration_ms[i]), bool(s.is_error[i]), columns.error_types.lookup(s.error_type[i]), int(s.attempt[i]), int(s.retry_of[i]),
         columns.models.lookup(s.model[i]), columns.attr_values.lookup(s.group["x"][i]), int(s.span_id[i]), int(s.parent[i]), float(s.sample_rate[i]))
        for i in range(len(s.trace))
    ), key=repr)
    usage_rows = sorted((
        (t(u.trace[i]), int(u.time_us[i]), columns.providers.lookup(u.provider[i]), columns.models.lookup(u.model[i]), int(u.input_tokens[i]),
         int(u.output_tokens[i]), int(u.cache_read_tokens[i]), int(u.cache_write_tokens[i]), int(u.reasoning_tokens[i]), repr(float(u.cost_usd[i])),
         int(u.span[i]), bool(u.span_scope[i]), float(u.sample_rate[i]))
        for i in range(len(u.trace))
    ), key=repr)
    eval_rows = sorted((
        (t(e.trace[i]), int(e.time_us[i]), columns.eval_names.lookup(e.name[i]), int(e.passed[i]), repr(float(e.score[i])), e.query[i])
        for i in range(len(e.trace))
    ), key=repr)
    weights = None if columns.trace_weight is None else {t(code): float(w) for code, w in enumerate(columns.trace_weight)}
    return [span_rows, usage_rows, eval_rows, weights]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(line(), min_size=1, max_size=25))
def test_fast_path_agrees_with_the_models(tmp_path_factory, lines):
    path: Path = tmp_path_factory.mktemp("fast") / "lines.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    data = load([str(path)], group_attrs=("x",), workers=1)
    expected, counts = reference(lines)
    assert (data.stats.records, data.stats.bad_lines, data.stats.skipped_unknown) == (counts["records"], counts["bad"], counts["unknown"])
    assert rows(data.columns) == rows(expected)


def test_a_valid_corpus_goes_through_the_fast_path_whole():
    """Sanity: on the logger's own output the fast path accepts everything (no silent fallback)."""
    from llmobs.read import BlockReader, InputStats

    stats = InputStats()
    reader = BlockReader(ColumnBuilder(), stats)
    slow: list[int] = []
    original = reader._judge_by_models
    reader._judge_by_models = lambda name, lines, indexes, first, torn: (slow.extend(indexes), original(name, lines, indexes, first, torn))  # type: ignore[method-assign]
    with open("sample_traces/agent_traces.jsonl", "rb") as handle:
        reader.read_stream("sample", handle)
    assert stats.records == 5110 and slow == []
    assert np.isfinite(reader.builder.finish().spans.duration_ms).all()


TIME_FIELDS = st.tuples(
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 24), st.integers(0, 60), st.integers(0, 60),
    st.integers(0, 999_999),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TIME_FIELDS, min_size=1, max_size=30), st.one_of(st.integers(0, 6), st.none()), st.integers(-1, 30))
def test_bulk_timestamps_agree_with_the_models(fields, fraction_digits, shifted):
    """Canonical-looking timestamps, possibly impossible (30 February, hour 24, year 0), and maybe
    one character moved from a string to the one before it: the bulk parse gives pydantic's
    verdict and value for each, whether all share one length or not."""
    from pydantic import AwareDatetime, TypeAdapter, ValidationError

    from llmobs.read.columns import to_micros
    from llmobs.read.fast import parse_times

    strings = []
    for index, (year, month, day, hour, minute, second, fraction) in enumerate(fields):
        digits = fraction_digits if fraction_digits is not None else index % 7
        tail = f".{fraction:06d}"[: digits + 1] if digits else ""
        strings.append(f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{tail}Z")
    if 0 <= shifted < len(strings) - 1:
        strings[shifted] += strings[shifted + 1][0]
        strings[shifted + 1] = strings[shifted + 1][1:]
    micros, rejected = parse_times(strings)
    models = TypeAdapter(AwareDatetime)
    for index, text in enumerate(strings):
        try:
            expected = to_micros(models.validate_json(json.dumps(text), strict=True))
        except ValidationError:
            assert index in rejected, text
            continue
        assert index not in rejected and int(micros[index]) == expected, text


def test_bulk_timestamps_are_not_fooled_by_neighbours_that_tile():
    """A string one character too long beside one too short still joins into valid rows; both
    must go to the models, which refuse them."""
    from llmobs.read.fast import parse_times

    strings = ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z2", "026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"]
    micros, rejected = parse_times(strings)
    assert rejected == [1, 2]
    assert int(micros[3]) - int(micros[0]) == 1_000_000


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(line(), min_size=1, max_size=12), st.sampled_from([b"\n", b"\n\n", b""]), st.integers(1, 97))
def test_lines_split_across_blocks_read_the_same(tmp_path_factory, monkeypatch, lines, ending, block_bytes):
    """Blocks cut lines anywhere: tiny blocks (every line spans several, a newline may end a block)
    give the same records, bad lines and line numbers as whole lines in one block."""
    import llmobs.read as reader

    path: Path = tmp_path_factory.mktemp("blocks") / "lines.jsonl"
    path.write_bytes(b"\n".join(lines) + ending)
    whole = load([str(path)], group_attrs=("x",), workers=1)
    monkeypatch.setattr(reader, "BLOCK_BYTES", block_bytes)
    cut = load([str(path)], group_attrs=("x",), workers=1)
    assert (cut.stats.lines, cut.stats.records, cut.stats.bad_lines) == (whole.stats.lines, whole.stats.records, whole.stats.bad_lines)
    assert cut.stats.bad_line_samples == whole.stats.bad_line_samples
    assert rows(cut.columns) == rows(whole.columns)

"""The native decoder accepts only what the pydantic models accept, with identical values, and
leaves every other line to them: generated and mutated lines are decoded one by one (the native
verdict against the models', line for line) and as whole files through every path (one thread,
byte ranges on two threads, a gzip stream, blocks cut anywhere), against a reference reader that
asks the models alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmobs import _native
from llmobs.read import load
from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.decode import columns_of
from llmobs.read.judge import UnknownType, decode_line
from llmobs.read.settle import settle

TIME_FIELDS = st.tuples(
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 24), st.integers(0, 60), st.integers(0, 60),
    st.integers(0, 999_999), st.integers(0, 21),
)
ZONES = st.sampled_from(["Z", "z", "+00:00", "-00:00", "+01:00", "-05:30", "+0100", "-0930", "+23:59", "+24:00", "+01:60", "+01", "UTC", ""])


@st.composite
def canonical_looking_time(draw) -> str:
    """`YYYY-MM-DDTHH:MM:SS[.f…]` and a zone, in the shapes RFC 3339 writers use (offsets, `t`, a
    space, up to 21 fraction digits), possibly naming an impossible time or zone (30 February,
    hour 24, year 0, an offset of a day)."""
    year, month, day, hour, minute, second, fraction, digits = draw(TIME_FIELDS)
    tail = f".{fraction:06d}{fraction:015d}"[: digits + 1] if digits else ""
    separator = draw(st.sampled_from("TTt "))
    return f"{year:04d}-{month:02d}-{day:02d}{separator}{hour:02d}:{minute:02d}:{second:02d}{tail}{draw(ZONES)}"

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
    st.sampled_from([[], {}, [1], {"a": 1}, "", -1, 0, 2**53, 2**53 + 1, 1.5, "1", True, [[1]], [{}], 2**31 - 1, 2**31, 2.0**-56, 2.0**-57]),
    ODD_TIMES, canonical_looking_time(), st.sampled_from(["0x0000000000000a", "00000000_000000a", "ABCDEF0123456789", " 123456789abcdef", "-123456789abcdef"]),
)
IDS = st.sampled_from(["s1", "s2", "b" * 16, "ABCDEF0123456789", "0x0000000000000a", "é" * 16, "", "12345678901234567"])
TEXTS = st.text(max_size=4) | st.sampled_from(["é" * 499 + "xy", "a" * 600, "😀" * 501, "[b]x[/b]"])
COUNTS = st.one_of(st.none(), st.integers(0, 10**6), st.sampled_from([0, 2**53]))


@st.composite
def valid_record(draw) -> dict:
    kind = draw(st.sampled_from(["span", "span", "usage", "eval", "metric"]))
    out: dict = {"type": kind, "trace_id": draw(st.sampled_from(["t1", "t2", "a" * 32]))}
    if draw(st.booleans()):
        out["v"] = draw(st.sampled_from([1, 2]))
    if kind == "span":
        out.update(
            span_id=draw(IDS),
            parent_id=draw(st.sampled_from([None, None, "s1"]) | IDS),
            name=draw(st.sampled_from(["search", "llm", "é", "[b]x[/b]"])),
            start=draw(VALID_TIMES | canonical_looking_time()),
            duration_ms=draw(st.floats(min_value=0, max_value=1e12, allow_nan=False) | st.integers(0, 10**6)),
            status=draw(st.sampled_from(["ok", "error"])),
        )
        if draw(st.booleans()):
            out["error"] = {"type": draw(st.sampled_from(["E", "TimeoutError"])), "message": draw(st.none() | st.text(max_size=3))}
        if draw(st.booleans()):
            out["attempt"] = draw(st.integers(1, 4))
            out["retry_of"] = draw(IDS)
        if draw(st.booleans()):
            out["kind"] = draw(st.sampled_from(["llm", "tool", None]))
        if draw(st.booleans()):
            out["sample_rate"] = draw(st.sampled_from([0.1, 1, 1.0, 0.25]))
        if draw(st.booleans()):
            out["attrs"] = draw(st.dictionaries(st.sampled_from(["gen_ai.request.model", "gen_ai.response.model", "llm.model_name", "input", "request.id", "x", "y"]),
                                                st.none() | TEXTS | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.booleans()
                                                | st.lists(st.integers() | st.none() | st.text(max_size=2), max_size=2), max_size=4))
    elif kind == "usage":
        out.update(time=draw(VALID_TIMES | canonical_looking_time()), model=draw(st.sampled_from(["gpt-4o", "m"])))
        for field in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens", "span_id", "provider", "cost_usd"):
            if draw(st.booleans()):
                out[field] = draw({"span_id": st.none() | IDS, "provider": st.none() | st.just("openai"),
                                   "cost_usd": st.none() | st.floats(0, 10, allow_nan=False)}.get(field, COUNTS))
        for field in ("cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens"):
            if out.get(field, 0) is None:
                out[field] = 0
        if draw(st.booleans()):
            out["scope"] = draw(st.sampled_from(["call", "span"]))
        if draw(st.booleans()):
            out["sample_rate"] = draw(st.sampled_from([0.1, 1, 0.5]))
    elif kind == "eval":
        out.update(time=draw(VALID_TIMES | canonical_looking_time()), name=draw(st.sampled_from(["correctness", "feedback"])))
        for field, values in (("passed", st.none() | st.booleans()), ("score", st.none() | st.floats(-1e6, 1e6)), ("query", st.none() | TEXTS),
                              ("comment", st.none() | st.text(max_size=3) | st.integers()), ("span_id", st.none() | IDS)):
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


DEEP = "[" * 200 + "]" * 200


@st.composite
def line(draw) -> bytes:
    """A record's JSON, possibly damaged in one of the ways real files are: cut, duplicated keys,
    whitespace, a BOM or CR, escapes (of surrogates too), bytes that are not UTF-8, deep nesting,
    trailing bytes, numbers spelled unusually."""
    text = json.dumps(draw(record()), ensure_ascii=draw(st.booleans()))
    mutation = draw(st.integers(0, 39))
    raw = None
    if mutation == 0:
        text = text[: draw(st.integers(0, len(text)))]
    elif mutation == 1:
        text = text.replace('"type"', '"type": "span", "type"', 1)
    elif mutation == 2:
        text = draw(st.sampled_from([" ", "\t", "\r", " \r"])) + text + draw(st.sampled_from([" ", "\r", "\t", ""]))
    elif mutation == 3:
        text = "[" + text + "]"
    elif mutation == 4:
        text = text.replace('"duration_ms"', '"duration_ms": -1, "duration_ms"', 1)
    elif mutation == 5:
        raw = b"\xef\xbb\xbf" + text.encode()
    elif mutation == 6:
        text = text[:-1] + ', "extra": ' + draw(st.sampled_from([DEEP, '"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', '{"a": [1, {"b": null}]}', "1e400", "-0"])) + "}"
    elif mutation == 7:
        text = text + draw(st.sampled_from(["x", "{}", " 1", "\u00a0"]))
    elif mutation == 8:
        position = draw(st.integers(0, len(text)))
        raw = text.encode()[:position] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00", b"\\"])) + text.encode()[position:]
    elif mutation == 9:
        text = text.replace('"attrs": {', '"attrs": {"x": 1, "x": "dup", ', 1).replace('"attrs": {', '"attrs": {"input": 5, ', 1)
    elif mutation == 10:
        for old, new in ((': 1,', ': 1.0,'), (': 1}', ': 1e0}'), (': 0,', ': -0,'), (': 10,', ': 1E1,')):
            text = text.replace(old, new, 1)
    elif mutation == 11:
        text = text.replace('"', '"\\u0074' if draw(st.booleans()) else '"', 1).replace("\\u0074type", "type", 1)
        text = text.replace('"name": "', '"name": "\\u00e9\\n\\"', 1)
    elif mutation == 12:
        text = text.replace('"duration_ms": ', '"duration_ms": 1' + "0" * draw(st.integers(15, 400)) + ', "_": ', 1)
    return raw if raw is not None else text.encode()


GROUPS = ("x", "y", "gen_ai.request.model")  # a group attribute may also be one the columns read a model from


def reference(lines: list[bytes]) -> tuple[Columns, dict[str, int]]:
    """What the models alone make of the lines."""
    builder = ColumnBuilder(GROUPS)
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
         columns.models.lookup(s.model[i]), tuple(columns.attr_values.lookup(s.group[g][i]) for g in GROUPS), int(s.span_id[i]), int(s.parent[i]),
         float(s.sample_rate[i]), columns.root_input.get(s.trace[i]) if s.is_root[i] else None, columns.root_request_id.get(s.trace[i]) if s.is_root[i] else None)
        for i in range(len(s.trace))
    ), key=repr)
    usage_rows = sorted((
        (t(u.trace[i]), int(u.time_us[i]), columns.providers.lookup(u.provider[i]), columns.models.lookup(u.model[i]), int(u.input_tokens[i]),
         int(u.output_tokens[i]), int(u.cache_read_tokens[i]), int(u.cache_write_tokens[i]), int(u.cache_write_1h_tokens[i]), int(u.reasoning_tokens[i]), repr(float(u.cost_usd[i])),
         int(u.span[i]), bool(u.span_scope[i]), float(u.sample_rate[i]))
        for i in range(len(u.trace))
    ), key=repr)
    eval_rows = sorted((
        (t(e.trace[i]), int(e.time_us[i]), columns.eval_names.lookup(e.name[i]), int(e.passed[i]), repr(float(e.score[i])), e.query[i])
        for i in range(len(e.trace))
    ), key=repr)
    weights = None if columns.trace_weight is None else {t(code): float(w) for code, w in enumerate(columns.trace_weight)}
    return [span_rows, usage_rows, eval_rows, weights]


def native_alone(line: bytes) -> tuple[Columns | None, bool]:
    """The native decoder's columns for one line, and whether it left the line to the models."""
    data = line + b"\n"
    decoder = _native.StreamDecoder(list(GROUPS))
    lines, unsure = decoder.feed(data, [(0, len(data))], 1)
    assert lines == [1]
    return settle(columns_of(decoder.finish(), GROUPS))[0], bool(unsure)


@settings(max_examples=1500, deadline=None)
@given(line())
def test_each_line_the_native_decoder_accepts_the_models_accept_alike(line):
    columns, left_to_models = native_alone(line)
    expected, counts = reference([line])
    if left_to_models:
        assert rows(columns) == [[], [], [], None]
        return
    assert counts["records"] == 1, f"accepted natively, refused by the models: {line!r}"
    assert rows(columns) == rows(expected)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(line(), min_size=1, max_size=25), st.sampled_from(["one thread", "two threads", "gzip"]))
def test_files_read_as_the_models_read_them(tmp_path_factory, monkeypatch, lines, path_taken):
    import gzip

    from llmobs.read import plan

    directory: Path = tmp_path_factory.mktemp("lines")
    body = b"\n".join(lines) + b"\n"
    path = directory / ("lines.jsonl.gz" if path_taken == "gzip" else "lines.jsonl")
    path.write_bytes(gzip.compress(body) if path_taken == "gzip" else body)
    monkeypatch.setattr(plan, "PARALLEL_MIN_BYTES", 0)
    data = load([str(path)], group_attrs=GROUPS, threads=2 if path_taken == "two threads" else 1)
    expected, counts = reference(lines)
    assert (data.stats.records, data.stats.bad_lines, data.stats.skipped_unknown) == (counts["records"], counts["bad"], counts["unknown"])
    assert rows(data.columns) == rows(expected)


def test_the_loggers_own_output_is_decoded_natively_whole():
    """On the logger's own output the native decoder is sure of every line: none goes to the models."""
    with open("sample_traces/agent_traces.jsonl", "rb") as handle:
        data = handle.read()
    decoder = _native.StreamDecoder([])
    lines, unsure = decoder.feed(data, [(0, len(data))], 1)
    columns = columns_of(decoder.finish(), ())
    assert (lines, list(unsure)) == ([5110], [])
    assert len(columns.spans.trace) + len(columns.usage.trace) + len(columns.evals.trace) == 5110
    assert np.isfinite(columns.spans.duration_ms).all()


@st.composite
def valid_in_another_shape(draw) -> bytes:
    """A valid record as other writers write it: a timestamp with an offset, `t` or a space and any
    fraction length up to 18 digits, ids of any form, keys in any order and escaped, non-ASCII
    text escaped."""
    year, month, day = draw(st.integers(1, 9998)), draw(st.integers(1, 12)), draw(st.integers(1, 28))
    hour, minute, second = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59))
    digits = draw(st.integers(0, 18))
    fraction = "." + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=digits, max_size=digits))) if digits else ""
    zone = draw(st.sampled_from(["Z", "z", "+00:00", "-00:00", "+05:30", "-0800", "+2359", "-23:59"]))
    moment = f"{year:04d}-{month:02d}-{day:02d}{draw(st.sampled_from('Tt '))}{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"
    ids = st.sampled_from(["4bf92f3577b34da6a3ce929d0e0e4736", "550e8400-e29b-41d4-a716-446655440000", "req_42", "s-é", "b" * 16])
    kind = draw(st.sampled_from(["span", "usage", "eval"]))
    if kind == "span":
        record = {"type": "span", "trace_id": draw(ids), "span_id": draw(ids), "parent_id": draw(st.none() | ids), "name": "llm é",
                  "start": moment, "duration_ms": draw(st.floats(0, 1e6)), "status": "ok", "attrs": {"café": "x", "gen_ai.request.model": "gpt-4o"}}
    elif kind == "usage":
        record = {"type": "usage", "trace_id": draw(ids), "span_id": draw(st.none() | ids), "time": moment, "model": "gpt-4o", "provider": None,
                  "input_tokens": draw(st.none() | st.integers(0, 10**6)), "output_tokens": 3, "cost_usd": None}
    else:
        record = {"type": "eval", "trace_id": draw(ids), "time": moment, "name": "correctness", "passed": False, "score": None, "query": "où ?"}
    items = draw(st.permutations(list(record.items())))
    text = json.dumps(dict(items), ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text.replace('"trace_id"', '"tr\\u0061ce_id"', 1)
    return text.encode()


@settings(max_examples=500, deadline=None)
@given(valid_in_another_shape())
def test_valid_records_in_every_common_shape_are_decoded_natively_as_the_models_read_them(line):
    columns, left_to_models = native_alone(line)
    assert not left_to_models, f"left to the models: {line!r}"
    expected, counts = reference([line])
    assert counts["records"] == 1 and rows(columns) == rows(expected)


@settings(max_examples=150, deadline=None)
@given(st.lists(line(), min_size=1, max_size=12), st.sampled_from([b"\n", b"\n\n", b""]), st.lists(st.integers(0, 12), max_size=4), st.integers(1, 3))
def test_chunks_on_threads_read_as_one_chunk(lines, ending, cuts, threads):
    """A stream cut into whole-line chunks, fed in batches and decoded on threads, gives the same
    records, and the same lines left to the models at the same line numbers, as the stream decoded
    whole in one chunk."""
    body = b"\n".join(lines) + ending
    starts = [0]
    for cut in sorted(set(cuts)):
        at = body.find(b"\n", starts[-1], len(body) - 1) if cut else -1
        for _ in range(cut - 1):
            at = body.find(b"\n", at + 1, len(body) - 1) if at >= 0 else -1
        if at >= 0 and at + 1 > starts[-1]:
            starts.append(at + 1)
    chunks = [(a, b) for a, b in zip(starts, [*starts[1:], len(body)], strict=True) if b > a]
    whole, cut = _native.StreamDecoder(list(GROUPS)), _native.StreamDecoder(list(GROUPS))
    whole_lines, whole_unsure = whole.feed(body, [(0, len(body))], 1)
    half = len(chunks) // 2  # fed in two batches, as a stream is: the columns accumulate
    first_lines, first_unsure = cut.feed(body, chunks[:half], threads)
    later_lines, later_unsure = cut.feed(body, chunks[half:], threads)
    cut_lines = first_lines + later_lines
    cut_unsure = first_unsure + [(half + index, line, text, torn) for index, line, text, torn in later_unsure]
    whole_raw, cut_raw = whole.finish(), cut.finish()
    firsts = [sum(cut_lines[:index]) for index in range(len(cut_lines))]
    assert sum(cut_lines) == sum(whole_lines)
    assert [(firsts[i] + line, text, torn) for i, line, text, torn in cut_unsure] == [(line, text, torn) for _, line, text, torn in whole_unsure]
    with pytest.raises(ValueError, match="outside the data"):
        _native.StreamDecoder([]).feed(body, [(0, len(body) + 1)], 1)
    assert rows(columns_of(cut_raw, GROUPS)) == rows(columns_of(whole_raw, GROUPS))


def test_the_span_kernels_refuse_columns_that_do_not_fit_together():
    """The kernels index one column by another's rows: mismatched input is refused, never read out of bounds."""
    ids = np.array([1, 2], dtype=np.int64)
    with pytest.raises(ValueError, match="differ in length"):
        _native.parent_rows(np.array([0], dtype=np.int32), ids, ids)
    with pytest.raises(ValueError, match="out of range"):
        _native.self_times(np.array([-1, 5], dtype=np.int32), ids, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="contiguous"):
        _native.repeated_rows(np.array([0, 0, 0, 0], dtype=np.int32)[::2], ids)
    assert _native.repeated_rows(np.array([0, 0], dtype=np.int32), np.array([7, 7], dtype=np.int64)).tolist() == [0, 1]

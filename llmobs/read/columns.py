"""Records turned into columns once: numpy arrays plus string tables, so analyses never touch
millions of Python objects and memory is bounded by the columns, not by the files.

Strings that repeat (trace ids, step names, models, error types) are stored as integer codes into a
`Strings` table. Records arrive in batches (from the fast path or the models) and become numpy
chunks at once; `merge_columns` joins the columns built by several worker processes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from llmobs.records import Eval, Span, Usage

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
NONE_CODE = -1
MISSING_TOKENS = -1
MODEL_ATTRS = ("gen_ai.request.model", "gen_ai.response.model", "llm.model_name")
INPUT_PREVIEW_CHARS = 500


def to_micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch, exactly (no float rounding)."""
    return (moment - EPOCH) // MICROSECOND


def id64(identifier: str) -> int:
    """A span id as a signed 64-bit integer: the W3C hex value itself, else a stable hash."""
    if len(identifier) == 16:
        try:
            value = int(identifier, 16)
            return value - (1 << 64) if value >= (1 << 63) else value
        except ValueError:
            pass
    return int.from_bytes(hashlib.blake2b(identifier.encode(), digest_size=8).digest(), "little", signed=True)


class Strings:
    """An interning table: each distinct string gets the next integer code (None is -1).

    The dict alone holds the table: it keeps insertion order, so the list of values is its keys.
    """

    def __init__(self) -> None:
        self.codes: dict[str | None, int] = {None: NONE_CODE}
        self._values: list[str] = []

    def code(self, value: str | None) -> int:
        codes = self.codes
        return codes.setdefault(value, len(codes) - 1)

    def code_all(self, values: Sequence[str | None]) -> np.ndarray:
        """Codes of many values at once."""
        codes = self.codes
        intern = codes.setdefault
        return np.array([intern(v, len(codes) - 1) for v in values], dtype=np.int32)

    @property
    def values(self) -> list[str]:
        if len(self._values) != len(self.codes) - 1:
            self._values = [value for value in self.codes if value is not None]  # type: ignore[misc]
        return self._values

    def __len__(self) -> int:
        return len(self.codes) - 1

    def lookup(self, code: int) -> str | None:
        return None if code < 0 else self.values[code]

    def __getstate__(self) -> dict[str, object]:
        return {"values": self.values}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._values = list(state["values"])  # type: ignore[call-overload]
        self.codes = {None: NONE_CODE, **{value: code for code, value in enumerate(self._values)}}


@dataclass
class SpanColumns:
    trace: np.ndarray  # int32 code into Columns.trace_ids
    is_root: np.ndarray  # bool
    name: np.ndarray  # int32 code into Columns.names
    kind: np.ndarray  # int32 code into Columns.kinds, -1 none
    start_us: np.ndarray  # int64
    duration_ms: np.ndarray  # float64
    is_error: np.ndarray  # bool
    error_type: np.ndarray  # int32 code into Columns.error_types, -1 none
    attempt: np.ndarray  # int32
    retry_of: np.ndarray  # int64 id64 of retry_of, 0 when none
    model: np.ndarray  # int32 code into Columns.models from the span's model attribute, -1 none
    group: dict[str, np.ndarray] = field(default_factory=dict)  # attr name -> int32 code into Columns.attr_values


@dataclass
class UsageColumns:
    trace: np.ndarray
    time_us: np.ndarray
    provider: np.ndarray  # int32 code into Columns.providers
    model: np.ndarray  # int32 code into Columns.models
    input_tokens: np.ndarray  # int64, -1 when not reported
    output_tokens: np.ndarray
    cache_read_tokens: np.ndarray
    cache_write_tokens: np.ndarray
    reasoning_tokens: np.ndarray
    cost_usd: np.ndarray  # float64, NaN when not logged


@dataclass
class EvalColumns:
    trace: np.ndarray
    time_us: np.ndarray
    name: np.ndarray  # int32 code into Columns.eval_names
    passed: np.ndarray  # int8: 1 passed, 0 failed, -1 null
    score: np.ndarray  # float64, NaN when null
    query: list[str | None]  # kept for failed evals only (the answers that need their question shown)


STRING_TABLES = ("trace_ids", "names", "kinds", "error_types", "models", "providers", "eval_names", "attr_values")


@dataclass
class Columns:
    """Everything the analyses need from a data set, column-wise."""

    spans: SpanColumns
    usage: UsageColumns
    evals: EvalColumns
    trace_ids: Strings
    names: Strings
    kinds: Strings
    error_types: Strings
    models: Strings
    providers: Strings
    eval_names: Strings
    attr_values: Strings
    root_input: dict[int, str]  # trace code -> the root span's `input` attribute (preview)
    root_request_id: dict[int, str]  # trace code -> the root span's `request.id` attribute


def _model_of(attrs: dict[str, Any]) -> str | None:
    for key in MODEL_ATTRS:
        value = attrs.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _float_or_nan(values: list[float | None]) -> np.ndarray:
    return np.array([float("nan") if v is None else v for v in values], dtype=np.float64)


def _tokens(values: list[int | None]) -> np.ndarray:
    return np.array([MISSING_TOKENS if v is None else v for v in values], dtype=np.int64)


class ColumnBuilder:
    """Accumulates batches of records (pydantic models or fast-path structs: same attribute names)
    as numpy chunks; `finish()` concatenates them into `Columns`."""

    def __init__(self, group_attrs: tuple[str, ...] = ()) -> None:
        self.group_attrs = group_attrs
        self.trace_ids = Strings()
        self.names = Strings()
        self.kinds = Strings()
        self.error_types = Strings()
        self.models = Strings()
        self.providers = Strings()
        self.eval_names = Strings()
        self.attr_values = Strings()
        self.root_input: dict[int, str] = {}
        self.root_request_id: dict[int, str] = {}
        self.span_chunks: list[dict[str, np.ndarray]] = []
        self.usage_chunks: list[dict[str, np.ndarray]] = []
        self.eval_chunks: list[dict[str, np.ndarray]] = []
        self.eval_queries: list[str | None] = []

    def add(self, record: Span | Usage | Eval) -> None:
        """One validated record (slow, for small inputs such as a single trace)."""
        if isinstance(record, Span):
            self.add_spans([record], np.array([to_micros(record.start)], dtype=np.int64))
        elif isinstance(record, Usage):
            self.add_usage([record], np.array([to_micros(record.time)], dtype=np.int64))
        else:
            self.add_evals([record], np.array([to_micros(record.time)], dtype=np.int64))

    def add_spans(self, spans: Sequence[Any], start_us: np.ndarray) -> None:
        if not spans:
            return
        trace = self.trace_ids.code_all([s.trace_id for s in spans])
        parents = [s.parent_id for s in spans]
        is_root = np.array([p is None for p in parents], dtype=bool)
        is_error = np.array([s.status == "error" for s in spans], dtype=bool)
        error_type = np.full(len(spans), NONE_CODE, dtype=np.int32)
        for index in np.flatnonzero(is_error):
            error = spans[index].error
            error_type[index] = self.error_types.code(error.type if error is not None else "unspecified")
        retry_of = np.zeros(len(spans), dtype=np.int64)
        attempt = np.array([s.attempt for s in spans], dtype=np.int32)
        for index in np.flatnonzero(attempt != 1):
            origin = spans[index].retry_of
            if origin is not None:
                retry_of[index] = id64(origin)
        attrs = [s.attrs for s in spans]
        chunk = {
            "trace": trace,
            "is_root": is_root,
            "name": self.names.code_all([s.name for s in spans]),
            "kind": self.kinds.code_all([s.kind for s in spans]),
            "start_us": start_us,
            "duration_ms": np.array([s.duration_ms for s in spans], dtype=np.float64),
            "is_error": is_error,
            "error_type": error_type,
            "attempt": attempt,
            "retry_of": retry_of,
            "model": self.models.code_all([_model_of(a) if a else None for a in attrs]),
        }
        for name in self.group_attrs:
            values = [a.get(name) if a else None for a in attrs]
            chunk["group:" + name] = self.attr_values.code_all([None if v is None else str(v) for v in values])
        for index in np.flatnonzero(is_root):
            root_attrs = attrs[index]
            if root_attrs:
                code = int(trace[index])
                query = root_attrs.get("input")
                if isinstance(query, str):
                    self.root_input[code] = query[:INPUT_PREVIEW_CHARS]
                request_id = root_attrs.get("request.id")
                if isinstance(request_id, str):
                    self.root_request_id[code] = request_id
        self.span_chunks.append(chunk)

    def add_usage(self, usage: Sequence[Any], time_us: np.ndarray) -> None:
        if not usage:
            return
        self.usage_chunks.append(
            {
                "trace": self.trace_ids.code_all([u.trace_id for u in usage]),
                "time_us": time_us,
                "provider": self.providers.code_all([u.provider for u in usage]),
                "model": self.models.code_all([u.model for u in usage]),
                "input_tokens": _tokens([u.input_tokens for u in usage]),
                "output_tokens": _tokens([u.output_tokens for u in usage]),
                "cache_read_tokens": np.array([u.cache_read_tokens for u in usage], dtype=np.int64),
                "cache_write_tokens": np.array([u.cache_write_tokens for u in usage], dtype=np.int64),
                "reasoning_tokens": np.array([u.reasoning_tokens for u in usage], dtype=np.int64),
                "cost_usd": _float_or_nan([u.cost_usd for u in usage]),
            }
        )

    def add_evals(self, evals: Sequence[Any], time_us: np.ndarray) -> None:
        if not evals:
            return
        self.eval_chunks.append(
            {
                "trace": self.trace_ids.code_all([e.trace_id for e in evals]),
                "time_us": time_us,
                "name": self.eval_names.code_all([e.name for e in evals]),
                "passed": np.array([-1 if e.passed is None else int(e.passed) for e in evals], dtype=np.int8),
                "score": _float_or_nan([e.score for e in evals]),
            }
        )
        self.eval_queries.extend(e.query if e.passed is False else None for e in evals)

    def finish(self) -> Columns:
        span_fields = [f.name for f in fields(SpanColumns) if f.name != "group"]
        spans = SpanColumns(
            **_concat(self.span_chunks, span_fields, SPAN_DTYPES),
            group={name: _concat(self.span_chunks, ["group:" + name], {"group:" + name: np.int32})["group:" + name] for name in self.group_attrs},
        )
        usage = UsageColumns(**_concat(self.usage_chunks, [f.name for f in fields(UsageColumns)], USAGE_DTYPES))
        eval_fields = [f.name for f in fields(EvalColumns) if f.name != "query"]
        evals = EvalColumns(**_concat(self.eval_chunks, eval_fields, EVAL_DTYPES), query=self.eval_queries)
        self.span_chunks, self.usage_chunks, self.eval_chunks = [], [], []
        return Columns(
            spans=spans,
            usage=usage,
            evals=evals,
            **{name: getattr(self, name) for name in STRING_TABLES},
            root_input=self.root_input,
            root_request_id=self.root_request_id,
        )


SPAN_DTYPES: dict[str, Any] = {
    "trace": np.int32, "is_root": bool, "name": np.int32, "kind": np.int32, "start_us": np.int64,
    "duration_ms": np.float64, "is_error": bool, "error_type": np.int32, "attempt": np.int32,
    "retry_of": np.int64, "model": np.int32,
}
USAGE_DTYPES: dict[str, Any] = {
    "trace": np.int32, "time_us": np.int64, "provider": np.int32, "model": np.int32, "input_tokens": np.int64,
    "output_tokens": np.int64, "cache_read_tokens": np.int64, "cache_write_tokens": np.int64,
    "reasoning_tokens": np.int64, "cost_usd": np.float64,
}
EVAL_DTYPES: dict[str, Any] = {"trace": np.int32, "time_us": np.int64, "name": np.int32, "passed": np.int8, "score": np.float64}


def _concat(chunks: list[dict[str, np.ndarray]], names: list[str], dtypes: dict[str, Any]) -> dict[str, np.ndarray]:
    """Each column joined from the chunks, a column at a time, each chunk's piece released as soon
    as it is copied: memory peaks at the columns plus one column's chunks, not twice the columns."""
    out = {}
    for name in names:
        pieces = [chunk.pop(name) for chunk in chunks]
        out[name] = np.concatenate(pieces).astype(dtypes[name], copy=False) if pieces else np.empty(0, dtype=dtypes[name])
        del pieces
    return out


def _remap(codes: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """Translate codes through `mapping`, keeping -1 as -1."""
    return np.append(mapping, NONE_CODE).astype(np.int32)[codes]


def merge_columns(parts: list[Columns]) -> Columns:
    """One `Columns` from several built independently (e.g. by worker processes), codes unified.

    Consumes `parts` (the list is emptied), so each part's arrays can be freed once merged."""
    if len(parts) == 1:
        return parts.pop()
    builder = ColumnBuilder(tuple(parts[0].spans.group))
    while parts:
        part = parts.pop(0)
        maps = {name: np.array([getattr(builder, name).code(v) for v in getattr(part, name).values], dtype=np.int32) for name in STRING_TABLES}
        s, u, e = part.spans, part.usage, part.evals
        span_chunk = {f.name: getattr(s, f.name) for f in fields(SpanColumns) if f.name != "group"}
        for column, table in (("trace", "trace_ids"), ("name", "names"), ("kind", "kinds"), ("error_type", "error_types"), ("model", "models")):
            span_chunk[column] = _remap(span_chunk[column], maps[table])
        for name, values in s.group.items():
            span_chunk["group:" + name] = _remap(values, maps["attr_values"])
        builder.span_chunks.append(span_chunk)
        usage_chunk = {f.name: getattr(u, f.name) for f in fields(UsageColumns)}
        for column, table in (("trace", "trace_ids"), ("provider", "providers"), ("model", "models")):
            usage_chunk[column] = _remap(usage_chunk[column], maps[table])
        builder.usage_chunks.append(usage_chunk)
        eval_chunk = {f.name: getattr(e, f.name) for f in fields(EvalColumns) if f.name != "query"}
        for column, table in (("trace", "trace_ids"), ("name", "eval_names")):
            eval_chunk[column] = _remap(eval_chunk[column], maps[table])
        builder.eval_chunks.append(eval_chunk)
        builder.eval_queries.extend(e.query)
        trace_map = maps["trace_ids"]
        builder.root_input.update({int(trace_map[k]): v for k, v in part.root_input.items()})
        builder.root_request_id.update({int(trace_map[k]): v for k, v in part.root_request_id.items()})
    return builder.finish()

"""Records as columns: numpy arrays plus string tables, so analyses never touch millions of
Python objects and memory is bounded by the columns, not by the files.

Strings that repeat (trace ids, step names, models, error types) are stored as integer codes into a
`Strings` table. The native decoder builds most columns itself (`read.decode`); `ColumnBuilder`
builds them from the records the models judged, in batches that become numpy chunks at once.
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


_NO_ID = "0" * 16  # stands for None in the bulk path, and reads as 0


def id64_all(identifiers: Sequence[str | None]) -> np.ndarray:
    """`id64` of many ids at once (0 for None): W3C hex ids are read in bulk, anything else one by one.

    The ids are joined with a newline after each: when every 17th character is that newline, each
    id has exactly 16 characters, and `bytes.fromhex` (which skips the newlines between byte
    pairs) reads them all in C, refusing any that is not hex."""
    count = len(identifiers)
    filled = [_NO_ID if identifier is None else identifier for identifier in identifiers] if None in identifiers else identifiers
    joined = "\n".join(filled) + "\n"  # type: ignore[arg-type]
    if len(joined) == 17 * count and joined[16::17] == "\n" * count:
        try:
            raw = bytes.fromhex(joined)
        except ValueError:
            raw = b""
        if len(raw) == 8 * count:
            return np.frombuffer(raw, dtype=">u8").astype(np.uint64).view(np.int64)
    return np.array([0 if identifier is None else id64(identifier) for identifier in identifiers], dtype=np.int64)


class Strings:
    """An interning table: each distinct string gets the next integer code (None is -1).

    The dict alone holds the table: it keeps insertion order, so the list of values is its keys.
    A table made from the native decoder's values (`Strings.of`) holds only them until a code is
    asked of it: most tables are only looked up, and a dict of every trace id would cost time and
    memory for nothing.
    """

    def __init__(self) -> None:
        self._codes: dict[str | None, int] | None = {None: NONE_CODE}
        self._values: list[str] = []

    @classmethod
    def of(cls, values: list[str]) -> Strings:
        """A table holding `values` (distinct) as codes 0, 1, …; its dict is built when first needed."""
        table = cls()
        table._values, table._codes = values, None
        return table

    @property
    def codes(self) -> dict[str | None, int]:
        if self._codes is None:
            self._codes = {None: NONE_CODE, **{value: code for code, value in enumerate(self._values)}}
        return self._codes

    def code(self, value: str | None) -> int:
        codes = self.codes
        return codes.setdefault(value, len(codes) - 1)

    def code_all(self, values: Sequence[str | None]) -> np.ndarray:
        """Codes of many values at once, new ones added in order of appearance."""
        codes = self.codes
        intern = codes.setdefault
        return np.array([intern(v, len(codes) - 1) for v in values], dtype=np.int32)

    def code_all_known(self, values: Sequence[str | None]) -> np.ndarray:
        """`code_all` for a table whose values are nearly always known already (step names, kinds,
        models): plain lookups, twice as fast, and `code_all` only when a new value turns up."""
        codes = self.codes
        try:
            return np.array([codes[v] for v in values], dtype=np.int32)
        except KeyError:
            return self.code_all(values)

    @property
    def values(self) -> list[str]:
        if self._codes is not None and len(self._values) != len(self._codes) - 1:
            self._values = [value for value in self._codes if value is not None]  # type: ignore[misc]
        return self._values

    def __len__(self) -> int:
        return len(self._values) if self._codes is None else len(self._codes) - 1

    def lookup(self, code: int) -> str | None:
        return None if code < 0 else self.values[code]

    def __getstate__(self) -> dict[str, object]:
        return {"values": self.values}

    def __setstate__(self, state: dict[str, object]) -> None:
        self._values = list(state["values"])  # type: ignore[call-overload]
        self._codes = None


class TraceTexts:
    """A text for some traces (the root span's `input`, its `request.id`) kept as one UTF-8 buffer
    with offsets, not a dict of strings: a string object per request would cost several times the
    text and scatter long-lived objects across the heap. Few are ever looked up (failed evals, the
    slowest requests); when a trace has several, the last one added wins, as in a dict."""

    def __init__(self) -> None:
        self._pieces: list[tuple[np.ndarray, np.ndarray, bytes]] = []  # (trace codes, byte lengths, UTF-8 texts)
        self._codes = np.empty(0, dtype=np.int32)
        self._offsets = np.zeros(1, dtype=np.int64)
        self._buffer = b""
        self._lookup: tuple[np.ndarray, np.ndarray] | None = None

    def add_encoded(self, codes: np.ndarray, lengths: np.ndarray, buffer: bytes) -> None:
        """Add texts already encoded: trace codes, each text's UTF-8 byte length, the texts joined."""
        if len(codes):
            self._pieces.append((codes, lengths, buffer))
            self._lookup = None

    def add(self, codes: Sequence[int] | np.ndarray, texts: Sequence[str]) -> None:
        if len(codes) == 0:
            return
        encoded = [text.encode("utf-8", "surrogatepass") for text in texts]
        self._pieces.append((np.asarray(codes, dtype=np.int32), np.array([len(e) for e in encoded], dtype=np.int64), b"".join(encoded)))
        self._lookup = None

    def extend(self, other: TraceTexts, code_map: np.ndarray) -> None:
        """Add every text of `other`, its trace codes translated through `code_map`."""
        other._consolidate()
        if len(other._codes):
            self._pieces.append((code_map[other._codes], np.diff(other._offsets), other._buffer))
            self._lookup = None

    def _consolidate(self) -> None:
        if not self._pieces:
            return
        pieces = [(self._codes, np.diff(self._offsets), self._buffer), *self._pieces]
        self._pieces = []
        self._codes = np.concatenate([codes for codes, _, _ in pieces])
        self._offsets = np.concatenate([[0], np.cumsum(np.concatenate([lengths for _, lengths, _ in pieces]))]).astype(np.int64)
        self._buffer = b"".join(texts for _, _, texts in pieces)

    def get(self, code: int) -> str | None:
        """The text of trace `code`, or None."""
        self._consolidate()
        if self._lookup is None:
            order = np.argsort(self._codes, kind="stable")
            self._lookup = (order, self._codes[order])
        order, sorted_codes = self._lookup
        position = int(np.searchsorted(sorted_codes, code, side="right")) - 1  # the last added for this code
        if position < 0 or sorted_codes[position] != code:
            return None
        index = int(order[position])
        return self._buffer[self._offsets[index] : self._offsets[index + 1]].decode("utf-8", "surrogatepass")

    def __len__(self) -> int:
        self._consolidate()
        return len(self._codes)

    def __getstate__(self) -> dict[str, object]:
        self._consolidate()
        return {"codes": self._codes, "offsets": self._offsets, "buffer": self._buffer}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        self._codes, self._offsets, self._buffer = state["codes"], state["offsets"], state["buffer"]


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
    span_id: np.ndarray  # int64 id64 of span_id
    parent: np.ndarray  # int64 id64 of parent_id, 0 for a root
    sample_rate: np.ndarray  # float64: the probability the span's trace was kept with (1 unsampled)
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
    cache_write_1h_tokens: np.ndarray  # int64, part of cache_write_tokens
    reasoning_tokens: np.ndarray
    cost_usd: np.ndarray  # float64, NaN when not logged
    span: np.ndarray  # int64 id64 of span_id, 0 when none
    span_scope: np.ndarray  # bool: `scope: span`, tokens that may include the span's descendants'
    sample_rate: np.ndarray  # float64


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
    root_input: TraceTexts  # trace code -> the root span's `input` attribute (preview)
    root_request_id: TraceTexts  # trace code -> the root span's `request.id` attribute
    trace_weight: np.ndarray | None = None  # trace code -> 1 / the probability it was kept with; None: nothing was sampled

    def span_weights(self) -> np.ndarray | None:
        """Each span's weight (its trace's), or None when every weight is 1."""
        return None if self.trace_weight is None else self.trace_weight[self.spans.trace]

    def usage_weights(self) -> np.ndarray | None:
        """Each usage row's weight (its trace's), or None when every weight is 1."""
        return None if self.trace_weight is None else self.trace_weight[self.usage.trace]


def _model_of(attrs: dict[str, Any]) -> str | None:
    """The first of MODEL_ATTRS whose value is a non-empty string."""
    for key in MODEL_ATTRS:
        value = attrs.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _models_of(attrs: list[dict[str, Any] | None]) -> list[str | None]:
    """`_model_of` of each span's attributes, without a call per span: the first truthy value of
    MODEL_ATTRS is the answer when it is a string; any other truthy value needs the full search."""
    first, second, third = MODEL_ATTRS
    return [
        ((m if m.__class__ is str else _model_of(a)) if (m := a.get(first) or a.get(second) or a.get(third)) else None) if a else None
        for a in attrs
    ]


def _float_or_nan(values: list[float | None]) -> np.ndarray:
    """Floats with None as NaN (numpy's own conversion of None to a float)."""
    return np.array(values, dtype=np.float64)


def _flags(values: list[bool]) -> np.ndarray:
    """A bool column from Python bools through their bytes: half numpy's cost per element."""
    return np.frombuffer(bytearray(values), dtype=bool)


def _tokens(values: list[int | None]) -> np.ndarray:
    return np.array([MISSING_TOKENS if v is None else v for v in values], dtype=np.int64)


class ColumnBuilder:
    """Accumulates batches of validated records as numpy chunks; `finish()` concatenates them
    into `Columns`."""

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
        self.root_input = TraceTexts()
        self.root_request_id = TraceTexts()
        self.span_chunks: list[dict[str, np.ndarray]] = []
        self.usage_chunks: list[dict[str, np.ndarray]] = []
        self.eval_chunks: list[dict[str, np.ndarray]] = []
        self.eval_queries: list[str | None] = []

    def add(self, record: Span | Usage | Eval) -> None:
        """One validated record (slow, for small inputs such as a single trace)."""
        self.add_records([record])

    def add_records(self, records: Sequence[Span | Usage | Eval]) -> tuple[int, int, int]:
        """Validated records, a batch at a time; returns how many spans, usage and eval records."""
        by_type: dict[type, list] = {Span: [], Usage: [], Eval: []}
        for record in records:
            by_type[type(record)].append(record)
        spans, usage, evals = by_type[Span], by_type[Usage], by_type[Eval]
        self.add_spans(spans, np.array([to_micros(s.start) for s in spans], dtype=np.int64))
        self.add_usage(usage, np.array([to_micros(u.time) for u in usage], dtype=np.int64))
        self.add_evals(evals, np.array([to_micros(e.time) for e in evals], dtype=np.int64))
        return len(spans), len(usage), len(evals)

    def add_spans(self, spans: Sequence[Any], start_us: np.ndarray) -> None:
        if not spans:
            return
        trace = self.trace_ids.code_all([s.trace_id for s in spans])
        parents = [s.parent_id for s in spans]
        is_root = _flags([p is None for p in parents])
        is_error = _flags([s.status == "error" for s in spans])
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
            "name": self.names.code_all_known([s.name for s in spans]),
            "kind": self.kinds.code_all_known([s.kind for s in spans]),
            "start_us": start_us,
            "duration_ms": np.fromiter([s.duration_ms for s in spans], dtype=np.float64, count=len(spans)),
            "is_error": is_error,
            "error_type": error_type,
            "attempt": attempt,
            "retry_of": retry_of,
            "model": self.models.code_all_known(_models_of(attrs)),
            "span_id": id64_all([s.span_id for s in spans]),
            "parent": id64_all(parents),
            "sample_rate": np.array([s.sample_rate for s in spans], dtype=np.float64),
        }
        for name in self.group_attrs:
            values = [a.get(name) if a else None for a in attrs]
            chunk["group:" + name] = self.attr_values.code_all([None if v is None else str(v) for v in values])
        input_codes: list[int] = []
        inputs: list[str] = []
        request_codes: list[int] = []
        request_ids: list[str] = []
        for index in np.flatnonzero(is_root):
            root_attrs = attrs[index]
            if root_attrs:
                query = root_attrs.get("input")
                if isinstance(query, str):
                    input_codes.append(trace[index])
                    inputs.append(query[:INPUT_PREVIEW_CHARS])
                request_id = root_attrs.get("request.id")
                if isinstance(request_id, str):
                    request_codes.append(trace[index])
                    request_ids.append(request_id)
        self.root_input.add(input_codes, inputs)
        self.root_request_id.add(request_codes, request_ids)
        self.span_chunks.append(chunk)

    def add_usage(self, usage: Sequence[Any], time_us: np.ndarray) -> None:
        if not usage:
            return
        self.usage_chunks.append(
            {
                "trace": self.trace_ids.code_all([u.trace_id for u in usage]),
                "time_us": time_us,
                "provider": self.providers.code_all_known([u.provider for u in usage]),
                "model": self.models.code_all_known([u.model for u in usage]),
                "input_tokens": _tokens([u.input_tokens for u in usage]),
                "output_tokens": _tokens([u.output_tokens for u in usage]),
                "cache_read_tokens": np.array([u.cache_read_tokens for u in usage], dtype=np.int64),
                "cache_write_tokens": np.array([u.cache_write_tokens for u in usage], dtype=np.int64),
                "cache_write_1h_tokens": np.array([u.cache_write_1h_tokens for u in usage], dtype=np.int64),
                "reasoning_tokens": np.array([u.reasoning_tokens for u in usage], dtype=np.int64),
                "cost_usd": _float_or_nan([u.cost_usd for u in usage]),
                "span": id64_all([u.span_id for u in usage]),
                "span_scope": _flags([u.scope == "span" for u in usage]),
                "sample_rate": np.array([u.sample_rate for u in usage], dtype=np.float64),
            }
        )

    def add_evals(self, evals: Sequence[Any], time_us: np.ndarray) -> None:
        if not evals:
            return
        self.eval_chunks.append(
            {
                "trace": self.trace_ids.code_all([e.trace_id for e in evals]),
                "time_us": time_us,
                "name": self.eval_names.code_all_known([e.name for e in evals]),
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
    "retry_of": np.int64, "model": np.int32, "span_id": np.int64, "parent": np.int64, "sample_rate": np.float64,
}
USAGE_DTYPES: dict[str, Any] = {
    "trace": np.int32, "time_us": np.int64, "provider": np.int32, "model": np.int32, "input_tokens": np.int64,
    "output_tokens": np.int64, "cache_read_tokens": np.int64, "cache_write_tokens": np.int64,
    "cache_write_1h_tokens": np.int64, "reasoning_tokens": np.int64, "cost_usd": np.float64, "span": np.int64, "span_scope": bool, "sample_rate": np.float64,
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

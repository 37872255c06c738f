"""Records turned into columns once: numpy arrays plus string tables, so analyses never touch
millions of Python objects and memory is bounded by the columns, not by the files.

Strings that repeat (trace ids, step names, models, error types) are stored as integer codes into a
`Strings` table. Span ids are kept as 64-bit hashes, enough to join usage to spans within a trace.
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

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
    """An interning table: each distinct string gets the next integer code."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}
        self.values: list[str] = []

    def code(self, value: str | None) -> int:
        if value is None:
            return NONE_CODE
        code = self.codes.get(value)
        if code is None:
            code = self.codes[value] = len(self.values)
            self.values.append(value)
        return code

    def __len__(self) -> int:
        return len(self.values)

    def lookup(self, code: int) -> str | None:
        return None if code < 0 else self.values[code]


@dataclass
class SpanColumns:
    trace: np.ndarray  # int32 code into Columns.trace_ids
    span_id: np.ndarray  # int64 id64 of span_id
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
    span_id: np.ndarray  # int64 id64, 0 when none
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
    query: list[str | None]


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


class ColumnBuilder:
    """Accumulates records into compact typed arrays; `finish()` hands them over as numpy columns."""

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
        self.s_trace = array("i")
        self.s_span = array("q")
        self.s_root = array("b")
        self.s_name = array("i")
        self.s_kind = array("i")
        self.s_start = array("q")
        self.s_duration = array("d")
        self.s_error = array("b")
        self.s_error_type = array("i")
        self.s_attempt = array("i")
        self.s_retry_of = array("q")
        self.s_model = array("i")
        self.s_group: dict[str, array[int]] = {a: array("i") for a in group_attrs}
        self.u_trace = array("i")
        self.u_span = array("q")
        self.u_time = array("q")
        self.u_provider = array("i")
        self.u_model = array("i")
        self.u_in = array("q")
        self.u_out = array("q")
        self.u_cache_read = array("q")
        self.u_cache_write = array("q")
        self.u_reasoning = array("q")
        self.u_cost = array("d")
        self.e_trace = array("i")
        self.e_time = array("q")
        self.e_name = array("i")
        self.e_passed = array("b")
        self.e_score = array("d")
        self.e_query: list[str | None] = []

    def add(self, record: Span | Usage | Eval) -> None:
        if isinstance(record, Span):
            self.add_span(record)
        elif isinstance(record, Usage):
            self.add_usage(record)
        else:
            self.add_eval(record)

    def add_span(self, span: Span) -> None:
        trace = self.trace_ids.code(span.trace_id)
        attrs = span.attrs or {}
        is_root = span.parent_id is None
        self.s_trace.append(trace)
        self.s_span.append(id64(span.span_id))
        self.s_root.append(is_root)
        self.s_name.append(self.names.code(span.name))
        self.s_kind.append(self.kinds.code(span.kind))
        self.s_start.append(to_micros(span.start))
        self.s_duration.append(span.duration_ms)
        is_error = span.status == "error"
        self.s_error.append(is_error)
        self.s_error_type.append(self.error_types.code((span.error.type if span.error else "unspecified") if is_error else None))
        self.s_attempt.append(span.attempt)
        self.s_retry_of.append(id64(span.retry_of) if span.retry_of is not None else 0)
        model = None
        if attrs:
            for key in MODEL_ATTRS:
                value = attrs.get(key)
                if isinstance(value, str) and value:
                    model = value
                    break
        self.s_model.append(self.models.code(model))
        for name, column in self.s_group.items():
            value = attrs.get(name)
            column.append(self.attr_values.code(None if value is None else str(value)))
        if is_root and attrs:
            query = attrs.get("input")
            if isinstance(query, str):
                self.root_input[trace] = query[:INPUT_PREVIEW_CHARS]
            request_id = attrs.get("request.id")
            if isinstance(request_id, str):
                self.root_request_id[trace] = request_id

    def add_usage(self, usage: Usage) -> None:
        self.u_trace.append(self.trace_ids.code(usage.trace_id))
        self.u_span.append(id64(usage.span_id) if usage.span_id else 0)
        self.u_time.append(to_micros(usage.time))
        self.u_provider.append(self.providers.code(usage.provider))
        self.u_model.append(self.models.code(usage.model))
        self.u_in.append(MISSING_TOKENS if usage.input_tokens is None else usage.input_tokens)
        self.u_out.append(MISSING_TOKENS if usage.output_tokens is None else usage.output_tokens)
        self.u_cache_read.append(usage.cache_read_tokens)
        self.u_cache_write.append(usage.cache_write_tokens)
        self.u_reasoning.append(usage.reasoning_tokens)
        self.u_cost.append(float("nan") if usage.cost_usd is None else usage.cost_usd)

    def add_eval(self, ev: Eval) -> None:
        self.e_trace.append(self.trace_ids.code(ev.trace_id))
        self.e_time.append(to_micros(ev.time))
        self.e_name.append(self.eval_names.code(ev.name))
        self.e_passed.append(-1 if ev.passed is None else int(ev.passed))
        self.e_score.append(float("nan") if ev.score is None else ev.score)
        self.e_query.append(ev.query)

    def finish(self) -> Columns:
        def arr(values: array, dtype: type) -> np.ndarray:  # type: ignore[type-arg]
            return np.frombuffer(values, dtype=dtype).copy() if len(values) else np.empty(0, dtype=dtype)

        spans = SpanColumns(
            trace=arr(self.s_trace, np.int32),
            span_id=arr(self.s_span, np.int64),
            is_root=arr(self.s_root, np.int8).astype(bool),
            name=arr(self.s_name, np.int32),
            kind=arr(self.s_kind, np.int32),
            start_us=arr(self.s_start, np.int64),
            duration_ms=arr(self.s_duration, np.float64),
            is_error=arr(self.s_error, np.int8).astype(bool),
            error_type=arr(self.s_error_type, np.int32),
            attempt=arr(self.s_attempt, np.int32),
            retry_of=arr(self.s_retry_of, np.int64),
            model=arr(self.s_model, np.int32),
            group={name: arr(col, np.int32) for name, col in self.s_group.items()},
        )
        usage = UsageColumns(
            trace=arr(self.u_trace, np.int32),
            span_id=arr(self.u_span, np.int64),
            time_us=arr(self.u_time, np.int64),
            provider=arr(self.u_provider, np.int32),
            model=arr(self.u_model, np.int32),
            input_tokens=arr(self.u_in, np.int64),
            output_tokens=arr(self.u_out, np.int64),
            cache_read_tokens=arr(self.u_cache_read, np.int64),
            cache_write_tokens=arr(self.u_cache_write, np.int64),
            reasoning_tokens=arr(self.u_reasoning, np.int64),
            cost_usd=arr(self.u_cost, np.float64),
        )
        evals = EvalColumns(
            trace=arr(self.e_trace, np.int32),
            time_us=arr(self.e_time, np.int64),
            name=arr(self.e_name, np.int32),
            passed=arr(self.e_passed, np.int8),
            score=arr(self.e_score, np.float64),
            query=self.e_query,
        )
        return Columns(
            spans=spans,
            usage=usage,
            evals=evals,
            trace_ids=self.trace_ids,
            names=self.names,
            kinds=self.kinds,
            error_types=self.error_types,
            models=self.models,
            providers=self.providers,
            eval_names=self.eval_names,
            attr_values=self.attr_values,
            root_input=self.root_input,
            root_request_id=self.root_request_id,
        )

"""Pydantic models of the llmobs record format v1 (shared/FORMAT.md), the one schema readers trust.

The models are strict (a JSON string is never coerced to a number) and ignore unknown fields, so
other writers may add data without breaking readers. `record_json_schema()` exports them.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    field_validator,
    model_validator,
)

FORMAT_VERSION = 1
NonEmptyStr = Annotated[StrictStr, Field(min_length=1)]
MAX_COUNT = 2**53  # integers JSON and every reader represent exactly
NonNegativeInt = Annotated[StrictInt, Field(ge=0, le=MAX_COUNT)]
MIN_SAMPLE_RATE = 2.0**-56  # the smallest probability OpenTelemetry's sampling threshold can state
SampleRate = Annotated[float, Field(ge=MIN_SAMPLE_RATE, le=1)]  # the probability a sampled trace was kept with
Scalar = Union[StrictStr, StrictBool, StrictInt, float, None]
AttrValue = Union[Scalar, list[Scalar]]


class _Record(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    v: Annotated[StrictInt, Field(ge=1, le=MAX_COUNT)] = FORMAT_VERSION
    trace_id: NonEmptyStr


def _finite(value: float | None) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


class ErrorInfo(BaseModel):
    """What went wrong in a failed span; `type` is the exception class name (otel `error.type`)."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    type: NonEmptyStr
    message: StrictStr | None = None


class Span(_Record):
    """One timed step of a request; the span with `parent_id` null is the request itself."""

    type: Literal["span"]
    span_id: NonEmptyStr
    parent_id: NonEmptyStr | None = None
    name: NonEmptyStr
    kind: StrictStr | None = None
    start: AwareDatetime
    duration_ms: Annotated[float, Field(ge=0)]
    status: Literal["ok", "error"]
    error: ErrorInfo | None = None
    attempt: Annotated[StrictInt, Field(ge=1, le=2**31 - 1)] = 1
    retry_of: NonEmptyStr | None = None
    attrs: dict[str, AttrValue] | None = None
    sample_rate: SampleRate = 1.0

    _check_duration = field_validator("duration_ms")(_finite)

    @model_validator(mode="after")
    def _retry_needs_origin(self) -> Span:
        if self.attempt > 1 and self.retry_of is None:
            raise ValueError("retry_of is required when attempt > 1")
        return self


class Usage(_Record):
    """Tokens of one model call (`scope: call`), or what a span reports (`scope: span`: it may include
    its descendants' usage, which readers then count once); `null` tokens mean not reported."""

    type: Literal["usage"]
    span_id: StrictStr | None = None
    time: AwareDatetime
    provider: StrictStr | None = None
    model: NonEmptyStr
    input_tokens: NonNegativeInt | None = None
    output_tokens: NonNegativeInt | None = None
    cache_read_tokens: NonNegativeInt = 0
    cache_write_tokens: NonNegativeInt = 0
    cache_write_1h_tokens: NonNegativeInt = 0  # the part of cache_write_tokens kept for an hour, priced as such
    reasoning_tokens: NonNegativeInt = 0
    cost_usd: Annotated[float, Field(ge=0)] | None = None
    scope: Literal["call", "span"] = "call"
    sample_rate: SampleRate = 1.0

    _check_cost = field_validator("cost_usd")(_finite)


class Eval(_Record):
    """A judgement of one answer, tied to its request by `trace_id`."""

    type: Literal["eval"]
    span_id: StrictStr | None = None
    time: AwareDatetime
    name: NonEmptyStr
    passed: StrictBool | None = None
    score: float | None = None
    query: StrictStr | None = None
    comment: StrictStr | None = None

    _check_score = field_validator("score")(_finite)


Record = Annotated[Span | Usage | Eval, Field(discriminator="type")]
RECORD_ADAPTER: TypeAdapter[Span | Usage | Eval] = TypeAdapter(Record)
RECORD_TYPES = frozenset({"span", "usage", "eval"})


def record_json_schema() -> dict[str, object]:
    """JSON Schema of one record line, generated from the models so the two never disagree."""
    schema = RECORD_ADAPTER.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"llmobs record, format version {FORMAT_VERSION}"
    return schema

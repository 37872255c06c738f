"""The fast decoding path: msgspec structs mirroring `llmobs.records`, decoded a batch at a time.

The pydantic models stay the only judge. This path may only *accept a subset* of what they accept,
with identical values: a line it rejects, a retry without `retry_of`, or a timestamp the models
reject goes back to the models, which give the verdict and the reason. Timestamps in the canonical
`YYYY-MM-DDTHH:MM:SS[.ffffff]Z` shape are parsed in bulk, any other shape by the models' own
datetime validator. tests/read/test_fast.py checks the subset property over generated lines.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal, Union

import msgspec
import numpy as np
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from llmobs.read.columns import to_micros
from llmobs.records import MAX_COUNT

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
Version = Annotated[int, msgspec.Meta(ge=1, le=MAX_COUNT)]
Scalar = Union[str, int, float, bool, None]


class FastError(msgspec.Struct, gc=False):
    type: NonEmpty
    message: str | None = None


class FastSpan(msgspec.Struct, tag="span", tag_field="type", gc=False):
    trace_id: NonEmpty
    span_id: NonEmpty
    name: NonEmpty
    start: str
    duration_ms: Annotated[float, msgspec.Meta(ge=0)]
    status: Literal["ok", "error"]
    parent_id: NonEmpty | None = None
    kind: str | None = None
    error: FastError | None = None
    attempt: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] = 1
    retry_of: NonEmpty | None = None
    attrs: dict[str, Scalar | list[Scalar]] | None = None
    v: Version = 1


class FastUsage(msgspec.Struct, tag="usage", tag_field="type", gc=False):
    trace_id: NonEmpty
    time: str
    model: NonEmpty
    span_id: str | None = None
    provider: str | None = None
    input_tokens: Count | None = None
    output_tokens: Count | None = None
    cache_read_tokens: Count = 0
    cache_write_tokens: Count = 0
    reasoning_tokens: Count = 0
    cost_usd: Annotated[float, msgspec.Meta(ge=0)] | None = None
    v: Version = 1


class FastEval(msgspec.Struct, tag="eval", tag_field="type", gc=False):
    trace_id: NonEmpty
    time: str
    name: NonEmpty
    span_id: str | None = None
    passed: bool | None = None
    score: float | None = None
    query: str | None = None
    comment: str | None = None
    v: Version = 1


FastRecord = Union[FastSpan, FastUsage, FastEval]
LINE_DECODER = msgspec.json.Decoder(FastRecord)
DecodeError = (msgspec.DecodeError, msgspec.ValidationError)

_DATETIME = TypeAdapter(AwareDatetime)
_DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_SEPARATORS = {4: ord("-"), 7: ord("-"), 10: ord("T"), 13: ord(":"), 16: ord(":")}


def _canonical_micros(group: list[str], length: int) -> np.ndarray | None:
    """Vectorised parse of same-length `YYYY-MM-DDTHH:MM:SS[.f…]Z` strings; None if any is not one."""
    try:
        raw = np.array(group, dtype=f"S{length}")
    except UnicodeEncodeError:
        return None
    chars = raw.view(np.uint8).reshape(len(group), length)
    if (chars[:, -1] != ord("Z")).any():
        return None
    offsets = np.subtract(chars[:, : length - 1], ord("0"), dtype=np.uint8)  # a non-digit wraps above 9
    digit_columns = _DIGIT_POSITIONS + list(range(20, length - 1))
    if (offsets[:, digit_columns] > 9).any():
        return None
    for position, separator in _SEPARATORS.items():
        if (chars[:, position] != separator).any():
            return None
    if length > 20 and (chars[:, 19] != ord(".")).any():
        return None
    two = offsets[:, [11, 14, 17]].astype(np.int16) * 10 + offsets[:, [12, 15, 18]]
    if (two[:, 0] > 23).any() or (two[:, 1] > 59).any() or (two[:, 2] > 59).any() or not offsets[:, :4].any(axis=1).all():
        return None  # hour 24, minute or second 60, year 0000: the models refuse them
    try:
        parsed = raw.astype(f"S{length - 1}").astype("datetime64[us]")  # the Z dropped; numpy checks the date
    except ValueError:
        return None
    return parsed.astype(np.int64)


CANONICAL_LENGTHS = frozenset({20, 22, 23, 24, 25, 26, 27})


def parse_times(strings: list[str]) -> tuple[np.ndarray, list[int]]:
    """Microseconds since the epoch for each RFC 3339 string, and the indexes the models reject.

    Canonical UTC strings are parsed in bulk, a group of equal length at a time; any other shape
    goes through the models' own datetime validator, so values and verdicts are theirs by
    construction.
    """
    result = np.zeros(len(strings), dtype=np.int64)
    rejected: list[int] = []
    if not strings:
        return result, rejected
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    for length in np.unique(lengths):
        if lengths[0] == length and (lengths == length).all():
            indexes, group = np.arange(len(strings)), strings  # the usual case: one shape throughout
        else:
            indexes = np.flatnonzero(lengths == length)
            group = [strings[i] for i in indexes]
        micros = _canonical_micros(group, int(length)) if int(length) in CANONICAL_LENGTHS else None
        if micros is not None:
            result[indexes] = micros
            continue
        for i in indexes:
            try:
                result[i] = to_micros(_DATETIME.validate_json(json.dumps(strings[i]), strict=True))
            except ValidationError:
                rejected.append(int(i))
    return result, sorted(rejected)

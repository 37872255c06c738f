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
from llmobs.records import MAX_COUNT, MIN_SAMPLE_RATE

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]
Scalar = Union[str, int, float, bool, None]
SampleRate = Annotated[float, msgspec.Meta(ge=MIN_SAMPLE_RATE, le=1)]


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
    sample_rate: SampleRate = 1.0
    v: Literal[1] = 1  # a newer format version goes to the models, which note it


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
    cache_write_1h_tokens: Count = 0
    reasoning_tokens: Count = 0
    cost_usd: Annotated[float, msgspec.Meta(ge=0)] | None = None
    scope: Literal["call", "span"] = "call"
    sample_rate: SampleRate = 1.0
    v: Literal[1] = 1  # a newer format version goes to the models, which note it


class FastEval(msgspec.Struct, tag="eval", tag_field="type", gc=False):
    trace_id: NonEmpty
    time: str
    name: NonEmpty
    span_id: str | None = None
    passed: bool | None = None
    score: float | None = None
    query: str | None = None
    comment: str | None = None
    v: Literal[1] = 1  # a newer format version goes to the models, which note it


FastRecord = Union[FastSpan, FastUsage, FastEval]
LINE_DECODER = msgspec.json.Decoder(FastRecord)
DecodeError = (msgspec.DecodeError, msgspec.ValidationError)

_DATETIME = TypeAdapter(AwareDatetime)
CANONICAL_LENGTHS = frozenset({20, 22, 23, 24, 25, 26, 27})  # no fraction, or 1 to 6 fraction digits
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)  # index 0: no month 0
_FIELD_LOW = np.array([1, 1, 0, 0, 0])  # month, day, hour, minute, second
_FIELD_HIGH = np.array([12, 31, 23, 59, 59])  # hour 24 and second 60 are refused by the models too


def _layout(length: int) -> tuple[list[int], np.ndarray, list[int], np.ndarray]:
    """For timestamps of `length` characters, each followed by a newline: the positions and bytes
    of the fixed characters, the positions of the digits, and the weights that turn the fraction's
    digits into microseconds."""
    fixed = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":", length - 1: "Z", length: "\n", **({19: "."} if length > 20 else {})}
    digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, *range(20, length - 1)]
    fraction_weights = 10 ** np.arange(5, 5 - max(0, length - 21), -1, dtype=np.int64)
    return list(fixed), np.array([ord(c) for c in fixed.values()], dtype=np.uint8), digits, fraction_weights


_LAYOUTS = {length: _layout(length) for length in CANONICAL_LENGTHS}


def _days_since_epoch(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days from 1970-01-01 to each proleptic Gregorian date (years from 1): the civil-calendar
    day count with March as the first month, so the leap day falls at the end of a year."""
    shifted_year = year - (month <= 2)
    era = shifted_year // 400
    year_of_era = shifted_year - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _canonical_micros(group: list[str], length: int) -> np.ndarray | None:
    """Vectorised parse of `YYYY-MM-DDTHH:MM:SS[.f…]Z` strings of `length` characters; None if any
    is not one or names a time the models refuse (year 0, month 13, 30 February, hour 24, second 60 …).

    The strings are joined, each followed by a newline, and cut into rows of `length + 1`: every
    row must end in that newline and hold none elsewhere (no valid character is one), so the joined
    text has exactly one newline per string, at the row ends, and each string is exactly its row.
    """
    if length not in CANONICAL_LENGTHS:
        return None
    try:
        joined = ("\n".join(group) + "\n").encode("ascii")
    except UnicodeEncodeError:
        return None
    if len(joined) != len(group) * (length + 1):
        return None
    chars = np.frombuffer(joined, dtype=np.uint8).reshape(len(group), length + 1)
    fixed, expected, digit_positions, fraction_weights = _LAYOUTS[length]
    if (chars[:, fixed] != expected).any():
        return None
    digits = chars[:, digit_positions] - np.uint8(ord("0"))  # a non-digit wraps above 9
    if (digits > 9).any():
        return None
    digits = digits.astype(np.int64)
    pairs = digits[:, 0:14:2] * 10 + digits[:, 1:14:2]  # century, year of century, month, day, hour, minute, second
    year, month, day = pairs[:, 0] * 100 + pairs[:, 1], pairs[:, 2], pairs[:, 3]
    if not (((pairs[:, 2:] >= _FIELD_LOW) & (pairs[:, 2:] <= _FIELD_HIGH)).all() and year.all()):
        return None
    leap_february = (month == 2) & (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    if (day > _DAYS_IN_MONTH[month] + leap_february).any():
        return None
    seconds = ((_days_since_epoch(year, month, day) * 24 + pairs[:, 4]) * 60 + pairs[:, 5]) * 60 + pairs[:, 6]
    return seconds * 1_000_000 + digits[:, 14:] @ fraction_weights


def parse_times(strings: list[str]) -> tuple[np.ndarray, list[int]]:
    """Microseconds since the epoch for each RFC 3339 string, and the indexes the models reject.

    Canonical UTC strings are parsed in bulk (all at once when they share one length, the usual
    case, else a group of equal length at a time); any other shape goes through the models' own
    datetime validator, so values and verdicts are theirs by construction.
    """
    result = np.zeros(len(strings), dtype=np.int64)
    rejected: list[int] = []
    if not strings:
        return result, rejected
    micros = _canonical_micros(strings, len(strings[0]))
    if micros is not None:
        return micros, rejected
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    for length in np.unique(lengths):
        indexes = np.flatnonzero(lengths == length)
        micros = _canonical_micros([strings[i] for i in indexes], int(length))
        if micros is not None:
            result[indexes] = micros
            continue
        for i in indexes:
            try:
                result[i] = to_micros(_DATETIME.validate_json(json.dumps(strings[i]), strict=True))
            except ValidationError:
                rejected.append(int(i))
    return result, sorted(rejected)

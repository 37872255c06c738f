"""Compact, strict JSON lines and RFC 3339 timestamps for the writer's hot path."""

from __future__ import annotations

import json
import time

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=str)
_second_cache: tuple[int, str] = (-1, "")


def encode_line(record: dict[str, object]) -> bytes:
    """One record as a UTF-8 JSON line ending in a newline."""
    return (_ENCODER.encode(record) + "\n").encode("utf-8")


def rfc3339_from_ns(epoch_ns: int) -> str:
    """`2026-11-24T14:00:00.123456Z` from nanoseconds since the epoch, caching the formatted second."""
    global _second_cache
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    cached_second, prefix = _second_cache
    if cached_second != seconds:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second_cache = (seconds, prefix)
    return f"{prefix}.{nanos // 1000:06d}Z"

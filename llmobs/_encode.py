"""Compact, strict JSON lines and RFC 3339 timestamps for the writer's hot path."""

from __future__ import annotations

import time
from collections.abc import Callable

_second_cache: tuple[int, str] = (-1, "")
_dumps: Callable[[dict[str, object]], bytes] | None = None


def _load_encoder() -> Callable[[dict[str, object]], bytes]:
    """orjson's encoder, imported on the first record (it imports datetime, uuid and json: a fifth of
    `import llmobs`, for a process that may log nothing)."""
    global _dumps
    import functools

    import orjson

    _dumps = functools.partial(orjson.dumps, default=str, option=orjson.OPT_APPEND_NEWLINE)
    return _dumps


def encode_line(record: dict[str, object]) -> bytes:
    """One record as a compact UTF-8 JSON line ending in a newline; unknown objects become strings.

    orjson, because encoding is most of a span's cost. Callers keep floats finite (orjson would
    write NaN as null), see `llmobs._clean`.
    """
    return (_dumps or _load_encoder())(record)


def rfc3339_from_ns(epoch_ns: int) -> str:
    """`2026-11-24T14:00:00.123456Z` from nanoseconds since the epoch, caching the formatted second."""
    global _second_cache
    seconds = epoch_ns // 1_000_000_000
    cached_second, prefix = _second_cache
    if cached_second != seconds:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second_cache = (seconds, prefix)
    return f"{prefix}.{epoch_ns // 1000 % 1_000_000:06d}Z"

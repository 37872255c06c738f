"""Attribute values made safe to write: redacted by the user's hook, reduced to scalars, truncated."""

from __future__ import annotations

import math

from llmobs._config import Settings

TRUNCATION_MARK = "…[truncated]"


def clean_string(key: str, value: str | None, settings: Settings) -> str | None:
    """Redact then truncate one free-text field (error message, eval query, comment)."""
    if value is None:
        return None
    if settings.redact is not None:
        redacted = settings.redact(key, value)
        value = None if redacted is None else str(redacted)
        if value is None:
            return None
    return _truncate(value, settings.max_string_length)


_PLAIN = (bool, type(None))
INT64 = 1 << 63


def clean_attrs(attrs: dict[str, object], settings: Settings) -> dict[str, object]:
    """Attributes as FORMAT.md allows them: scalars or lists of scalars, strings within the limit."""
    redact = settings.redact
    limit = settings.max_string_length
    if redact is None and _already_clean(attrs, limit):
        return attrs
    cleaned: dict[str, object] = {}
    for key, value in attrs.items():
        key = str(key)
        if redact is not None:
            value = redact(key, value)
        if isinstance(value, (list, tuple)):
            cleaned[key] = [_scalar(item, limit) for item in value]
        else:
            cleaned[key] = _scalar(value, limit)
    return cleaned


def _already_clean(attrs: dict[str, object], limit: int) -> bool:
    """True when every key is a string and every value a short string, an int or a bool: the common
    case, checked without building a new dict."""
    for key, value in attrs.items():
        kind = type(value)
        if kind is str:
            if len(value) > limit:  # type: ignore[arg-type]
                return False
        elif kind is int:
            if not -INT64 <= value < INT64:  # type: ignore[operator]
                return False
        elif kind not in _PLAIN or type(key) is not str:
            return False
    return True


def _scalar(value: object, limit: int) -> object:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value) if -INT64 <= value < INT64 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return _truncate(value if isinstance(value, str) else str(value), limit)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK

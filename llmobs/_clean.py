"""Attribute values made safe to write: redacted by the user's hook, reduced to scalars, truncated."""

from __future__ import annotations

import math

from llmobs._config import Redactor, Settings
from llmobs._internal import warn_once

TRUNCATION_MARK = "…[truncated]"
REDACTION_FAILED = "[redaction failed]"


def clean_string(key: str, value: str | None, settings: Settings) -> str | None:
    """Redact then truncate one free-text field (error message, eval query, comment)."""
    if value is None:
        return None
    if settings.redact is not None:
        redacted = _redacted(settings.redact, key, value)
        if redacted is None:
            return None
        value = _text(redacted)
    return _truncate(value, settings.max_string_length)


def _redacted(redact: Redactor, key: str, value: object) -> object:
    """The hook's answer, or a fixed marker when the hook raises: the record is still written, and
    nothing of a value the hook could not judge is."""
    try:
        return redact(key, value)
    except Exception as exc:
        warn_once(
            f"redact:{key}",
            f"the redaction hook raised {type(exc).__name__} for {key!r}; its value was written as {REDACTION_FAILED!r}",
        )
        return REDACTION_FAILED


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
            value = _redacted(redact, key, value)
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
    return _truncate(value if isinstance(value, str) else _text(value), limit)


def _text(value: object) -> str:
    """`str(value)`, or a stand-in naming its type when its `__str__` fails: the record is still written."""
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__} whose text could not be read>"


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK

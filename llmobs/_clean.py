"""Attribute values made safe to write: redacted by the user's hook, reduced to scalars, truncated."""

from __future__ import annotations

import math
from typing import Mapping

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


def clean_attrs(attrs: Mapping[str, object], settings: Settings) -> dict[str, object]:
    """Attributes as FORMAT.md allows them: scalars or lists of scalars, strings within the limit."""
    cleaned: dict[str, object] = {}
    redact = settings.redact
    limit = settings.max_string_length
    for key, value in attrs.items():
        key = str(key)
        if redact is not None:
            value = redact(key, value)
        if isinstance(value, (list, tuple)):
            cleaned[key] = [_scalar(item, limit) for item in value]
        else:
            cleaned[key] = _scalar(value, limit)
    return cleaned


def _scalar(value: object, limit: int) -> object:
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    return _truncate(value if isinstance(value, str) else str(value), limit)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(TRUNCATION_MARK)] + TRUNCATION_MARK

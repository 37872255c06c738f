"""Process-wide logger settings: where records go, sampling, redaction and string limits."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from llmobs.sinks import JsonlFileSink, Sink

DEFAULT_PATH = "llmobs.jsonl"
MIN_SAMPLE_RATE = 2.0**-56  # as llmobs.records says (not imported: the logger does not load pydantic)
DEFAULT_MAX_STRING_LENGTH = 4096
Redactor = Callable[[str, object], object]


class Settings:
    """The active configuration; replaced as a whole by `configure`, so readers never see half of one.
    (A plain class: `dataclasses` would cost `import llmobs` a third of its time.)"""

    __slots__ = ("max_string_length", "monotonic_ns", "redact", "sample_rate", "sink", "wall_ns")

    def __init__(self, sink: Sink, sample_rate: float = 1.0, redact: Redactor | None = None, max_string_length: int = DEFAULT_MAX_STRING_LENGTH,
                 wall_ns: Callable[[], int] = time.time_ns, monotonic_ns: Callable[[], int] = time.perf_counter_ns) -> None:
        self.sink = sink
        self.sample_rate = sample_rate
        self.redact = redact
        self.max_string_length = max_string_length
        self.wall_ns = wall_ns
        self.monotonic_ns = monotonic_ns


_settings: Settings | None = None
_lock = threading.Lock()


def _default_settings() -> Settings:
    return Settings(sink=JsonlFileSink(os.environ.get("LLMOBS_PATH") or DEFAULT_PATH))


def current() -> Settings:
    """The settings in force, created from the environment on first use."""
    settings = _settings
    if settings is None:
        with _lock:
            if _settings is None:
                _install(_default_settings())
            settings = _settings
    assert settings is not None
    return settings


def _install(settings: Settings) -> None:
    global _settings
    _settings = settings


def _reset() -> None:
    """Forget the settings, so the next record reads the environment again."""
    global _settings
    _settings = None


def configure(
    path: str | os.PathLike[str] | None = None,
    *,
    sink: Sink | None = None,
    sample_rate: float = 1.0,
    redact: Redactor | None = None,
    max_string_length: int = DEFAULT_MAX_STRING_LENGTH,
    clock: tuple[Callable[[], int], Callable[[], int]] | None = None,
) -> None:
    """Set where this process's records go and how they are kept.

    `path` (else env `LLMOBS_PATH`, else `./llmobs.jsonl`) is a JSONL file appended to; `sink`
    replaces the file entirely. `sample_rate` keeps that share of traces, decided when a trace ends,
    and always keeps traces with an error. `redact(key, value)` rewrites every attribute value, error
    message, eval query and comment before it is written; strings longer than `max_string_length`
    characters are then truncated. `clock` is a (wall_ns, monotonic_ns) pair of functions replacing
    `time.time_ns` and `time.perf_counter_ns`, for simulations and deterministic tests.
    """
    if not (0.0 <= sample_rate <= 1.0 and (sample_rate == 0 or sample_rate >= MIN_SAMPLE_RATE)):
        raise ValueError(f"sample_rate must be 0, or between 2**-56 and 1, got {sample_rate!r}")
    if max_string_length < 16:
        raise ValueError(f"max_string_length must be at least 16, got {max_string_length!r}")
    if sink is None:
        sink = JsonlFileSink(path if path is not None else (os.environ.get("LLMOBS_PATH") or DEFAULT_PATH))
    elif path is not None:
        raise ValueError("pass either path or sink, not both")
    with _lock:
        settings = Settings(sink=sink, sample_rate=sample_rate, redact=redact, max_string_length=max_string_length)
        if clock is not None:
            settings.wall_ns, settings.monotonic_ns = clock
        _install(settings)

"""Helpers for testing code that logs with llmobs: capture records in memory, no files.

    with llmobs.testing.capture() as records:
        run_agent("hello")
    assert [r["name"] for r in records if r["type"] == "span"] == ["search", "request"]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from llmobs import _config, _internal
from llmobs.sinks import MemorySink


@contextmanager
def capture(*, sample_rate: float = 1.0, raise_internal_errors: bool = True) -> Iterator[list[dict[str, object]]]:
    """Route every record written inside the block to a list, restoring the previous settings after.

    Internal logger errors raise here (they are only reported in production), so bugs show up.
    """
    previous = _config._settings
    previous_raise = _internal.raise_internal_errors
    sink = MemorySink()
    _config.configure(sink=sink, sample_rate=sample_rate)
    _internal.raise_internal_errors = raise_internal_errors
    try:
        yield sink.records
    finally:
        _internal.raise_internal_errors = previous_raise
        if previous is not None:
            _config._install(previous)
        else:
            _config._reset()

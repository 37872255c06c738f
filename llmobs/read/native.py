"""The native core (`llmobs._native`, built from `native/` in Rust) and its one Python face:
nothing else in llmobs imports it. The reader decodes with it (`read.decode`), converts
Claude Code's session logs with it (`read.session_logs`) and finds rows that
may be duplicates with it (`read.settle`); self time finds parents and covered time with it
(`analysis.selftime`).
"""

from __future__ import annotations

import numpy as np

from llmobs import _native

decode_files = _native.decode_files
StreamDecoder = _native.StreamDecoder
ClaudeCodeLogs = _native.ClaudeCodeLogs


def parent_rows(trace: np.ndarray, span_id: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """For each span, the row of its parent within its trace, or -1 (int32)."""
    return _native.parent_rows(trace, span_id, parent)


def repeated_rows(trace: np.ndarray, key: np.ndarray) -> np.ndarray:
    """The rows (ascending, int64) whose (trace, key) pair occurs more than once."""
    return _native.repeated_rows(trace, key)


def self_times(parent_row: np.ndarray, start_us: np.ndarray, duration_ms: np.ndarray) -> np.ndarray:
    """Each span's duration in ms minus the union of its children's intervals, clipped to it."""
    return _native.self_times(parent_row, start_us, duration_ms)

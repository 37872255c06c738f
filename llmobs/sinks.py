"""Where records go: an append-only JSONL file shared safely by threads and processes, or memory."""

from __future__ import annotations

import atexit
import os
import threading
from typing import Protocol

from llmobs._encode import encode_line
from llmobs._internal import warn_once


class Sink(Protocol):
    """Receives every finished record; must not raise into the application."""

    def write(self, record: dict[str, object]) -> None: ...


class JsonlFileSink:
    """Appends one JSON line per record with a single `write` on an `O_APPEND` descriptor.

    O_APPEND makes the kernel pick the end of the file atomically for each write, so threads and
    processes sharing the file never interleave or tear lines, and a record is in the OS's hands
    before the span's `with` block returns. Failures are reported once and counted, never raised.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.dropped = 0
        self._fd: int | None = None
        self._pid = os.getpid()
        self._lock = threading.Lock()
        atexit.register(self._report_dropped)

    def _open(self) -> int:
        with self._lock:
            if self._fd is None:
                directory = os.path.dirname(self.path)
                if directory:
                    os.makedirs(directory, exist_ok=True)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            return self._fd

    def write(self, record: dict[str, object]) -> None:
        line = encode_line(record)
        try:
            fd = self._fd if self._fd is not None else self._open()
            written = os.write(fd, line)
            while written < len(line):  # only on a full disk or a signal; the rest follows at once
                written += os.write(fd, line[written:])
        except OSError as exc:
            self.dropped += 1
            warn_once(
                f"sink:{self.path}",
                f"cannot write trace records to {self.path}: {exc.strerror or exc}. The application "
                "continues, but records are being dropped; set LLMOBS_PATH or llmobs.configure(path=...).",
            )

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _report_dropped(self) -> None:
        if self.dropped and os.getpid() == self._pid:
            warn_once(f"dropped:{self.path}", f"{self.dropped} trace records could not be written to {self.path}.")


class MemorySink:
    """Keeps records in a list, for tests and for `llmobs.testing.capture()`."""

    def __init__(self) -> None:
        self.records: list[dict[str, object]] = []
        self._lock = threading.Lock()

    def write(self, record: dict[str, object]) -> None:
        with self._lock:
            self.records.append(record)

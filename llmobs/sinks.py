"""Where records go: an append-only JSONL file shared safely by threads and processes, or memory."""

from __future__ import annotations

import atexit
import os
import threading

from llmobs._encode import encode_line
from llmobs._internal import warn_once

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (and re): `import llmobs` stays light
if TYPE_CHECKING:
    from typing import Protocol

    class Sink(Protocol):
        """Receives every finished record; must not raise into the application."""

        def write(self, record: dict[str, object]) -> None: ...
else:
    class Sink:
        """Receives every finished record; must not raise into the application (any object with
        this `write` will do: a protocol for type checkers)."""

        def write(self, record: dict[str, object]) -> None:
            raise NotImplementedError


class JsonlFileSink:
    """Appends one JSON line per record with a single `write` on an `O_APPEND` descriptor.

    O_APPEND makes the kernel pick the end of the file atomically for each write, so threads and
    processes sharing the file never interleave or tear lines, and a record is in the OS's hands
    before the span's `with` block returns. Failures are reported once and counted, never raised.

    A write cut short (a full disk, a file-size limit) leaves a torn line; so may a process killed
    by another writer. Whenever the file may end mid-line (on opening it, after any failed write) the
    last byte is checked, and the next record starts on a fresh line: only the torn record is lost.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.dropped = 0
        self._fd: int | None = None
        self._readable = False
        self._check_tail = True
        self._pid = os.getpid()
        self._lock = threading.Lock()
        atexit.register(self._report_dropped)

    def _open(self) -> int:
        with self._lock:
            if self._fd is None:
                directory = os.path.dirname(self.path)
                if directory:
                    os.makedirs(directory, exist_ok=True)
                flags = os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
                try:  # readable too, so the last byte can be checked after a torn write
                    self._fd = os.open(self.path, os.O_RDWR | flags, 0o644)
                    self._readable = True
                except PermissionError:
                    self._fd = os.open(self.path, os.O_WRONLY | flags, 0o644)
                    self._readable = False
            return self._fd

    def _ends_mid_line(self, fd: int) -> bool:
        """True when the file's last byte is not a newline (a write was torn), as far as can be read."""
        if not self._readable:
            return False
        size = os.fstat(fd).st_size
        return size > 0 and os.pread(fd, 1, size - 1) != b"\n"

    def write(self, record: dict[str, object]) -> None:
        line = encode_line(record)
        try:
            fd = self._fd if self._fd is not None else self._open()
            if self._check_tail:
                with self._lock:  # one writer at a time until the file is known to end in a newline
                    if self._check_tail and self._ends_mid_line(fd):
                        line = b"\n" + line
                    _write_all(fd, line)
                    self._check_tail = False
            else:
                _write_all(fd, line)
        except OSError as exc:
            self._check_tail = True
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
                self._check_tail = True

    def _report_dropped(self) -> None:
        if self.dropped and os.getpid() == self._pid:
            warn_once(f"dropped:{self.path}", f"{self.dropped} trace records could not be written to {self.path}.")


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    while written < len(data):  # only on a full disk or a signal; the rest follows at once
        written += os.write(fd, data[written:])


class MemorySink:
    """Keeps records in a list, for tests and for `llmobs.testing.capture()`."""

    def __init__(self) -> None:
        self.records: list[dict[str, object]] = []
        self._lock = threading.Lock()

    def write(self, record: dict[str, object]) -> None:
        with self._lock:
            self.records.append(record)

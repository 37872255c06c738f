"""Turn the paths a user gives (files, directories, globs, `-`) into byte streams, gzip or not,
and say what each holds: lines of records, or one document to be read whole.

Gzip is inflated by ISA-L (`isal`), about twice as fast as the standard library's zlib. A damaged
gzip file gives up everything it holds before the damage, and only then the error (`GzipMembers`).
"""

from __future__ import annotations

import glob
import io
import json
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from isal import igzip_lib, isal_zlib

from llmobs.agents import detect as detect_agent
from llmobs.errors import InputError

LOG_SUFFIXES = (".jsonl", ".ndjson", ".json", ".log")
GZIP_MAGIC = b"\x1f\x8b"
# What reading a stream can raise part way: I/O errors, a truncated gzip (EOFError) and corrupt
# compressed data (ISA-L's own error, which is not an OSError).
STREAM_ERRORS = (OSError, EOFError, isal_zlib.error)


@dataclass(frozen=True)
class Source:
    """One input: a file path, or `-` for standard input."""

    name: str

    @property
    def is_stdin(self) -> bool:
        return self.name == "-"

    def size(self) -> int | None:
        return None if self.is_stdin else os.path.getsize(self.name)


def is_log_file(name: str) -> bool:
    base = name[:-3] if name.endswith(".gz") else name
    return base.endswith(LOG_SUFFIXES)


def expand(paths: list[str]) -> tuple[list[Source], list[str]]:
    """The sources named by `paths`, in order, and the files passed over inside directories.

    Directories are walked for `*.jsonl`, `*.ndjson`, `*.json`, `*.log` (and their `.gz`); a glob
    matching nothing or a missing path is an InputError, since a typo must not read as "no data".
    """
    sources: list[Source] = []
    ignored: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        if path not in seen:
            seen.add(path)
            sources.append(Source(path))

    for path in paths:
        if path == "-":
            add("-")
        elif os.path.isdir(path):
            logs, others = log_files_in(path)
            for log in logs:
                add(log)
            ignored += others
        elif os.path.exists(path):
            add(path)
        elif glob.has_magic(path):
            matches = files_matching(path)
            if not matches:
                raise InputError(f"{path}: no file matches this pattern")
            for match in matches:
                add(match)
        else:
            raise InputError(f"{path}: no such file or directory")
    if not sources:
        if ignored:
            raise InputError(
                f"no log files among the inputs: {len(ignored)} file(s) in the directories (e.g. {ignored[0]}) do not end in "
                ".jsonl, .ndjson, .json or .log (optionally .gz); name such files directly to read them"
            )
        raise InputError("no input files: give JSONL files, directories, globs or - for stdin")
    return sources, ignored


def log_files_in(directory: str) -> tuple[list[str], list[str]]:
    """The log files under `directory` (by name: `is_log_file`), in a stable order, and the other files."""
    logs: list[str] = []
    others: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for file in sorted(files):
            (logs if is_log_file(file) else others).append(os.path.join(root, file))
    return logs, others


def files_matching(pattern: str) -> list[str]:
    """The files a glob matches (`**` too), sorted."""
    return sorted(match for match in glob.glob(pattern, recursive=True) if os.path.isfile(match))


def open_binary(source: Source) -> tuple[BinaryIO, Callable[[], None]]:
    """A buffered binary stream of the source, gunzipped when it starts with gzip's magic (whatever
    its name), and the function that closes everything opened for it."""
    if source.is_stdin:
        # Its own reader of the descriptor, not sys.stdin's: a read-ahead thread left blocked on a
        # silent pipe would otherwise hold the lock that sys.stdin's closing at exit waits for.
        raw: BinaryIO = _own_stdin()
    else:
        try:
            raw = open(source.name, "rb")  # noqa: SIM115 (closed by the returned closer)
        except OSError as exc:
            raise InputError(f"{source.name}: cannot open: {exc.strerror or exc}") from None
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    close_raw = (lambda: None) if source.is_stdin else raw.close
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        return io.BufferedReader(GzipMembers(buffered), buffer_size=1 << 16), close_raw
    return buffered, close_raw


def _own_stdin() -> BinaryIO:
    """The process's standard input as a stream of its own, unbuffered (sys.stdin's own stream when
    it has no descriptor, as when a test replaces it)."""
    try:
        return open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)  # the descriptor stays open: it is the process's
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
        return sys.stdin.buffer


def inflating(stream: BinaryIO) -> bool:
    """Whether `stream` (from `open_binary`) is gzip being inflated."""
    return isinstance(getattr(stream, "raw", None), GzipMembers)


INPUT_BYTES = 1 << 16  # compressed bytes read at a time
OUTPUT_BYTES = 1 << 18  # inflated bytes produced at most per call: `delivered` stays exact and memory bounded


class GzipMembers(io.RawIOBase):
    """The inflated bytes of a gzip stream (its members one after another), as a raw stream.

    ISA-L inflates. When it finds the data damaged, the bytes of its failing call are gone with it
    (and when the file is cut short, it may hold back its last few), so the member is inflated
    again from its start by the standard library's zlib, whose state can be copied and a step
    undone: everything before the damage or the cut is delivered first, and the error is raised
    only after. A stream that cannot seek back (a pipe) loses those bytes instead.
    """

    def __init__(self, compressed: BinaryIO) -> None:
        self._compressed = compressed
        try:
            self._origin: int | None = compressed.tell() if compressed.seekable() else None
        except OSError:
            self._origin = None
        self.compressed_read = 0  # bytes taken from the compressed stream (for progress)
        self._input = b""  # taken but not yet inflated
        self._inflater: Any = None  # the current member's; None between members
        self._member_start = 0  # of the current member, counted as `compressed_read` is
        self._delivered = 0  # inflated bytes of the current member already produced
        self._pending = memoryview(b"")
        self._failure: BaseException | None = None
        self._finished = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._failure is not None:
                raise self._failure
            if self._finished:
                return 0
            self._pending = memoryview(self._inflate())
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _take(self) -> bytes:
        data = self._compressed.read(INPUT_BYTES)
        self.compressed_read += len(data)
        return data

    def _inflate(self) -> bytes:
        """The next inflated bytes; b"" with `_finished` or `_failure` set at the end."""
        if self._inflater is None and not self._start_member():
            return b""
        data = b""
        if self._inflater.needs_input:
            data, self._input = self._input or self._take(), b""
            if not data:  # cut short: ISA-L may hold back the last few bytes it inflated
                self._failure = EOFError("compressed file ended before the end-of-stream marker was reached")
                return self._salvage()
        try:
            out = self._inflater.decompress(data, OUTPUT_BYTES)
        except isal_zlib.error as exc:
            self._failure = exc
            return self._salvage()
        self._delivered += len(out)
        if self._inflater.eof:
            self._input, self._inflater = self._inflater.unused_data, None
        return out

    def _start_member(self) -> bool:
        """Begin the next member; False at the end of the stream (or before data that is not
        gzip). Zero bytes after a member are padding, skipped as gzip itself does."""
        self._input = self._input.lstrip(b"\0")
        while len(self._input) < 2 and (more := self._take()):
            self._input = (self._input + more).lstrip(b"\0")
        if not self._input:
            self._finished = True
            return False
        if self._input[:2] != GZIP_MAGIC:
            self._failure = OSError(f"not gzip data after the last complete member ({self._input[:8]!r}…)")
            return False
        self._inflater = igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)
        self._member_start = self.compressed_read - len(self._input)
        self._delivered = 0
        return True

    def _salvage(self) -> bytes:
        """The current member's bytes after those delivered and before the damage or the cut,
        inflated again by zlib from the member's start, the failing piece of input a byte at a time.
        Only the input ISA-L had taken is read again, so were zlib more lenient it could not run on far."""
        if self._origin is None:
            return b""
        self._compressed.seek(self._origin + self._member_start)
        unread = self.compressed_read - self._member_start
        inflater = zlib.decompressobj(wbits=31)
        skip = self._delivered
        kept: list[bytes] = []

        def keep(out: bytes) -> None:
            nonlocal skip
            if skip >= len(out):
                skip -= len(out)
            else:
                kept.append(out[skip:])
                skip = 0

        while not inflater.eof and unread > 0 and (data := self._compressed.read(min(INPUT_BYTES, unread))):
            unread -= len(data)
            before = inflater.copy()
            try:
                keep(inflater.decompress(data))
                continue
            except zlib.error:
                inflater = before
            for index in range(len(data)):
                try:
                    keep(inflater.decompress(data[index : index + 1]))
                except zlib.error:
                    break
            break
        return b"".join(kept)


HEAD_BYTES = 1 << 16
OTLP_MARKERS = (b'"resourceSpans"', b'"resource_spans"')


def is_otlp(text: bytes) -> bool:
    """Whether a line or document looks like OTLP/JSON trace data rather than llmobs records."""
    return any(marker in text for marker in OTLP_MARKERS)


def head(stream: BinaryIO) -> bytes:
    """The first 64 KiB of `stream`, left to be read; empty when they cannot be read (the reading
    that follows meets the same error and reports it as a broken stream)."""
    try:
        return stream.peek(HEAD_BYTES)[:HEAD_BYTES] if hasattr(stream, "peek") else b""
    except STREAM_ERRORS:
        return b""


def is_multiline_document(head: bytes) -> bool:
    """True for a JSON document spread over lines (an OTLP/JSON file as the spec shows them, or
    any other pretty-printed JSON, which then gets one message rather than one per line): it starts
    with `{` or `[` and its first line is not a JSON value on its own."""
    stripped = head.lstrip()
    if stripped[:1] not in (b"{", b"[") or b"\n" not in stripped:
        return False  # no newline in sight: one long line, read line by line
    if not is_otlp(head) and not _pretty_printed(stripped):
        return False
    first_line = stripped.split(b"\n", 1)[0]
    try:
        json.loads(first_line)
    except ValueError:
        return True
    return False


def _pretty_printed(text: bytes) -> bool:
    """JSON as `json.dumps(..., indent=2)` writes it: a lone `{` or `[`, then an indented value."""
    lines = [line for line in text.split(b"\n", 8)[:8] if line.strip()]
    return len(lines) >= 2 and lines[0].strip() in (b"{", b"[") and lines[1][:1] in (b" ", b"\t") and lines[1].lstrip()[:1] in (b'"', b"{", b"[")


def whole_file(head: bytes, path: str | None = None) -> bool:
    """Whether a file must be read whole rather than line by line: one multi-line JSON document,
    or a coding agent's session log (a turn spans many lines)."""
    return is_multiline_document(head) or detect_agent(head, path) is not None


def session_log_of(source: Source) -> str | None:
    """Which agent's session log a file is (gzip or not), or None: stdin is not looked at, since
    it can be read only once."""
    if source.is_stdin:
        return None
    try:
        stream, close = open_binary(source)
    except InputError:
        return None  # reading it meets the same error and names it
    try:
        return detect_agent(head(stream), source.name)
    finally:
        close()


def plain_lines_file(source: Source) -> bool:
    """A regular file of JSONL lines, neither gzip nor a whole document: one the native decoder
    reads itself, in byte ranges. A path that is not UTF-8 (a name with stray bytes, which Python
    keeps as surrogates) is read as a stream instead: the decoder opens files by UTF-8 paths."""
    if source.is_stdin:
        return False
    try:
        source.name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    try:
        with open(source.name, "rb") as handle:
            start = handle.read(HEAD_BYTES)
            regular = os.path.isfile(source.name)
    except OSError:
        return False  # reading it as a stream meets the same error and names it
    return regular and start[:2] != GZIP_MAGIC and not whole_file(start, source.name)


def readable_whole_natively(source: Source) -> bool:
    """A regular file, not gzip, with a UTF-8 path: one the native core can read whole itself."""
    if source.is_stdin:
        return False
    try:
        source.name.encode("utf-8")
        with open(source.name, "rb") as handle:
            start = handle.read(2)
        return os.path.isfile(source.name) and start != GZIP_MAGIC
    except (UnicodeEncodeError, OSError):
        return False


def blocks(stream: BinaryIO, size: int, on_progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """`stream`'s bytes in blocks of about `size`, until its end; a stream that breaks part way
    first yields everything it gave, then raises (one of STREAM_ERRORS). `on_progress` is told the
    source bytes behind each block: compressed bytes for gzip, so progress adds up to file sizes."""
    incremental = inflating(stream)
    reported = 0
    while True:
        block = _gathered(stream, size) if incremental else stream.read(size)
        if on_progress is not None:
            if incremental:
                position = stream.raw.compressed_read  # type: ignore[attr-defined]
                on_progress(max(0, position - reported))  # at the end too: the gzip trailer read after the last block
                reported = position
            else:
                on_progress(len(block))
        if not block:
            return
        yield block


def _gathered(stream: BinaryIO, size: int) -> bytes:
    """Up to `size` inflated bytes, gathered from small pieces, so a stream broken part way still
    gives everything before the break; the error comes with the next call."""
    pieces: list[bytes] = []
    got = 0
    while got < size:
        try:
            piece = stream.read1(size - got)  # type: ignore[attr-defined]
        except STREAM_ERRORS:
            if not pieces:
                raise
            break  # this block ends here; the next read meets the same error and raises it
        if not piece:
            break
        pieces.append(piece)
        got += len(piece)
    return b"".join(pieces)

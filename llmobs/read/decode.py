"""JSONL bytes straight into `Columns` by the native decoder (`llmobs._native`, in Rust), and every
line it is unsure of handed to the models (`read.judge`), which give the verdict and the reason.

It decodes on threads with the GIL released: byte ranges of plain files, read by the decoder itself, and streams (gzip, stdin), read
(and inflated) ahead on a thread and decoded in whole-line chunks.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, BinaryIO

import numpy as np

from llmobs.errors import InputError, LlmobsError
from llmobs.read import native
from llmobs.read.columns import (
    EVAL_DTYPES,
    SPAN_DTYPES,
    STRING_TABLES,
    USAGE_DTYPES,
    ColumnBuilder,
    Columns,
    EvalColumns,
    SpanColumns,
    Strings,
    TraceTexts,
    UsageColumns,
)
from llmobs.read.judge import AnyRecord, judge_line
from llmobs.read.sources import STREAM_ERRORS, blocks
from llmobs.read.stats import InputStats, broken_stream

ProgressCallback = Callable[[int], None]
STREAM_BLOCK_BYTES = 1 << 20


@dataclass(frozen=True)
class FileTask:
    """A byte range of a plain file, starting at the beginning of a line and ending after a
    newline or at the end of the file."""

    path: str
    start: int
    end: int
    lines_before: int = 0  # lines of the file before `start`, when it is counted from there (a cache's end)


def decode_files(tasks: list[FileTask], group_attrs: tuple[str, ...], threads: int, stats: InputStats,
                 on_progress: ProgressCallback | None = None) -> list[Columns]:
    """The columns of the tasks (in order), decoded on up to `threads` threads, with the lines the
    decoder is unsure of judged by the models, and everything accounted in `stats`."""
    with _native_errors(", ".join(sorted({task.path for task in tasks}))):
        raw, summaries, unsure = native.decode_files([(task.path, task.start, task.end) for task in tasks], list(group_attrs), threads, on_progress)
    decoded = _counted(columns_of(raw, group_attrs), stats)
    first_lines: list[int] = []  # of each task, counted from the start of its file
    lines_so_far: dict[str, int] = {}
    for task, (lines, _) in zip(tasks, summaries, strict=True):
        first_lines.append(lines_so_far.get(task.path, task.lines_before))
        lines_so_far[task.path] = first_lines[-1] + lines
        stats.lines += lines
    records: list[AnyRecord] = []
    unsure_by_task: dict[int, list[tuple[int, int, int, bool]]] = {}
    for index, line, offset, length, torn in unsure:
        unsure_by_task.setdefault(index, []).append((line, offset, length, torn))
    for index, (task, (lines, failure)) in enumerate(zip(tasks, summaries, strict=True)):
        if index in unsure_by_task:
            records += _judge_file_lines(task.path, unsure_by_task.pop(index), first_lines[index], stats)
        if failure is not None:
            kind, message = failure
            if kind == "read":
                stats.bad_line(task.path, first_lines[index] + lines, broken_stream(OSError(message)))
            elif kind == "open":
                raise InputError(f"{task.path}: cannot open: {message}")
            else:  # a bug caught in the decoder: no answer rather than a wrong one
                raise LlmobsError(f"{task.path}: the native decoder failed ({kind}: {message}); please report this as a bug")
    return [decoded, *judged_columns(records, group_attrs, stats)]


def _judge_file_lines(path: str, lines: list[tuple[int, int, int, bool]], first_line: int, stats: InputStats) -> list[AnyRecord]:
    """The models' verdict on lines of a file, read again from where the decoder found them."""
    records: list[AnyRecord] = []
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        for line, offset, length, torn in lines:
            records += judge_line(os.pread(descriptor, length, offset), path, first_line + line, stats, torn=torn)
    finally:
        os.close(descriptor)
    return records


def decode_stream(name: str, stream: BinaryIO, group_attrs: tuple[str, ...], stats: InputStats,
                  on_progress: ProgressCallback | None = None, *, strict: bool = False, threads: int = 1, read_ahead: bool = True,
                  pipe: bool = False, first_line: int = 1) -> list[Columns]:
    """The columns of a stream of lines (gzip, stdin), in batches of whole lines that the decoder
    cuts into chunks decoded on `threads` threads; with `read_ahead`, a thread reads (and inflates)
    the next batches meanwhile (from a `pipe`, a block a thread at a time, since a writer may fall
    silent before a batch fills). A stream that breaks part way keeps everything before the break,
    and the break is a bad line. With `strict`, reading stops after the batch holding the first
    bad line. Lines are numbered from `first_line` (a followed file's lines since the last look)."""
    decoder = native.StreamDecoder(list(group_attrs))
    records: list[AnyRecord] = []
    next_line = first_line
    batch_bytes = threads * (CHUNK_BYTES if read_ahead and not pipe else STREAM_BLOCK_BYTES)
    with _ReadAhead(stream, batch_bytes, on_progress, threaded=read_ahead, abandon=pipe) as reader:
        for batch in reader.batches():
            with _native_errors(name):
                lines, unsure = decoder.feed(batch, _chunks_of(batch, threads), threads)
            firsts = [next_line + sum(lines[:index]) for index in range(len(lines))]
            for index, line, text, torn in unsure:
                records += judge_line(text, name, firsts[index] + line - 1, stats, torn=torn)
            next_line += sum(lines)
            if strict and stats.bad_lines:
                break
        if reader.broken is not None:
            stats.bad_line(name, next_line - 1, broken_stream(reader.broken))
    stats.lines += next_line - first_line
    with _native_errors(name):
        decoded = _counted(columns_of(decoder.finish(), group_attrs), stats)
    return [decoded, *judged_columns(records, group_attrs, stats)]


CHUNK_BYTES = 16 << 20  # a thread's share of a stream at a time


def _line_batches(stream: BinaryIO, batch_bytes: int, on_progress: ProgressCallback | None) -> Iterator[bytes]:
    """`stream` in batches of whole lines of about `batch_bytes` (the last may end in a torn line);
    a stream error is raised after the batch of everything read before it."""
    pending: list[bytes] = []
    size = 0
    try:
        for block in blocks(stream, STREAM_BLOCK_BYTES, on_progress):
            pending.append(block)
            size += len(block)
            if size >= batch_bytes and (cut := block.rfind(b"\n")) >= 0:
                pending[-1] = block[: cut + 1]
                yield b"".join(pending)
                pending, size = ([block[cut + 1 :]], len(block) - cut - 1) if cut + 1 < len(block) else ([], 0)
    except STREAM_ERRORS:
        if pending:
            yield b"".join(pending)
        raise
    if pending:
        yield b"".join(pending)


class _ReadAhead:
    """A stream's batches of whole lines (`_line_batches`), read on a thread of their own when
    `threaded` (inflating a `.gz` file is most of reading it, and reading a pipe can go on while
    the last batch is decoded), else as they are asked for. A thread reading a pipe whose writer
    fell silent cannot be stopped: with `abandon`, it is left to end with the process. A stream
    error ends the batches and is kept in `broken`."""

    def __init__(self, stream: BinaryIO, batch_bytes: int, on_progress: ProgressCallback | None, *, threaded: bool, abandon: bool = False) -> None:
        self._abandon = abandon
        self.broken: BaseException | None = None
        self._source = _line_batches(stream, batch_bytes, on_progress)
        self._batches: queue.Queue[bytes | None] = queue.Queue(maxsize=2)  # memory: the batch decoded, and two read ahead
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="llmobs-read-ahead", daemon=True) if threaded else None

    def __enter__(self) -> _ReadAhead:
        if self._thread is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the reading thread: it ends at its next block of the file."""
        if self._thread is None:
            return
        self._stop.set()
        waited = 0
        while self._thread.is_alive():
            try:
                self._batches.get(timeout=0.05)  # room for a reader waiting to hand over a batch
            except queue.Empty:
                waited += 1
                if self._abandon and waited >= 4:
                    return  # blocked on a silent pipe: a daemon thread, it ends with the process
        self._thread.join()

    def _read(self) -> None:
        try:
            for batch in self._source:
                if not self._put(batch):
                    return
        except STREAM_ERRORS as exc:
            self.broken = exc
        except BaseException as exc:  # raised again in the reading thread
            self._failure = exc
        self._put(None)

    def _put(self, item: bytes | None) -> bool:
        while not self._stop.is_set():
            try:
                self._batches.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def batches(self) -> Iterator[bytes]:
        if self._thread is None:
            try:
                yield from self._source
            except STREAM_ERRORS as exc:
                self.broken = exc
            return
        while (batch := self._batches.get()) is not None:
            yield batch
        if self._failure is not None:
            raise self._failure


def _chunks_of(data: bytes, count: int) -> list[tuple[int, int]]:
    """`data` (whole lines, but for a torn last one) as up to `count` (start, end) ranges of whole
    lines, about equal in size."""
    bounds = [0]
    for k in range(1, count):
        newline = data.find(b"\n", max(bounds[-1], len(data) * k // count))
        if newline < 0 or newline + 1 >= len(data):
            break
        bounds.append(newline + 1)
    bounds.append(len(data))
    return [(start, end) for start, end in pairwise(bounds) if end > start]


@contextmanager
def _native_errors(name: str) -> Iterator[None]:
    """A failure inside the native decoder (a bug: it refuses nothing itself, and a panic is caught
    where it happens) as a clear error naming the input, never a Python traceback or a wrong answer."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit, InputError):
        raise
    except BaseException as exc:  # a caught Rust panic arrives as pyo3's PanicException, a BaseException
        raise LlmobsError(f"{name}: the native decoder failed ({type(exc).__name__}: {exc}); please report this as a bug") from exc


def _counted(columns: Columns, stats: InputStats) -> Columns:
    """`columns`, their records counted in `stats`."""
    stats.count_records(len(columns.spans.trace), len(columns.usage.trace), len(columns.evals.trace))
    return columns


def judged_columns(records: list[AnyRecord], group_attrs: tuple[str, ...], stats: InputStats) -> list[Columns]:
    """The models' records as columns of their own (none when there are none), counted."""
    if not records:
        return []
    builder = ColumnBuilder(group_attrs)
    stats.count_records(*builder.add_records(records))
    return [builder.finish()]


def _checked(arrays: dict[str, np.ndarray], dtypes: dict[str, Any]) -> dict[str, np.ndarray]:
    """The decoder's arrays, each of the dtype the analyses expect (a mismatch is a bug here, not
    something to convert silently)."""
    for name, values in arrays.items():
        if values.dtype != np.dtype(dtypes[name]):
            raise TypeError(f"native column {name} is {values.dtype}, not {np.dtype(dtypes[name])}")
    return arrays


def columns_of(raw: dict[str, Any], group_attrs: tuple[str, ...]) -> Columns:
    """`Columns` holding what the native decoder returned (its arrays, not copies)."""
    evals = raw["evals"]
    queries: list[str | None] = [None] * len(evals["trace"])
    for row, query in raw["eval_queries"]:
        queries[row] = query
    columns = Columns(
        spans=SpanColumns(**_checked(raw["spans"], SPAN_DTYPES), group=dict(zip(group_attrs, raw["groups"], strict=True))),
        usage=UsageColumns(**_checked(raw["usage"], USAGE_DTYPES)),
        evals=EvalColumns(**_checked(evals, EVAL_DTYPES), query=queries),
        **{name: Strings.of(raw["tables"][name]) for name in STRING_TABLES},
        root_input=TraceTexts(),
        root_request_id=TraceTexts(),
    )
    for name in ("root_input", "root_request_id"):
        getattr(columns, name).add_encoded(*raw[name])
    return columns

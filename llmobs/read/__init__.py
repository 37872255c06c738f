"""The streaming reader: paths in, columns and honest input accounting out.

    from llmobs.read import load
    data = load(["traces/", "old.jsonl.gz"])

Input is read in blocks of whole lines; each block is decoded by the fast path (`read.fast`) and
whatever it does not accept is judged line by line by the pydantic models, which give the reason.
Bad lines are counted with `file:line: reason` (the first few kept for display); unknown record
types are counted and skipped. Large plain files are split across processes (`read.parallel`).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from llmobs.agents import detect as detect_agent
from llmobs.errors import InputError
from llmobs.read.columns import ColumnBuilder, Columns, merge_columns, to_micros
from llmobs.read.decode import UnknownType, decode_line, decode_otlp, is_otlp
from llmobs.read.fast import LINE_DECODER, DecodeError, FastEval, FastSpan, FastUsage, parse_times
from llmobs.read.heap import release_free_memory
from llmobs.read.settle import settle
from llmobs.read.sources import STREAM_ERRORS, Source, expand, inflating, open_binary
from llmobs.records import Eval, Span, Usage

MAX_BAD_LINE_SAMPLES = 20
BLOCK_BYTES = 256 << 10  # ~1,000 lines: their decoded records stay in the CPU cache while columns are built (measured: 30 % faster than 4 MiB)
ProgressCallback = Callable[[int], None]


@dataclass
class BadLine:
    """Where a rejected line is and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


@dataclass
class InputStats:
    """What was read, FORMAT.md's `input` block plus the details behind it."""

    files: int = 0
    lines: int = 0
    records: int = 0
    bad_lines: int = 0
    skipped_unknown: int = 0
    spans: int = 0
    usage: int = 0
    evals: int = 0
    bad_samples: list[BadLine] = field(default_factory=list)  # the first MAX_BAD_LINE_SAMPLES, in order
    unknown_types: dict[str, int] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)
    newer_versions: set[int] = field(default_factory=set)
    duplicates: int = 0  # records read more than once, counted once (see read.settle)
    rollups: int = 0  # spans whose rolled-up usage counts only for its excess over their descendants'
    unused_usage_attrs: set[str] = field(default_factory=set)  # usage-like OTLP attributes no mapping reads

    @property
    def bad_line_samples(self) -> list[str]:
        """The kept bad lines as `file:line: reason`."""
        return [str(bad) for bad in self.bad_samples]

    @property
    def first_bad(self) -> BadLine | None:
        """The first bad line read: what `--strict` reports."""
        return self.bad_samples[0] if self.bad_samples else None

    def bad_line(self, source: str, line: int, reason: str) -> None:
        self.bad_lines += 1
        if len(self.bad_samples) < MAX_BAD_LINE_SAMPLES:
            self.bad_samples.append(BadLine(source, line, reason))

    def absorb(self, other: InputStats, line_offset: int = 0) -> None:
        """Add another part's counts; its line numbers are shifted by `line_offset` (a later range)."""
        for name in ("lines", "records", "bad_lines", "skipped_unknown", "spans", "usage", "evals"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for bad in other.bad_samples[: MAX_BAD_LINE_SAMPLES - len(self.bad_samples)]:
            self.bad_samples.append(BadLine(bad.source, bad.line + line_offset, bad.reason))
        for kind, count in other.unknown_types.items():
            self.unknown_types[kind] = self.unknown_types.get(kind, 0) + count
        self.newer_versions |= other.newer_versions
        self.unused_usage_attrs |= other.unused_usage_attrs


@dataclass
class Dataset:
    """Loaded data: the columns the analyses use and the accounting of how they were read."""

    columns: Columns
    stats: InputStats
    sources: list[str]


def load(
    paths: Sequence[str],
    *,
    strict: bool = False,
    group_attrs: tuple[str, ...] = (),
    on_progress: ProgressCallback | None = None,
    workers: int | None = None,
) -> Dataset:
    """Read every source into one data set. With `strict`, the first bad line raises InputError.

    `workers` caps the processes used for large plain files (default: the CPU count; 1 = none).
    """
    from llmobs.read.parallel import read_sources

    sources, ignored = expand(list(paths))
    stats = InputStats(files=len(sources), ignored_files=ignored)
    parts = read_sources(sources, stats, group_attrs, on_progress, workers, strict=strict)
    if strict and stats.first_bad is not None:
        raise InputError(f"{stats.first_bad} (--strict)")
    columns, stats.duplicates, stats.rollups = settle(merge_columns(parts))
    release_free_memory()  # the parts just merged
    return Dataset(columns=columns, stats=stats, sources=[s.name for s in sources])


class BlockReader:
    """Decodes blocks of whole lines into a ColumnBuilder, keeping the line accounting. With
    `stop_at_bad` (`--strict`), reading ends after the block holding the first bad line: the answer
    is that line, and the rest need not be read."""

    def __init__(self, builder: ColumnBuilder, stats: InputStats, *, stop_at_bad: bool = False) -> None:
        self.builder = builder
        self.stats = stats
        self.stop_at_bad = stop_at_bad

    def read_stream(self, name: str, stream: BinaryIO, first_line: int = 1, limit: int | None = None,
                    on_progress: ProgressCallback | None = None) -> int:
        """Read `stream` (at most `limit` bytes, ending on a line boundary); return lines read."""
        line_no = first_line
        with _collection_paused():
            for lines, torn, broken in line_blocks(stream, limit, on_progress):
                if broken is not None:
                    self.stats.bad_line(name, line_no - 1, broken_stream(broken))
                    break
                line_no = self.decode_lines(name, lines, line_no, torn)
                if self.stop_at_bad and self.stats.bad_lines:
                    break
        return line_no - first_line

    def decode_lines(self, name: str, lines: list[bytes], first_line: int, torn: bool) -> int:
        """Decode a block of whole lines into the builder; return the next line number."""
        stats = self.stats
        decode = LINE_DECODER.decode
        slow: list[int] = []
        try:
            records: list = [decode(line) for line in lines]  # the usual case: every line decodes
        except DecodeError:
            records = []
            for index, line in enumerate(lines):
                try:
                    records.append(decode(line))
                except DecodeError:
                    records.append(None)
                    slow.append(index)
        spans = [r for r in records if r.__class__ is FastSpan]
        usage = [r for r in records if r.__class__ is FastUsage]
        evals = [r for r in records if r.__class__ is FastEval]
        attempts = np.array([s.attempt for s in spans], dtype=np.int64)
        orphan_retries = [int(i) for i in np.flatnonzero(attempts != 1) if spans[i].retry_of is None]
        micros, rejected = parse_times([s.start for s in spans] + [u.time for u in usage] + [e.time for e in evals])
        rejected += orphan_retries  # positions in spans, which come first
        usage_offset, eval_offset = len(spans), len(spans) + len(usage)
        spans, span_times = _accepted(spans, micros, rejected, 0, records, FastSpan, slow)
        usage, usage_times = _accepted(usage, micros, rejected, usage_offset, records, FastUsage, slow)
        evals, eval_times = _accepted(evals, micros, rejected, eval_offset, records, FastEval, slow)
        self.builder.add_spans(spans, span_times)
        self.builder.add_usage(usage, usage_times)
        self.builder.add_evals(evals, eval_times)
        stats.spans += len(spans)
        stats.usage += len(usage)
        stats.evals += len(evals)
        stats.records += len(spans) + len(usage) + len(evals)
        if slow:
            self._judge_by_models(name, lines, sorted(slow), first_line, torn)
        stats.lines += len(lines)
        return first_line + len(lines)

    def _judge_by_models(self, name: str, lines: list[bytes], indexes: list[int], first_line: int, torn: bool) -> None:
        self.add_records([record for index in indexes for record in judge_line(lines[index], name, first_line + index, self.stats, torn=torn)])

    def add_records(self, records: list[Span | Usage | Eval]) -> None:
        """Validated records into the builder, counted."""
        stats = self.stats
        by_type: dict[type, list[Span | Usage | Eval]] = {Span: [], Usage: [], Eval: []}
        for record in records:
            by_type[type(record)].append(record)
        spans, usage, evals = by_type[Span], by_type[Usage], by_type[Eval]
        self.builder.add_spans(spans, np.array([to_micros(s.start) for s in spans], dtype=np.int64))  # type: ignore[union-attr]
        self.builder.add_usage(usage, np.array([to_micros(u.time) for u in usage], dtype=np.int64))  # type: ignore[union-attr]
        self.builder.add_evals(evals, np.array([to_micros(e.time) for e in evals], dtype=np.int64))  # type: ignore[union-attr]
        stats.spans += len(spans)
        stats.usage += len(usage)
        stats.evals += len(evals)
        stats.records += len(spans) + len(usage) + len(evals)


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Reading makes millions of short-lived objects and no cycles: collection passes would only cost."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def broken_stream(exc: BaseException) -> str:
    """The reason recorded when a stream fails part way (after the line it is recorded at)."""
    return f"stream broken after this line, rest of file unreadable ({exc})"


def line_blocks(stream: BinaryIO, limit: int | None = None, on_progress: ProgressCallback | None = None) -> Iterator[tuple[list[bytes], bool, BaseException | None]]:
    """`stream`'s whole lines a block at a time, as (lines, torn, None); a last line without a
    newline comes alone with torn=True; a stream that fails part way ends with ([], False, error).

    At most `limit` bytes are read (a byte range ending on a line boundary). A line longer than a
    block is gathered from its pieces and joined once.
    """
    carry: list[bytes] = []
    remaining = limit
    read_block = _BlockSource(stream)
    while True:
        size = BLOCK_BYTES if remaining is None else min(BLOCK_BYTES, remaining)
        try:
            block = read_block(size) if size > 0 else b""
        except STREAM_ERRORS as exc:
            if carry:
                yield [b"".join(carry)], True, None
            yield [], False, exc
            return
        if on_progress is not None:
            on_progress(read_block.consumed(block))  # at the end too: a gzip trailer read after the last block
        if not block:
            break
        if remaining is not None:
            remaining -= len(block)
        lines = block.split(b"\n")
        if len(lines) == 1:
            carry.append(block)
            continue
        if carry:
            lines[0] = b"".join([*carry, lines[0]])
        rest = lines.pop()  # after the last newline: the start of a line still being read
        carry = [rest] if rest else []
        yield lines, False, None
    if carry:
        yield [b"".join(carry)], True, None


def _accepted(group: list, micros: np.ndarray, rejected: list[int], offset: int, records: list, kind: type, slow: list[int]) -> tuple[list, np.ndarray]:
    """The records of `group` (at `offset` in `micros`) that the fast path accepts, with their
    times; the line indexes of the others (`rejected` positions) are added to `slow`."""
    times = micros[offset : offset + len(group)]
    mine = sorted({position - offset for position in rejected if offset <= position < offset + len(group)})
    if not mine:
        return group, times
    of_kind = [index for index, record in enumerate(records) if record.__class__ is kind]
    slow.extend(of_kind[position] for position in mine)
    keep = np.ones(len(group), dtype=bool)
    keep[mine] = False
    return [r for r, k in zip(group, keep, strict=True) if k], times[keep]


def judge_line(line: bytes, name: str, line_no: int, stats: InputStats, *, torn: bool) -> list[Span | Usage | Eval]:
    """The models' verdict on one line (or one whole OTLP/JSON document): its valid records, with
    bad lines, unknown types and newer format versions accounted in `stats` (records are not)."""
    if is_otlp(line):
        records, problem = decode_otlp(line, stats.unused_usage_attrs)
        if problem is not None:
            stats.bad_line(name, line_no, problem)
    else:
        result = decode_line(line)
        if isinstance(result, str):
            stats.bad_line(name, line_no, f"torn last line (no newline): {result}" if torn else result)
            return []
        if isinstance(result, UnknownType):
            stats.skipped_unknown += 1
            stats.unknown_types[result.type] = stats.unknown_types.get(result.type, 0) + 1
            return []
        records = [result]
    for record in records:
        if record.v != 1:
            stats.newer_versions.add(record.v)
    return records


class _BlockSource:
    """`read(size)` for plain streams; for gzip, small decompressed pieces gathered up to `size`, so a
    stream broken part way still yields everything before the break, then raises."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.incremental = inflating(stream)
        self.failure: BaseException | None = None
        self._reported = 0  # compressed bytes already counted by `consumed`

    def consumed(self, block: bytes) -> int:
        """Source bytes consumed since the last call (for a progress bar measured against file
        sizes): `block`'s length for plain input, the compressed bytes behind it for gzip."""
        if not self.incremental:
            return len(block)
        position = self.stream.raw.compressed_read  # type: ignore[attr-defined]
        consumed, self._reported = max(0, position - self._reported), position
        return consumed

    def __call__(self, size: int) -> bytes:
        if not self.incremental:
            return self.stream.read(size)
        if self.failure is not None:
            raise self.failure
        pieces: list[bytes] = []
        got = 0
        while got < size:
            try:
                piece = self.stream.read1(size - got)  # type: ignore[attr-defined]
            except STREAM_ERRORS as exc:
                self.failure = exc
                if not pieces:
                    raise
                break
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)


def read_source(source: Source, builder: ColumnBuilder, stats: InputStats, on_progress: ProgressCallback | None, *, stop_at_bad: bool = False) -> None:
    """Stream one whole source (file, gzip or stdin) into `builder`; a multi-line JSON document
    (an OTLP/JSON file as the spec shows them, pretty-printed) is read whole, as line 1."""
    stream, close = open_binary(source)
    try:
        reader = BlockReader(builder, stats, stop_at_bad=stop_at_bad)
        head = _head(stream)
        agent = detect_agent(head)
        if agent is not None or _is_multiline_document(head):
            document = _read_document(source.name, stream, stats)
            if on_progress is not None:
                on_progress(source.size() or len(document or b""))  # the file's bytes, compressed or not
            if agent is not None:
                reader.add_records(agent_records(source.name, agent, document, stats) if document is not None else [])
            elif document is not None:
                reader._judge_by_models(source.name, [document], [0], 1, torn=False)
            if agent is None or document is None:
                stats.lines += 1
            return
        reader.read_stream(source.name, stream, on_progress=on_progress)
    finally:
        close()


def agent_records(name: str, agent: str, data: bytes, stats: InputStats) -> list[Span | Usage | Eval]:
    """The records of a coding agent's session log, judged by the models, with its lines, bad
    lines and skipped line types accounted in `stats` (records are not)."""
    from pydantic import ValidationError

    from llmobs.agents import convert
    from llmobs.records import RECORD_ADAPTER

    converted = convert(agent, data)
    stats.lines += converted.lines
    for number, reason in converted.bad:
        stats.bad_line(name, number, reason)
    for kind, count in converted.skipped.items():
        stats.skipped_unknown += count
        stats.unknown_types[kind] = stats.unknown_types.get(kind, 0) + count
    records: list[Span | Usage | Eval] = []
    for candidate in converted.records:
        try:
            records.append(RECORD_ADAPTER.validate_python(candidate, strict=False))
        except ValidationError as exc:  # a value the log holds that the format cannot: named, not dropped silently
            first = exc.errors(include_input=False)[0]
            stats.bad_line(name, 0, f"{agent} {candidate.get('type')} of trace {candidate.get('trace_id')}: {'.'.join(map(str, first['loc'][1:]))}: {first['msg']}")
    return records


def whole_file(head: bytes) -> bool:
    """Whether a file must be read whole rather than split into line ranges: one multi-line JSON
    document, or a coding agent's session log (a turn spans many lines)."""
    return _is_multiline_document(head) or detect_agent(head) is not None


def _head(stream: BinaryIO) -> bytes:
    """The first 64 KiB of `stream`, left to be read; empty when they cannot be read (the reading
    that follows meets the same error and reports it as a broken stream)."""
    try:
        return stream.peek(1 << 16)[: 1 << 16] if hasattr(stream, "peek") else b""
    except STREAM_ERRORS:
        return b""


def _read_document(name: str, stream: BinaryIO, stats: InputStats) -> bytes | None:
    """A multi-line JSON document read whole; None, with line 1 counted bad, when the stream breaks
    part way (a cut or damaged `.gz`): a part of a document is not a document."""
    try:
        return stream.read()
    except STREAM_ERRORS as exc:
        stats.bad_line(name, 1, f"stream broken, the document cannot be read whole ({exc})")
        return None


def _is_multiline_document(head: bytes) -> bool:
    """True for a JSON document spread over lines: it starts with `{` or `[` and its first line is
    not a JSON value on its own."""
    stripped = head.lstrip()
    if stripped[:1] not in (b"{", b"[") or not is_otlp(head) or b"\n" not in stripped:
        return False  # no newline in sight: one long line, read line by line
    first_line = stripped.split(b"\n", 1)[0]
    try:
        json.loads(first_line)
    except ValueError:
        return True
    return False


def iter_records(sources: list[Source], stats: InputStats, mentioning: bytes | None = None) -> Iterator[Span | Usage | Eval]:
    """Every record of the sources as a validated model, accounting in `stats` as `load` does.

    With `mentioning`, lines that do not contain those bytes are counted but not decoded: a fast
    scan for one trace. A multi-line OTLP/JSON document is always decoded whole.
    """
    counter = {"span": "spans", "usage": "usage", "eval": "evals"}

    def counted(found: list[Span | Usage | Eval]) -> list[Span | Usage | Eval]:
        for record in found:
            setattr(stats, counter[record.type], getattr(stats, counter[record.type]) + 1)
        stats.records += len(found)
        return found

    for source in sources:
        stream, close = open_binary(source)  # one stream per source: stdin cannot be opened twice
        try:
            yield from _records_of_stream(source.name, stream, stats, counted, mentioning)
        finally:
            close()


def _records_of_stream(
    name: str,
    stream: BinaryIO,
    stats: InputStats,
    counted: Callable[[list[Span | Usage | Eval]], list[Span | Usage | Eval]],
    mentioning: bytes | None,
) -> Iterator[Span | Usage | Eval]:
    head = _head(stream)
    agent = detect_agent(head)
    if agent is not None or _is_multiline_document(head):
        document = _read_document(name, stream, stats)
        if agent is not None and document is not None:
            yield from counted([r for r in agent_records(name, agent, document, stats) if mentioning is None or mentioning in r.trace_id.encode()])
            return
        stats.lines += 1
        if document is not None:
            yield from counted(judge_line(document, name, 1, stats, torn=False))
        return
    line_no = 0
    try:
        for line in stream:
            line_no += 1
            if mentioning is None or mentioning in line:
                yield from counted(judge_line(line, name, line_no, stats, torn=not line.endswith(b"\n")))
    except STREAM_ERRORS as exc:
        stats.bad_line(name, line_no, broken_stream(exc))
    stats.lines += line_no


def load_records(paths: Sequence[str], *, strict: bool = False) -> tuple[list[Span | Usage | Eval], InputStats]:
    """Every record as a validated model, with the same accounting as `load`: for commands that
    need whole records (export) rather than columns. Holds them all in memory."""
    sources, ignored = expand(list(paths))
    stats = InputStats(files=len(sources), ignored_files=ignored)
    records = list(iter_records(sources, stats))
    if strict and stats.first_bad is not None:
        raise InputError(f"{stats.first_bad} (--strict)")
    return records, stats


__all__ = ["Dataset", "InputStats", "iter_records", "load", "load_records"]

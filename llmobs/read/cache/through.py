"""Reading one file through the cache (`read.cache`): what it holds for the file comes back mapped,
and only the rest is read.

A file of lines is kept up to the end of its last complete line: bytes past the cached end are
read and kept as a new segment, and a last line still being written is read every time, never
kept. Gzip files and whole documents are kept whole and read again on any change. The answer is
the same, column for column and count for count, as reading the file without a cache.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable

from llmobs.errors import InputError
from llmobs.read.cache.segment import Segment
from llmobs.read.cache.store import MAX_SEGMENTS, Cache, attrs_to_keep, file_state, seen
from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.decode import FileTask, ProgressCallback, decode_files
from llmobs.read.merge import merge_columns
from llmobs.read.plan import file_tasks, last_line_end
from llmobs.read.sources import Source, plain_lines_file
from llmobs.read.stats import InputStats
from llmobs.read.stream import read_source

BatchReader = Callable[[list[Source], tuple[str, ...], InputStats], list[Columns]]


def read_through_cache(source: Source, cache: Cache, group_attrs: tuple[str, ...], threads: int, stats: InputStats,
                       on_progress: ProgressCallback | None = None, *, strict: bool = False) -> list[Columns]:
    """The columns of the file `source`, counted in `stats`, from the cache where it still holds
    them and from the file for the rest; what was read is kept for next time (not after a
    `strict` read that found a bad line, which may have stopped early)."""
    try:
        return _read(source, cache, group_attrs, threads, stats, on_progress, strict=strict)[0]
    except OSError as exc:  # the file went away or became unreadable while it was being read
        raise InputError(f"{source.name}: cannot read: {exc.strerror or exc}") from None


def read_complete_lines(source: Source, cache: Cache, group_attrs: tuple[str, ...], threads: int, stats: InputStats) -> tuple[list[Columns], int]:
    """The columns of the file's complete lines (through the cache, as `read_through_cache`), and
    the byte offset where they end: where a follower of the growing file goes on from. A gzip file
    or document is read whole (its size is the offset)."""
    try:
        return _read(source, cache, group_attrs, threads, stats, None, strict=False, complete_only=True)
    except OSError as exc:
        raise InputError(f"{source.name}: cannot read: {exc.strerror or exc}") from None


def _read(source: Source, cache: Cache, group_attrs: tuple[str, ...], threads: int, stats: InputStats,
          on_progress: ProgressCallback | None, *, strict: bool, complete_only: bool = False) -> tuple[list[Columns], int]:
    path = source.name
    kind = "lines" if plain_lines_file(source) else "whole"
    checked_ns = time.time_ns()
    state = os.stat(path)
    wanted = group_attrs
    recalled, group_attrs = cache.recall(path, wanted, kind, state)
    own = InputStats()
    parts: list[Columns] = []
    for segment in recalled.segments if recalled is not None else []:
        own.add(as_named(segment.stats, [path], os.path.realpath))
        parts.append(segment.columns)
    cached_end = recalled.manifest.end if recalled is not None else 0
    if on_progress is not None and cached_end:
        on_progress(cached_end)
    if kind == "whole":
        if recalled is None:
            found = seen(path, state, checked_ns, state.st_size)
            parts = [merge_columns(read_source(source, group_attrs, own, on_progress, strict=strict, threads=threads) or [ColumnBuilder(group_attrs).finish()])]
            if not (strict and own.bad_lines):
                cache.keep(path, group_attrs, kind, found, None, [Segment(parts[0], as_kept(own, [path], os.path.realpath))])
        stats.add(own, path)
        return [with_groups(part, wanted) for part in parts], state.st_size

    complete_end = last_line_end(path, cached_end, state.st_size)
    new: list[Segment] = []
    if complete_end > cached_end:
        found = seen(path, state, checked_ns, complete_end, cached_end, recalled.manifest.crc if recalled is not None else 0)
        fresh = InputStats()
        columns = merge_columns(decode_files(file_tasks(path, threads, cached_end, complete_end, own.lines), group_attrs, threads, fresh, on_progress))
        own.add(fresh)
        new.append(Segment(columns, as_kept(fresh, [path], os.path.realpath)))
        parts.append(columns)
    kept_stats = InputStats()
    kept_stats.add(own)
    if state.st_size > complete_end and not complete_only:  # a last line still being written: read, not kept
        parts += decode_files([FileTask(path, complete_end, state.st_size, own.lines)], group_attrs, 1, own, on_progress)
    if new and not (strict and own.bad_lines):
        segments = recalled.segments if recalled is not None else []
        if len(segments) + len(new) > MAX_SEGMENTS:  # joined into one, as the run needs them joined anyway
            parts = parts[len(segments) + 1 :]
            whole = merge_columns([segment.columns for segment in segments] + [new[0].columns])
            parts.insert(0, whole)
            new = [Segment(whole, as_kept(kept_stats, [path], os.path.realpath))]
            recalled = None
        cache.keep(path, group_attrs, kind, found, recalled, new)
    stats.add(own, path)
    return [with_groups(part, wanted) for part in parts], complete_end


def read_batch_through_cache(reader: str, sources: list[Source], cache: Cache, group_attrs: tuple[str, ...], stats: InputStats,
                             read: BatchReader, on_progress: ProgressCallback | None = None, *, strict: bool = False,
                             always: tuple[str, ...] = ()) -> list[Columns]:
    """The columns of files read together (`read(sources, group attributes, stats)` reads them),
    counted in `stats`: from the cache while every one of them is as it was kept, else read again
    whole and kept (not after a `strict` read that found a bad line). The entry also holds the
    group attributes `always` (what `--by` asks of these files most), and those earlier runs
    asked for."""
    paths = [source.name for source in sources]
    checked_ns = time.time_ns()
    recalled, attrs = cache.recall_batch(reader, paths, group_attrs)
    own = InputStats()
    if recalled is not None:
        for segment in recalled.segments:
            own.add(as_named(segment.stats, paths, os.path.abspath))
        parts = [segment.columns for segment in recalled.segments]
        if on_progress is not None:
            on_progress(sum(source.size() or 0 for source in sources))
    else:
        attrs = attrs_to_keep(list(attrs), tuple(name for name in always if name not in attrs))
        try:
            files = [file_state(path, os.stat(path), checked_ns) for path in paths]
        except OSError:
            files = None  # gone since the folder was walked: the reader names it
        parts = [merge_columns(read(sources, attrs, own) or [ColumnBuilder(attrs).finish()])]
        if files is not None and not (strict and own.bad_lines):
            cache.keep_batch(reader, paths, attrs, files, checked_ns, Segment(parts[0], as_kept(own, paths, os.path.abspath)))
    stats.add(own)
    return [with_groups(part, group_attrs) for part in parts]


def as_kept(stats: InputStats, paths: list[str], key: Callable[[str], str]) -> InputStats:
    """`stats` naming `paths` as the entry keys them (`key`: real or absolute paths), so that a later
    run can name them its own way (`as_named`)."""
    return stats.renamed({path: key(path) for path in paths})


def as_named(stats: InputStats, paths: list[str], key: Callable[[str], str]) -> InputStats:
    """A kept segment's `stats` naming `paths` as this run does."""
    return stats.renamed({key(path): path for path in paths})


def with_groups(columns: Columns, names: tuple[str, ...]) -> Columns:
    """`columns` with only the group columns `names` (an entry holds every attribute runs asked for)."""
    if tuple(columns.spans.group) == names:
        return columns
    return dataclasses.replace(columns, spans=dataclasses.replace(columns.spans, group={name: columns.spans.group[name] for name in names}))

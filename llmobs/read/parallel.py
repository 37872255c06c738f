"""Spread reading over processes: a large plain file is cut into byte ranges at line boundaries,
each range becomes columns in its own process, and the parts merge (`merge_columns`).

Gzip files and stdin cannot be split and are read in this process, as are small files, where
starting a process would cost more than it saves. Workers are forked (no re-import of the caller's
main module, no start-up cost), and only from a single-threaded process, where forking is safe;
otherwise everything is read here.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import pairwise

from llmobs.read import BlockReader, InputStats, ProgressCallback, _is_multiline_document, read_source
from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.sources import GZIP_MAGIC, Source

PARALLEL_MIN_BYTES = 64 << 20


def _splittable(source: Source) -> bool:
    if source.is_stdin:
        return False
    try:
        with open(source.name, "rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return False
    return head[:2] != GZIP_MAGIC and not _is_multiline_document(head) and os.path.getsize(source.name) >= PARALLEL_MIN_BYTES


def line_ranges(path: str, parts: int) -> list[tuple[int, int]]:
    """`parts` byte ranges covering the file, each starting at the beginning of a line."""
    size = os.path.getsize(path)
    bounds = [0]
    with open(path, "rb") as handle:
        for k in range(1, parts):
            handle.seek(max(bounds[-1], size * k // parts))
            handle.readline()
            bounds.append(min(handle.tell(), size))
    bounds.append(size)
    return [(a, b) for a, b in pairwise(bounds) if b > a]


def _read_range(path: str, start: int, end: int, group_attrs: tuple[str, ...],
                on_progress: ProgressCallback | None = None) -> tuple[Columns, InputStats]:
    stats = InputStats()
    builder = ColumnBuilder(group_attrs)
    with open(path, "rb") as handle:
        handle.seek(start)
        BlockReader(builder, stats).read_stream(path, handle, limit=end - start, on_progress=on_progress)
    return builder.finish(), stats


def _scaled(on_progress: ProgressCallback, factor: int) -> ProgressCallback:
    def report(n: int) -> None:
        on_progress(n * factor)

    return report


def read_sources(
    sources: list[Source],
    stats: InputStats,
    group_attrs: tuple[str, ...],
    on_progress: ProgressCallback | None,
    workers: int | None,
) -> list[Columns]:
    """Columns of every source, in order, with `stats` accumulating the accounting."""
    workers = workers or os.cpu_count() or 1
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        workers = 1
    parts: list[Columns] = []
    pool: ProcessPoolExecutor | None = None
    try:
        for source in sources:
            if workers > 1 and _splittable(source):
                if pool is None:
                    pool = ProcessPoolExecutor(workers - 1, mp_context=multiprocessing.get_context("fork"))
                ranges = line_ranges(source.name, workers)
                futures: list[Future[tuple[Columns, InputStats]]] = [
                    pool.submit(_read_range, source.name, start, end, group_attrs) for start, end in ranges[1:]
                ]
                # This process reads the first range; progress counts it for all ranges alike.
                scaled = _scaled(on_progress, len(ranges)) if on_progress else None
                results = [_read_range(source.name, *ranges[0], group_attrs, scaled)]
                while futures:
                    results.append(futures.pop(0).result())
                offset = 0
                while results:
                    columns, part_stats = results.pop(0)
                    stats.absorb(part_stats, offset)
                    offset += part_stats.lines
                    parts.append(columns)
            else:
                builder = ColumnBuilder(group_attrs)
                part_stats = InputStats()
                read_source(source, builder, part_stats, on_progress)
                stats.absorb(part_stats)
                parts.append(builder.finish())
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if not parts:
        parts.append(ColumnBuilder(group_attrs).finish())
    return parts

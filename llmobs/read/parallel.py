"""Spread reading over processes: a large plain file is cut into byte ranges at line boundaries,
each range becomes columns in its own process, and the parts merge (`merge_columns`).

A gzip stream cannot be cut, so a large one is shared instead: every process inflates all of it
(ISA-L inflates several times faster than lines are decoded) and decodes only its own runs of
RUN_LINES lines; each run becomes a part, put back in stream order. Smaller files, gzip or not,
are shared out whole between processes by size; stdin is read in this process. Input smaller than
PARALLEL_MIN_BYTES in all is read here, where starting a process would cost more than it saves.
Workers are forked (no re-import of the caller's main module, no start-up cost), and only from a
single-threaded process, where forking is safe; otherwise everything is read here. A worker sends its columns back through a pipe with their arrays
out of band (pickle protocol 5), so no array is ever copied into a pickle on either side.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import pickle
import threading
from dataclasses import dataclass
from itertools import pairwise
from multiprocessing.connection import Connection
from typing import Any

from llmobs.errors import InputError, LlmobsError
from llmobs.read import BlockReader, InputStats, ProgressCallback, _collection_paused, _head, broken_stream, line_blocks, read_source, whole_file
from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.heap import release_free_memory
from llmobs.read.sources import GZIP_MAGIC, Source, inflating, open_binary

PARALLEL_MIN_BYTES = 64 << 20
GZIP_SHARE_MIN_BYTES = 8 << 20  # compressed: logs shrink about eightfold, so about PARALLEL_MIN_BYTES of lines
RUN_LINES = 1 << 16  # lines decoded by one process in turn when processes share a gzip stream
Part = tuple[int, Columns, InputStats]  # (run within its source, columns, accounting)


def _splittable(source: Source) -> bool:
    """A plain file large enough to be worth cutting into byte ranges."""
    if source.is_stdin:
        return False
    try:
        with open(source.name, "rb") as handle:
            head = handle.read(1 << 16)
    except OSError:
        return False
    return head[:2] != GZIP_MAGIC and not whole_file(head) and os.path.getsize(source.name) >= PARALLEL_MIN_BYTES


def _shareable(source: Source) -> bool:
    """A gzip file large enough to be worth sharing, holding lines (not one multi-line document)."""
    if source.is_stdin or (source.size() or 0) < GZIP_SHARE_MIN_BYTES:
        return False
    try:
        stream, close = open_binary(source)
    except (OSError, InputError):
        return False
    try:
        return inflating(stream) and not whole_file(_head(stream))
    finally:
        close()


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


@dataclass(frozen=True)
class Task:
    """One unit of reading: a whole source, a byte range of a plain file, or one share of a gzip
    stream (runs `share`, `share + shares`, … of RUN_LINES lines)."""

    source: Source
    start: int | None = None
    end: int | None = None
    share: int | None = None
    shares: int = 1

    @property
    def size(self) -> int:
        if self.start is not None and self.end is not None:
            return self.end - self.start
        return (self.source.size() or 0) // self.shares


def usable_cpus(cgroup_root: str = "/sys/fs/cgroup") -> int:
    """The CPUs this process may actually use: its affinity mask (`taskset`), lowered by a cgroup
    CPU quota (a container's `--cpus`), not the host's count."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup_root)
    return max(1, min(count, quota) if quota is not None else count)


def _cgroup_quota(root: str) -> int | None:
    """CPUs a cgroup quota allows (rounded up), from cgroup v2's `cpu.max` or v1's two files; None
    when there is no quota or none can be read."""
    try:
        with open(f"{root}/cpu.max") as handle:
            quota, period = handle.read().split()[:2]
    except (OSError, ValueError):
        try:
            with open(f"{root}/cpu/cpu.cfs_quota_us") as quota_file, open(f"{root}/cpu/cpu.cfs_period_us") as period_file:
                quota, period = quota_file.read().strip(), period_file.read().strip()
        except OSError:
            return None
    if quota in ("max", "-1"):
        return None
    try:
        return max(1, math.ceil(int(quota) / int(period)))
    except (ValueError, ZeroDivisionError):
        return None


def plan(sources: list[Source], workers: int) -> list[Task]:
    """The sources as tasks, in order: large plain files cut into one range per worker, large gzip
    files shared between the workers."""
    tasks: list[Task] = []
    for source in sources:
        if workers > 1 and _splittable(source):
            tasks += [Task(source, start, end) for start, end in line_ranges(source.name, workers)]
        elif workers > 1 and _shareable(source):
            tasks += [Task(source, share=share, shares=workers) for share in range(workers)]
        else:
            tasks.append(Task(source))
    return tasks


def bins(tasks: list[Task], count: int) -> list[list[int]]:
    """Task indexes shared out in `count` bins of about equal bytes; stdin stays in bin 0 (this process)."""
    shares: list[list[int]] = [[] for _ in range(count)]
    loads = [0] * count
    for index in sorted(range(len(tasks)), key=lambda i: -tasks[i].size):
        target = 0 if tasks[index].source.is_stdin else loads.index(min(loads))
        shares[target].append(index)
        loads[target] += tasks[index].size
    return [sorted(share) for share in shares]


def _unread(group_attrs: tuple[str, ...]) -> list[Part]:
    """The parts of a task not read (`--strict` already has its answer)."""
    return [(0, ColumnBuilder(group_attrs).finish(), InputStats())]


def run_tasks(tasks: list[Task], group_attrs: tuple[str, ...], on_progress: ProgressCallback | None = None, *, strict: bool = False) -> list[list[Part]]:
    """Read the tasks one after another in this process: the parts of each task. With `strict`,
    a task stops at its first bad line and the tasks after it (later in the input) are not read."""
    results: list[list[Part]] = []
    for task in tasks:
        if strict and any(stats.bad_lines for parts in results for _, _, stats in parts):
            results.append(_unread(group_attrs))
            continue
        if task.share is not None:
            results.append(read_share(task, group_attrs, on_progress, strict=strict))
            continue
        builder = ColumnBuilder(group_attrs)
        stats = InputStats()
        if task.start is None:
            read_source(task.source, builder, stats, on_progress, stop_at_bad=strict)
        else:
            with open(task.source.name, "rb") as handle:
                handle.seek(task.start)
                reader = BlockReader(builder, stats, stop_at_bad=strict)
                reader.read_stream(task.source.name, handle, limit=(task.end or 0) - task.start, on_progress=on_progress)
        results.append([(0, builder.finish(), stats)])
        release_free_memory()  # the chunks just joined into columns
    return results


def read_share(task: Task, group_attrs: tuple[str, ...], on_progress: ProgressCallback | None = None, *, strict: bool = False) -> list[Part]:
    """Inflate the whole gzip stream, decode only this share's runs of lines: one part per run,
    with line numbers counted from the start of the file. With `strict`, stop after this share's
    first bad line (the earliest of all shares' first bad lines is the file's)."""
    assert task.share is not None
    name = task.source.name
    readers: dict[int, BlockReader] = {}

    def reader(run: int) -> BlockReader:
        if run not in readers:
            readers[run] = BlockReader(ColumnBuilder(group_attrs), InputStats())
        return readers[run]

    def mine(run: int) -> bool:
        return run % task.shares == task.share

    # Every share inflates the whole file: progress counts a share's part of it.
    progress = (lambda consumed: on_progress(consumed // task.shares)) if on_progress else None
    stream, close = open_binary(task.source)
    line_no = 1
    try:
        with _collection_paused():
            for lines, torn, broken in line_blocks(stream, on_progress=progress):
                if broken is not None:
                    run = max(line_no - 2, 0) // RUN_LINES  # the run holding the last line read
                    if mine(run):
                        reader(run).stats.bad_line(name, line_no - 1, broken_stream(broken))
                    break
                position = 0
                while position < len(lines):
                    run = (line_no - 1) // RUN_LINES
                    take = min(len(lines) - position, (run + 1) * RUN_LINES - (line_no - 1))
                    if mine(run):
                        reader(run).decode_lines(name, lines[position : position + take], line_no, torn)
                    line_no += take
                    position += take
                if strict and any(r.stats.bad_lines for r in readers.values()):
                    break
    finally:
        close()
    parts = [(run, readers[run].builder.finish(), readers[run].stats) for run in sorted(readers)]
    release_free_memory()
    return parts


def _scaled(on_progress: ProgressCallback, factor: float) -> ProgressCallback:
    def report(n: int) -> None:
        on_progress(round(n * factor))

    return report


PIPE_BYTES = 1 << 20


def _widen(connection: Connection) -> None:
    """Ask for a 1 MiB pipe buffer (Linux; 64 KiB otherwise): fewer system calls per column."""
    try:
        import fcntl

        fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[attr-defined]
    except (ImportError, AttributeError, OSError):
        pass


def send(connection: Connection, value: object) -> None:
    """Send `value` with its large buffers (numpy arrays) apart from its pickle, each written to the
    pipe from where it lies: nothing is copied into a pickle, which would double the columns.

    The caller hands `value` over: each array is released once written, so this process shrinks
    while the receiver grows, instead of both holding the columns at once.
    """
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    del value
    connection.send((head, [buffer.raw().nbytes for buffer in buffers]))
    descriptor = connection.fileno()
    buffers.reverse()
    while buffers:
        buffer = buffers.pop()
        with buffer.raw() as view:
            written = 0
            while written < view.nbytes:
                written += os.write(descriptor, view[written:])
        buffer.release()


def receive(connection: Connection) -> Any:
    """The value `send` sent, its arrays backed by buffers read straight from the pipe into place."""
    head, sizes = connection.recv()
    descriptor = connection.fileno()
    buffers = []
    for size in sizes:
        buffer = bytearray(size)
        view = memoryview(buffer)
        got = 0
        while got < size:
            count = os.readv(descriptor, [view[got:]])
            if count == 0:
                raise EOFError("the worker's pipe closed part way through its results")
            got += count
        buffers.append(buffer)
    return pickle.loads(head, buffers=buffers)


def _worker(connection: Connection, tasks: list[Task], group_attrs: tuple[str, ...], strict: bool) -> None:
    """A forked worker's whole life: read its tasks, send back the results or the exception."""
    send(connection, _outcome(tasks, group_attrs, strict))  # no other reference: `send` frees the columns as it goes
    connection.close()


def _outcome(tasks: list[Task], group_attrs: tuple[str, ...], strict: bool) -> tuple[str, object]:
    try:
        return ("results", run_tasks(tasks, group_attrs, strict=strict))
    except BaseException as exc:  # handed to the parent, which raises it as if read there
        return ("error", exc)


def _collect(connection: Connection, process: multiprocessing.process.BaseProcess) -> list[list[Part]]:
    """A worker's results, or its exception raised here."""
    try:
        kind, value = receive(connection)
    except EOFError:
        process.join()
        code = process.exitcode or 0
        how = f"killed by signal {-code}" + (", often for lack of memory" if code == -9 else "") if code < 0 else f"exit code {code}"
        raise LlmobsError(f"a reading process ended without sending its results ({how})") from None
    finally:
        connection.close()
    process.join()
    if kind == "error":
        raise value
    return value


def _answered_here(tasks: list[Task], own: list[int], results: list, started: list) -> bool:
    """Whether this process's tasks hold a bad line that comes before every worker's task. A share
    of a gzip stream does not count: the shares' runs interleave, so any of them may hold the first."""
    bad = [index for index in own if tasks[index].share is None and any(stats.bad_lines for _, _, stats in results[index])]
    return bool(bad) and all(min(share) > bad[0] for share, _, _ in started)


def read_sources(
    sources: list[Source],
    stats: InputStats,
    group_attrs: tuple[str, ...],
    on_progress: ProgressCallback | None,
    workers: int | None,
    *,
    strict: bool = False,
) -> list[Columns]:
    """Columns of every source, in order, with `stats` accumulating the accounting.

    With several workers the tasks are shared out by bytes: this process reads its share while
    forked workers read theirs, and the parts are put back in the order of the sources. With
    `strict`, reading stops as soon as the first bad line of the input is known: when one of this
    process's tasks has a bad line and every worker's tasks come later, the workers are stopped.
    """
    workers = workers or usable_cpus()
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        workers = 1
    tasks = plan(sources, workers)
    total = sum(task.size for task in tasks)
    results: list[list[Part] | None] = [None] * len(tasks)
    if workers == 1 or len(tasks) == 1 or total < PARALLEL_MIN_BYTES:
        results = list(run_tasks(tasks, group_attrs, on_progress, strict=strict))
    else:
        shares = [share for share in bins(tasks, workers) if share] or [[]]
        own, others = shares[0], shares[1:]
        context = multiprocessing.get_context("fork")
        started: list[tuple[list[int], Connection, multiprocessing.process.BaseProcess]] = []
        try:
            for share in others:
                receiving, sending = context.Pipe(duplex=False)
                _widen(sending)
                process = context.Process(target=_worker, args=(sending, [tasks[i] for i in share], group_attrs, strict), daemon=True)
                process.start()
                sending.close()
                started.append((share, receiving, process))
            own_bytes = sum(tasks[i].size for i in own) or 1
            # Progress is counted on this process's share, scaled to stand for all of them.
            scaled = _scaled(on_progress, total / own_bytes) if on_progress else None
            for index, result in zip(own, run_tasks([tasks[i] for i in own], group_attrs, scaled, strict=strict), strict=True):
                results[index] = result
            if strict and _answered_here(tasks, own, results, started):
                for share, _, _ in started:  # all after this process's first bad line: not needed
                    for index in share:
                        results[index] = _unread(group_attrs)
            else:
                while started:
                    share, receiving, process = started.pop(0)
                    for index, result in zip(share, _collect(receiving, process), strict=True):
                        results[index] = result
        finally:
            for _, receiving, process in started:  # not collected (not needed, or after a failure): stop them
                receiving.close()
                process.terminate()
                process.join()
    parts: list[Columns] = []
    offsets: dict[str, int] = {}
    shared_runs: list[Part] = []
    for index, task in enumerate(tasks):
        result = results[index]
        results[index] = None
        assert result is not None
        if task.share is not None:  # the shares of one source come together: their runs, in stream order
            shared_runs += result
            if task.share < task.shares - 1:
                continue
            result, shared_runs = sorted(shared_runs, key=lambda part: part[0]), []
        for _, columns, part_stats in result:
            offset = 0 if task.share is not None else offsets.get(task.source.name, 0)  # a later byte range's lines follow the earlier ones'
            stats.absorb(part_stats, offset)
            offsets[task.source.name] = offset + part_stats.lines
            parts.append(columns)
    if not parts:
        parts.append(ColumnBuilder(group_attrs).finish())
    return parts

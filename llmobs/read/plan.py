"""Which sources the native decoder reads itself, in byte ranges on several threads, and which are
streams fed to it (gzip, stdin) or documents read whole (OTLP/JSON files, agent session logs); and
how many threads: the CPUs this process may actually use.

Consecutive plain files form one batch, decoded in one call so their threads share the work; a
plain file of PARALLEL_MIN_BYTES or more is cut into one range per thread at line boundaries. With
a cache, a file of its minimum size is read through it alone; smaller plain files go in batches that
each have one entry (a batch ends after a file whose path hashes so, about one in BATCH_FILES, so
that a file added or removed changes only its own batch), and an agent's session logs in one.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from itertools import pairwise

from llmobs.read.decode import FileTask
from llmobs.read.sources import Source, plain_lines_file, session_log_of

PARALLEL_MIN_BYTES = 8 << 20
BATCH_FILES = 32  # small files in a cached batch, on average
MAX_BATCH_FILES = 256


@dataclass
class FileBatch:
    """Plain files read by the native decoder in one call, as byte ranges; `cached`: read through
    one cache entry."""

    tasks: list[FileTask] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    cached: bool = False


@dataclass
class SessionLogs:
    """One coding agent's session logs, converted together: one API response may stand in several
    files (a Claude Code subagent's file and its parent's, a Codex branch and the session it
    copied); `cached`: read through one cache entry."""

    agent: str
    sources: list[Source] = field(default_factory=list)
    cached: bool = False


@dataclass(frozen=True)
class CachedFile:
    """A file read through the cache (`read.cache.through`), on its own."""

    source: Source


Step = FileBatch | SessionLogs | CachedFile | Source


def plan(sources: list[Source], threads: int, cache_min_bytes: int | None = None) -> list[Step]:
    """The sources in order, consecutive plain files gathered into batches of file tasks; each
    agent's session logs gathered into one step where the first of them stands; every other source
    (gzip, stdin, a whole document) stays as it is, to be read as a stream. With a cache (reading
    files of `cache_min_bytes` or more on their own), batches and session logs are read through it."""
    steps: list[Step] = []
    sessions: dict[str, SessionLogs] = {}
    cached = cache_min_bytes is not None
    for source in sources:
        agent = session_log_of(source)
        if agent is not None:
            if agent not in sessions:
                sessions[agent] = SessionLogs(agent, cached=cached)
                steps.append(sessions[agent])
            sessions[agent].sources.append(source)
            sessions[agent].cached &= not source.is_stdin
            continue
        if cache_min_bytes is not None and not source.is_stdin and (source.size() or 0) >= cache_min_bytes:
            steps.append(CachedFile(source))
            continue
        if not plain_lines_file(source):
            steps.append(source)
            continue
        batch = steps[-1] if steps and isinstance(steps[-1], FileBatch) else None
        if batch is None or (cached and _batch_full(batch)):
            batch = FileBatch(cached=cached)
            steps.append(batch)
        batch.tasks += file_tasks(source.name, threads, 0, os.path.getsize(source.name))
        batch.sources.append(source)
    return steps


def _batch_full(batch: FileBatch) -> bool:
    """Whether a cached batch ends after its last file: one whose absolute path's hash is a multiple
    of BATCH_FILES, or the MAX_BATCH_FILES-th."""
    last = os.path.abspath(batch.sources[-1].name).encode("utf-8", "surrogateescape")
    return len(batch.sources) >= MAX_BATCH_FILES or int.from_bytes(hashlib.blake2b(last, digest_size=4).digest(), "big") % BATCH_FILES == 0


def file_tasks(path: str, threads: int, start: int, end: int, lines_before: int = 0) -> list[FileTask]:
    """The bytes [start, end) of a plain file (`start` at the beginning of a line) as tasks: one
    range per thread when it is PARALLEL_MIN_BYTES or more, else one."""
    parts = threads if threads > 1 and end - start >= PARALLEL_MIN_BYTES else 1
    return [FileTask(path, a, b, lines_before) for a, b in line_ranges(path, parts, end, start)]


def line_ranges(path: str, parts: int, size: int | None = None, start: int = 0) -> list[tuple[int, int]]:
    """About `parts` byte ranges covering the file from `start` (the beginning of a line) to
    `size`, each starting at the beginning of a line (nothing to cover is one empty range)."""
    size = os.path.getsize(path) if size is None else size
    bounds = [start]
    with open(path, "rb") as handle:
        for k in range(1, parts):
            handle.seek(max(bounds[-1], start + (size - start) * k // parts))
            handle.readline()
            bounds.append(min(handle.tell(), size))
    bounds.append(size)
    return [(a, b) for a, b in pairwise(bounds) if b > a] or [(start, start)]


def last_line_end(path: str, start: int, end: int, block: int = 1 << 16) -> int:
    """Where the last complete line before `end` ends (just after its newline), no earlier than
    `start`: `start` when [start, end) holds no newline."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        return line_end_in(descriptor, start, end, block)
    finally:
        os.close(descriptor)


def line_end_in(descriptor: int, start: int, end: int, block: int = 1 << 16) -> int:
    """`last_line_end` of a file already open (a followed file, whose name may have moved on)."""
    position = end
    while position > start:
        low = max(start, position - block)
        newline = os.pread(descriptor, position - low, low).rfind(b"\n")
        if newline >= 0:
            return low + newline + 1
        position = low
    return start


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

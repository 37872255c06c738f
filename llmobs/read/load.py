"""The reader's pipeline, paths in, settled columns out:

    sources (paths, gzip, stdin) → decode (native; the models judge what it is unsure of)
        → columns → merge → settle (duplicates, rollups, sampling weights)

Plain files are decoded in byte ranges on threads; gzip and stdin are streamed through the same
decoder (`stream.py`); an OTLP/JSON document is read whole and judged by the models, and each
agent's session logs are read whole and converted together. With a cache (`cache/`), a file comes
back from it and only what changed is read. Every line is accounted in `InputStats`: bad lines with `file:line: reason`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmobs.agents import SESSION_ATTRS
from llmobs.errors import InputError
from llmobs.read.cache import BatchReader, Cache, read_batch_through_cache, read_through_cache
from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.decode import ProgressCallback, decode_files
from llmobs.read.heap import release_free_memory
from llmobs.read.merge import merge_columns
from llmobs.read.plan import CachedFile, FileBatch, SessionLogs, plan, usable_cpus
from llmobs.read.settle import settle
from llmobs.read.sources import Source, blocks, expand, open_binary
from llmobs.read.stats import InputStats
from llmobs.read.stream import read_session_logs, read_source


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
    threads: int | None = None,
    cache: Cache | None = None,
) -> Dataset:
    """Read every source into one data set. With `strict`, the first bad line raises InputError
    (sources after the one holding it are not read). `threads` caps the decoding threads (default:
    the CPUs this process may use). With a `cache`, files of its minimum size or more are read
    through it (only what changed since it kept them is read), and smaller files and session logs
    in batches (read again when one of the batch changed)."""
    sources, ignored = expand(list(paths))
    stats = InputStats(files=len(sources), ignored_files=ignored)
    threads = threads or usable_cpus()
    parts: list[Columns] = []
    for step in plan(sources, threads, None if cache is None else cache.min_bytes):
        if isinstance(step, FileBatch | SessionLogs):
            read = _batch_reader(step, threads, on_progress)
            if step.cached and cache is not None:
                reader, always = ("lines", ()) if isinstance(step, FileBatch) else (step.agent, SESSION_ATTRS)
                parts += read_batch_through_cache(reader, step.sources, cache, group_attrs, stats, read, on_progress, strict=strict, always=always)
            else:
                parts += read(step.sources, group_attrs, stats)
        elif isinstance(step, CachedFile):
            parts += read_through_cache(step.source, cache, group_attrs, threads, stats, on_progress, strict=strict)  # type: ignore[arg-type]
        else:
            parts += read_source(step, group_attrs, stats, on_progress, strict=strict, threads=threads)
        if strict and stats.first_bad is not None:
            raise InputError(f"{stats.first_bad} (--strict)")
    problem = unrecognised_session_log(stats)
    if problem is not None:
        raise InputError(problem)
    columns, duplicates, stats.rollups = settle(merge_columns(parts or [ColumnBuilder(group_attrs).finish()]))
    stats.duplicates += duplicates  # besides the copies the agents' converters already counted once
    release_free_memory()  # the parts just merged
    return Dataset(columns=columns, stats=stats, sources=[s.name for s in sources])


def _batch_reader(step: FileBatch | SessionLogs, threads: int, on_progress: ProgressCallback | None) -> BatchReader:
    """How the step's files are read together: plain files decoded as the step's byte ranges, an
    agent's session logs converted."""
    if isinstance(step, FileBatch):
        return lambda _sources, attrs, stats: decode_files(step.tasks, attrs, threads, stats, on_progress)
    return lambda sources, attrs, stats: read_session_logs(step.agent, sources, attrs, stats, on_progress, threads)


AGENT_NAMES = {"claude-code": "Claude Code", "codex": "Codex CLI"}


def unrecognised_session_log(stats: InputStats) -> str | None:
    """An error naming the first file that is mostly lines of a coding agent's own types but was
    not read as that agent's session log: none of its calls were counted, and no total may look
    right without them."""
    found = mostly_agent_lines(stats)
    if found is None:
        return None
    name, agent, count, lines = found
    return (f"{name}: {count:,} of its {lines:,} lines are {AGENT_NAMES[agent]} session-log lines, but the file was not recognised "
            f"as a {AGENT_NAMES[agent]} session log, so nothing in it was counted (please report this file's first lines as a bug)")


def mostly_agent_lines(stats: InputStats) -> tuple[str, str, int, int] | None:
    """(file, agent, its lines of that agent's types, all its lines) of the first file read whose
    lines are at least half one coding agent's own."""
    for name, counts in stats.agent_lines.items():
        agent, count = max(counts.items(), key=lambda item: item[1])
        lines = _line_count(name) if name != "-" else stats.lines
        if lines and count * 2 >= lines:
            return name, agent, count, lines
    return None


def _line_count(path: str) -> int:
    try:
        stream, close = open_binary(Source(path))
    except InputError:
        return 0
    try:
        return sum(block.count(b"\n") for block in blocks(stream, 1 << 20))
    except OSError:
        return 0
    finally:
        close()

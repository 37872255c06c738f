"""Reading on a Dask cluster (`--engine dask`): the decoding, which is most of a run's work, is spread
over the cluster's workers, one task per whole file or per byte range of a large file of lines;
paths may be local (on a filesystem every worker sees) or URLs that fsspec opens (`s3://…`,
`gs://…`). Each task returns its columns and its accounting. `report` and `checklist` make their
answer on the cluster from these in parts (`analysis.cluster`); the other commands need every row,
and `load_on_cluster` joins the tasks' columns here once and settles them, so every answer is the
local engine's exactly (same columns, same counts, same bad lines with the same `file:line`).
Joining them on the workers in a tree copied every row once per level and took longer
(benchmarks/dask_workers.py: 9.8 s against 8.4 s on one worker). Needs `pip install 'llmobs[dask]'`
(and `llmobs[s3]` for `s3://`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from llmobs.errors import ConfigError, InputError
from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.decode import decode_stream
from llmobs.read.merge import merge_columns
from llmobs.read.settle import settle
from llmobs.read.sources import GZIP_MAGIC, Source, expand, head, is_log_file, is_multiline_document, session_log_of
from llmobs.read.stats import BadLine, InputStats
from llmobs.read.stream import read_session_logs, read_source

BLOCK_BYTES = 64 << 20  # a task's share of a large file of lines


@dataclass(frozen=True)
class Block:
    """A task: lines of `path` starting in [start, end) (the whole file when `end` is None). `name`
    is the file as the user named it, for messages; `path` is absolute, as workers run elsewhere."""

    name: str
    path: str
    start: int = 0
    end: int | None = None
    agent: str | None = None  # a coding agent's session logs, converted together in one task
    members: tuple[tuple[str, str], ...] = ()  # with `agent`: (name, path) of each of them

    @property
    def remote(self) -> bool:
        return "://" in self.path


def _fsspec() -> Any:
    try:
        import fsspec
    except ImportError:
        raise ConfigError("URLs need fsspec: pip install 'llmobs[dask]' (and 'llmobs[s3]' for s3://)") from None
    return fsspec


def blocks(paths: list[str], block_bytes: int = BLOCK_BYTES) -> tuple[list[Block], list[str]]:
    """The tasks for `paths` in order (local paths expanded as the local engine expands them, URLs
    by fsspec's glob), and the files passed over in directories."""
    found: list[Block] = []
    ignored: list[str] = []
    sessions: dict[str, list[tuple[str, str]]] = {}
    for path in paths:
        if path == "-":
            raise ConfigError("--engine dask cannot read stdin: the workers read the files themselves")
        if "://" not in path:
            sources, passed_over = expand([path])
            ignored += passed_over
            for source in sources:
                agent = session_log_of(source)
                if agent is not None:
                    if agent not in sessions:  # the task stands where the first of them does
                        sessions[agent] = []
                        found.append(Block(source.name, os.path.abspath(source.name), agent=agent))
                    sessions[agent].append((source.name, os.path.abspath(source.name)))
                else:
                    found += _split(source.name, os.path.abspath(source.name), os.path.getsize(source.name), block_bytes)
            continue
        try:
            listed = _listed(path)
        except (ConfigError, InputError):
            raise
        except Exception as exc:  # fsspec's backends raise their own kinds (botocore's NoCredentialsError, …)
            raise InputError(f"{path}: cannot list it ({type(exc).__name__}: {exc})") from None
        for name, size in listed:
            if "*" in path and not is_log_file(name):
                ignored.append(name)
                continue
            found += _split(name, name, size, block_bytes)
    return [replace(block, members=tuple(sessions[block.agent])) if block.agent else block for block in found], ignored


def _listed(url: str) -> list[tuple[str, int]]:
    """The files a URL or URL glob names, sorted, with their sizes."""
    fs, _, urls = _fsspec().get_fs_token_paths(url)
    if not urls:
        raise InputError(f"{url}: no such file")
    protocol = url.split("://", 1)[0]
    files = []
    for found in sorted(urls):
        info = fs.info(found)
        if info.get("type") != "directory":
            files.append((found if "://" in found else f"{protocol}://{found}", int(info["size"])))
    return files


def _split(name: str, path: str, size: int, block_bytes: int) -> list[Block]:
    """A file as tasks: ranges of `block_bytes` for a large file of lines, else the whole file."""
    if name.endswith(".gz") or size <= block_bytes:
        return [Block(name, path)]
    return [Block(name, path, start, min(start + block_bytes, size)) for start in range(0, size, block_bytes)]


def read_block(block: Block, group_attrs: tuple[str, ...]) -> tuple[Columns, InputStats]:
    """One task, on a worker: the block's columns and accounting, its lines numbered from 1 at the
    block's first line (the caller renumbers them within the file)."""
    stats = InputStats()
    if block.agent is not None:
        names = {path: name for name, path in block.members}
        parts = read_session_logs(block.agent, [Source(path) for _, path in block.members], group_attrs, stats)
        return merge_columns(parts or [ColumnBuilder(group_attrs).finish()]), stats.renamed(names)
    if not block.remote and block.end is None:
        parts = read_source(Source(block.path), group_attrs, stats)
        stats.bad_samples = [BadLine(block.name, bad.line, bad.reason) for bad in stats.bad_samples]
        return merge_columns(parts or [ColumnBuilder(group_attrs).finish()]), stats
    data = _bytes_of(block)
    if data.startswith(GZIP_MAGIC):
        from isal.igzip import decompress

        data = decompress(data)
    if block.start == 0 and is_multiline_document(head(io.BytesIO(data))):
        raise InputError(f"{block.name}: an OTLP/JSON document or session log is read from a local path only, not from a URL")
    parts = decode_stream(block.name, io.BytesIO(data), group_attrs, stats, read_ahead=False)
    return merge_columns(parts or [ColumnBuilder(group_attrs).finish()]), stats


def _bytes_of(block: Block) -> bytes:
    """The bytes of the lines that start in the block: from the first line start at or after its
    start through the newline ending the line its end falls in."""
    from fsspec.utils import read_block as read_lines

    with _fsspec().open(block.path, "rb") if block.remote else open(block.path, "rb") as handle:
        if block.end is None:
            return handle.read()  # type: ignore[no-any-return]
        return read_lines(handle, block.start, block.end - block.start, delimiter=b"\n")  # type: ignore[no-any-return]


@contextmanager
def client_for(scheduler: str) -> Iterator[Any]:
    """A `dask.distributed` client of the cluster at `scheduler`, closed on leaving."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise ConfigError("--engine dask needs dask.distributed: pip install 'llmobs[dask]'") from None
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
    with client:
        yield client


@contextmanager
def gathered() -> Iterator[None]:
    """Waiting on the cluster's results: an error a task raised is the same error here (a file that
    cannot be read is an InputError naming it)."""
    try:
        yield
    except (InputError, ConfigError):
        raise
    except OSError as exc:
        raise InputError(f"a worker could not read its file: {exc}") from None


def renumbered(tasks: list[Block], block_stats: list[InputStats], ignored: list[str]) -> InputStats:
    """The accounting of the whole reading from its tasks', each bad line numbered in its file."""
    stats = InputStats(files=len({path for task in tasks for path in ([p for _, p in task.members] or [task.path])}), ignored_files=ignored)
    lines_before: dict[str, int] = {}
    for task, part in zip(tasks, block_stats, strict=True):
        if task.agent is not None:  # session logs: their bad lines name their own files and lines already
            stats.add(part)
            continue
        offset = lines_before.get(task.path, 0)
        part.bad_samples = [BadLine(task.name, bad.line + offset, bad.reason) for bad in part.bad_samples]
        lines_before[task.path] = offset + part.lines
        stats.add(part)
    return stats


def load_on_cluster(paths: list[str], scheduler: str, *, strict: bool = False, group_attrs: tuple[str, ...] = (), block_bytes: int = BLOCK_BYTES) -> Any:
    """Read `paths` on the Dask cluster at `scheduler`, files larger than `block_bytes` in ranges of
    that size, the columns sent here: the same `Dataset` the local engine gives (for the commands
    that need every row; `report` is made on the cluster in parts, `analysis.cluster`)."""
    from llmobs.read.load import Dataset

    tasks, ignored = blocks(paths, block_bytes)
    with client_for(scheduler) as client, gathered():
        results = client.gather(client.map(read_block, tasks, group_attrs=group_attrs, pure=False))
    stats = renumbered(tasks, [part for _, part in results], ignored)
    merged = merge_columns([columns for columns, _ in results] or [ColumnBuilder(group_attrs).finish()])
    del results
    if strict and stats.first_bad is not None:
        raise InputError(f"{stats.first_bad} (--strict)")
    settled, duplicates, stats.rollups = settle(merged)
    stats.duplicates += duplicates  # besides the copies the agents' converters already counted once
    return Dataset(columns=settled, stats=stats, sources=source_names(tasks))


def source_names(tasks: list[Block]) -> list[str]:
    """The files the tasks read, each once, as the user named them."""
    return list(dict.fromkeys(name for task in tasks for name in ([name for name, _ in task.members] or [task.name])))

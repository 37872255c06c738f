"""The reader's pipeline, paths in, settled columns out:

    sources (paths, gzip, stdin) → decode (native; the models judge what it is unsure of)
        → columns → merge → settle (duplicates, rollups, sampling weights)

Plain files are decoded in byte ranges on threads; gzip and stdin are streamed through the same
decoder; an OTLP/JSON document or a coding agent's session log is read whole and judged by the
models. Every line is accounted in `InputStats`: bad lines with `file:line: reason`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmobs.agents import detect as detect_agent
from llmobs.errors import InputError
from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.decode import ProgressCallback, decode_files, decode_stream, judged_columns
from llmobs.read.heap import release_free_memory
from llmobs.read.judge import whole_source_records
from llmobs.read.merge import merge_columns
from llmobs.read.plan import FileBatch, plan, usable_cpus
from llmobs.read.settle import settle
from llmobs.read.sources import Source, expand, head, is_multiline_document, open_binary
from llmobs.read.stats import InputStats


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
) -> Dataset:
    """Read every source into one data set. With `strict`, the first bad line raises InputError
    (sources after the one holding it are not read). `threads` caps the decoding threads (default:
    the CPUs this process may use)."""
    sources, ignored = expand(list(paths))
    stats = InputStats(files=len(sources), ignored_files=ignored)
    threads = threads or usable_cpus()
    parts: list[Columns] = []
    for step in plan(sources, threads):
        if isinstance(step, FileBatch):
            parts += decode_files(step.tasks, group_attrs, threads, stats, on_progress)
        else:
            parts += read_source(step, group_attrs, stats, on_progress, strict=strict, threads=threads)
        if strict and stats.first_bad is not None:
            raise InputError(f"{stats.first_bad} (--strict)")
    columns, stats.duplicates, stats.rollups = settle(merge_columns(parts or [ColumnBuilder(group_attrs).finish()]))
    release_free_memory()  # the parts just merged
    return Dataset(columns=columns, stats=stats, sources=[s.name for s in sources])


def read_source(source: Source, group_attrs: tuple[str, ...], stats: InputStats, on_progress: ProgressCallback | None = None,
                *, strict: bool = False, threads: int = 1) -> list[Columns]:
    """The columns of one source read as a stream (gzip, stdin) or, for a multi-line JSON document
    (an OTLP/JSON file as the spec shows them) or an agent's session log, read whole as line 1."""
    stream, close = open_binary(source)
    try:
        start = head(stream)
        agent = detect_agent(start)
        if agent is None and not is_multiline_document(start):
            return decode_stream(source.name, stream, group_attrs, stats, on_progress, strict=strict, threads=threads, read_ahead=not source.is_stdin)
        records, read = whole_source_records(source.name, stream, agent, stats)
        if on_progress is not None:
            on_progress(source.size() or read)  # the file's bytes, compressed or not
        return judged_columns(records, group_attrs, stats)
    finally:
        close()

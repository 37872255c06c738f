"""The reader's pipeline, paths in, settled columns out:

    sources (paths, gzip, stdin) → decode (native; the models judge what it is unsure of)
        → columns → merge → settle (duplicates, rollups, sampling weights)

Plain files are decoded in byte ranges on threads; gzip and stdin are streamed through the same
decoder (`stream.py`); an OTLP/JSON document or a coding agent's session log is read whole and
judged by the models. With a cache (`cache.py`), a file comes back from it and only what changed is
read (`cached.py`). Every line is accounted in `InputStats`: bad lines with `file:line: reason`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmobs.errors import InputError
from llmobs.read.cache import Cache
from llmobs.read.cached import read_through_cache
from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.decode import ProgressCallback, decode_files
from llmobs.read.heap import release_free_memory
from llmobs.read.merge import merge_columns
from llmobs.read.plan import CachedFile, FileBatch, plan, usable_cpus
from llmobs.read.settle import settle
from llmobs.read.sources import expand
from llmobs.read.stats import InputStats
from llmobs.read.stream import read_source


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
    through it: only what changed since it kept them is read."""
    sources, ignored = expand(list(paths))
    stats = InputStats(files=len(sources), ignored_files=ignored)
    threads = threads or usable_cpus()
    parts: list[Columns] = []
    worth_caching = None if cache is None else (lambda source: (source.size() or 0) >= cache.min_bytes)
    for step in plan(sources, threads, worth_caching):
        if isinstance(step, FileBatch):
            parts += decode_files(step.tasks, group_attrs, threads, stats, on_progress)
        elif isinstance(step, CachedFile):
            parts += read_through_cache(step.source, cache, group_attrs, threads, stats, on_progress, strict=strict)  # type: ignore[arg-type]
        else:
            parts += read_source(step, group_attrs, stats, on_progress, strict=strict, threads=threads)
        if strict and stats.first_bad is not None:
            raise InputError(f"{stats.first_bad} (--strict)")
    columns, stats.duplicates, stats.rollups = settle(merge_columns(parts or [ColumnBuilder(group_attrs).finish()]))
    release_free_memory()  # the parts just merged
    return Dataset(columns=columns, stats=stats, sources=[s.name for s in sources])

"""`llmobs report --engine dask`: the report made on a Dask cluster in mergeable parts, so that no
machine ever holds all the columns.

Each file (or 64 MiB range of a large file of lines) is read by a task (`read.cluster`), which
cuts its columns into parts by trace (`read.merge.split_by_trace`); a task per part then joins
that part of every read, settles it (duplicates, rollups, sampling weights: all per trace),
filters it, normalises its step names and makes its `ReportPart` (`analysis.partial`); the parts
are merged pairwise on the workers, a tree, and the last one is finished here into the `Report`.
"""

from __future__ import annotations

import operator

from llmobs.analysis.filters import Filters, select
from llmobs.analysis.names import NameRules, normalize_names
from llmobs.analysis.partial import ReportPart, finish_report, merge_parts, report_part
from llmobs.analysis.results import Report
from llmobs.analysis.steps import BUILTIN_GROUPS
from llmobs.errors import InputError
from llmobs.pricing import Pricer
from llmobs.read.cluster import BLOCK_BYTES, Block, blocks, client_for, gathered, read_block, renumbered, source_names
from llmobs.read.columns import Columns
from llmobs.read.merge import merge_columns, split_by_trace
from llmobs.read.settle import settle
from llmobs.read.stats import InputStats
from llmobs.units import plural

PARTS_PER_WORKER = 2


def report_on_cluster(paths: list[str], scheduler: str, pricer: Pricer, *, by: str = "name", filters: Filters | None = None,
                      name_rules: NameRules | None = None, strict: bool = False, block_bytes: int = BLOCK_BYTES,
                      parts: int | None = None) -> tuple[Report, InputStats, list[str]]:
    """The report of `paths`, made on the cluster at `scheduler` in `parts` parts (default: two per
    worker); also the reading's accounting and the sources read."""
    filters = filters or Filters()
    group_attrs = () if by in BUILTIN_GROUPS else (by,)
    tasks, ignored = blocks(paths, block_bytes)
    with client_for(scheduler) as client:
        count = parts or max(1, PARTS_PER_WORKER * len(client.scheduler_info()["workers"]))
        reads = client.map(_read_in_parts, tasks, group_attrs=group_attrs, count=count, pure=False)
        block_stats = client.map(operator.itemgetter(1), reads)
        pieces = [[client.submit(_piece, read, part) for read in reads] for part in range(count)]
        partials = [client.submit(_part_of, *part_pieces, pricer=pricer, by=by, filters=filters, name_rules=name_rules) for part_pieces in pieces]
        while len(partials) > 1:  # merged pairwise on the workers
            partials = [client.submit(merge_parts, *partials[i : i + 2]) if i + 1 < len(partials) else partials[i] for i in range(0, len(partials), 2)]
        with gathered():
            stats = renumbered(tasks, client.gather(block_stats), ignored)
            if strict and stats.first_bad is not None:
                raise InputError(f"{stats.first_bad} (--strict)")
            merged: ReportPart = partials[0].result() if partials else ReportPart()
    stats.duplicates += merged.duplicates  # besides the copies the agents' converters already counted once
    stats.rollups = merged.rollups
    no_data = None
    if not stats.records:
        no_data = f"the input holds no records ({plural(stats.files, 'file')}, {plural(stats.lines, 'line')})"
    elif filters.active and not merged.rows:
        no_data = f"no request matches the filters ({filters.describe()})"
    return finish_report(merged, stats, no_data), stats, source_names(tasks)


def _read_in_parts(block: Block, group_attrs: tuple[str, ...], count: int) -> tuple[list[Columns], InputStats]:
    """A reading task: the block's columns cut into `count` parts by trace, and its accounting."""
    columns, stats = read_block(block, group_attrs)
    return split_by_trace(columns, count), stats


def _piece(read: tuple[list[Columns], InputStats], part: int) -> Columns:
    return read[0][part]


def _part_of(*pieces: Columns, pricer: Pricer, by: str, filters: Filters, name_rules: NameRules | None) -> ReportPart:
    """One part of every read, settled, filtered and named as the local engine does it, as a `ReportPart`."""
    columns, duplicates, rollups = settle(merge_columns(list(pieces)))
    columns = select(columns, filters)
    if name_rules is not None:
        columns, _ = normalize_names(columns, name_rules)
    part = report_part(columns, pricer, by)
    part.duplicates, part.rollups = duplicates, rollups
    return part

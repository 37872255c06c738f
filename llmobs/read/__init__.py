"""The streaming reader: paths in, columns and honest input accounting out.

    from llmobs.read import load
    data = load(["traces/", "old.jsonl.gz"])

Lines are validated by the record models one at a time and never kept; bad lines are counted with
`file:line: reason` (the first few kept for display), unknown record types are counted and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from llmobs.errors import InputError
from llmobs.read.columns import ColumnBuilder, Columns
from llmobs.read.decode import UnknownType, decode_line
from llmobs.read.sources import Source, expand, iter_lines

MAX_BAD_LINE_SAMPLES = 20
ProgressCallback = Callable[[int], None]


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
    bad_line_samples: list[str] = field(default_factory=list)
    unknown_types: dict[str, int] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)
    newer_versions: set[int] = field(default_factory=set)

    def bad_line(self, where: str, reason: str) -> None:
        self.bad_lines += 1
        if len(self.bad_line_samples) < MAX_BAD_LINE_SAMPLES:
            self.bad_line_samples.append(f"{where}: {reason}")


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
) -> Dataset:
    """Read every source into one data set. With `strict`, the first bad line raises InputError."""
    sources, ignored = expand(list(paths))
    stats = InputStats(files=len(sources), ignored_files=ignored)
    builder = ColumnBuilder(group_attrs)
    for source in sources:
        _read_source(source, builder, stats, strict, on_progress)
    return Dataset(columns=builder.finish(), stats=stats, sources=[s.name for s in sources])


def _read_source(
    source: Source,
    builder: ColumnBuilder,
    stats: InputStats,
    strict: bool,
    on_progress: ProgressCallback | None,
) -> None:
    counts = {"span": 0, "usage": 0, "eval": 0}
    line_no = 0
    pending_bytes = 0
    lines = iter_lines(source)
    while True:
        try:
            line = next(lines)
        except StopIteration:
            break
        except (OSError, EOFError) as exc:
            reason = f"stream broken after this line, rest of file unreadable ({exc})"
            if strict:
                raise InputError(f"{source.name}:{line_no}: {reason}") from None
            stats.bad_line(f"{source.name}:{line_no}", reason)
            break
        line_no += 1
        pending_bytes += len(line)
        if on_progress is not None and pending_bytes > 1 << 20:
            on_progress(pending_bytes)
            pending_bytes = 0
        result = decode_line(line)
        if isinstance(result, str):
            if not line.endswith(b"\n"):
                result = f"torn last line (no newline): {result}"
            if strict:
                raise InputError(f"{source.name}:{line_no}: {result} (--strict)")
            stats.bad_line(f"{source.name}:{line_no}", result)
        elif isinstance(result, UnknownType):
            stats.skipped_unknown += 1
            stats.unknown_types[result.type] = stats.unknown_types.get(result.type, 0) + 1
        else:
            if result.v > 1:
                stats.newer_versions.add(result.v)
            counts[result.type] += 1
            builder.add(result)
    if on_progress is not None and pending_bytes:
        on_progress(pending_bytes)
    stats.lines += line_no
    stats.spans += counts["span"]
    stats.usage += counts["usage"]
    stats.evals += counts["eval"]
    stats.records += counts["span"] + counts["usage"] + counts["eval"]

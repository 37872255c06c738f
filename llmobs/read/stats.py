"""The reader's accounting: what was read, which lines were bad and why (FORMAT.md's `input` block).

Every stage of reading adds to one `InputStats`; a line is never dropped without being counted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

MAX_BAD_LINE_SAMPLES = 20
MAX_NOTES = 20


@dataclass
class BadLine:
    """Where a rejected line is and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


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
    bad_samples: list[BadLine] = field(default_factory=list)  # the first MAX_BAD_LINE_SAMPLES, in order
    unknown_types: dict[str, int] = field(default_factory=dict)
    ignored_files: list[str] = field(default_factory=list)
    newer_versions: set[int] = field(default_factory=set)
    duplicates: int = 0  # records read more than once, counted once (see read.settle)
    rollups: int = 0  # spans whose rolled-up usage counts only for its excess over their descendants'
    unused_usage_attrs: set[str] = field(default_factory=set)  # usage-like OTLP attributes no mapping reads
    notes: list[str] = field(default_factory=list)  # what was counted in an unusual way, the first MAX_NOTES
    note_count: int = 0
    agent_lines: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> agent -> its lines skipped as unknown types

    @property
    def bad_line_samples(self) -> list[str]:
        """The kept bad lines as `file:line: reason`."""
        return [str(bad) for bad in self.bad_samples]

    @property
    def first_bad(self) -> BadLine | None:
        """The first bad line read: what `--strict` reports."""
        return self.bad_samples[0] if self.bad_samples else None

    def bad_line(self, source: str, line: int, reason: str) -> None:
        self.bad_lines += 1
        if len(self.bad_samples) < MAX_BAD_LINE_SAMPLES:
            self.bad_samples.append(BadLine(source, line, reason))

    def agent_line(self, source: str, agent: str) -> None:
        """A line of a coding agent's own type skipped in `source`: its session log was not recognised."""
        counts = self.agent_lines.setdefault(source, {})
        counts[agent] = counts.get(agent, 0) + 1

    def note(self, text: str) -> None:
        """Name something the report must say about how a record was counted."""
        self.note_count += 1
        if len(self.notes) < MAX_NOTES:
            self.notes.append(text)

    def add(self, other: InputStats, source: str | None = None) -> None:
        """Count what `other` counted after what this counted (the bad-line samples of both, in
        that order), naming `source` in samples that name no file (a cache segment's)."""
        for name in ("files", "lines", "records", "bad_lines", "skipped_unknown", "spans", "usage", "evals", "duplicates", "rollups", "note_count"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        room = MAX_BAD_LINE_SAMPLES - len(self.bad_samples)
        self.bad_samples += [BadLine(bad.source or source or "", bad.line, bad.reason) for bad in other.bad_samples[:max(room, 0)]]
        for kind, count in other.unknown_types.items():
            self.unknown_types[kind] = self.unknown_types.get(kind, 0) + count
        self.ignored_files += other.ignored_files
        self.newer_versions |= other.newer_versions
        self.unused_usage_attrs |= other.unused_usage_attrs
        self.notes += other.notes[:max(MAX_NOTES - len(self.notes), 0)]
        for name, counts in other.agent_lines.items():
            for agent, count in counts.items():
                mine = self.agent_lines.setdefault(name or source or "", {})
                mine[agent] = mine.get(agent, 0) + count

    def renamed(self, names: dict[str, str]) -> InputStats:
        """A copy naming files by `names` (old name -> new) in its samples, notes and per-file counts:
        a cache entry keeps files by path, a Dask worker reads them by its own, and the user sees
        them as they were named."""
        copy = dataclasses.replace(self)
        copy.bad_samples = [BadLine(names.get(bad.source, bad.source), bad.line, bad.reason) for bad in self.bad_samples]
        copy.agent_lines = {names.get(name, name): dict(counts) for name, counts in self.agent_lines.items()}
        copy.notes = [_renamed_note(note, names) for note in self.notes]
        return copy

    def count_records(self, spans: int, usage: int, evals: int) -> None:
        self.spans += spans
        self.usage += usage
        self.evals += evals
        self.records += spans + usage + evals


def _renamed_note(note: str, names: dict[str, str]) -> str:
    """A note that starts with a file's name (`name: what`, `name:line: what`), under that file's new name."""
    for old, new in names.items():
        if note.startswith(old + ":"):
            return new + note[len(old):]
    return note


def broken_stream(exc: BaseException) -> str:
    """The reason recorded when a stream fails part way (after the line it is recorded at)."""
    return f"stream broken after this line, rest of file unreadable ({exc})"

"""Following growing log files: the complete lines written since the last look, file by file.

Files are known by identity (device and inode), not by name, so a log renamed by its rotation is
read to its end under whatever name it now has, and the new file at the old name is read from its
start. A file that shrank, or whose first line changed, was truncated (copy-and-truncate rotation, maybe
written again past where reading was) and is read again from its start. A new file that begins with the very bytes of a file already read is that file's copy (a
rotation's `.1`, or its `.gz`), and only what lies past what was read of it is new. A last line
without its newline is a writer in the middle of its `write`: it waits for the newline, and only a
file that has stopped growing after its rotation gives it up as it is.
"""

from __future__ import annotations

import glob
import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from llmobs.errors import InputError
from llmobs.read.plan import line_end_in
from llmobs.read.sources import GZIP_MAGIC, STREAM_ERRORS, Source, files_matching, log_files_in, open_binary

FINGERPRINT_BYTES = 1024  # the head that tells a copy of a file from another file
RETIRED_QUIET_SECONDS = 5.0  # a rotated-away file that has not grown for this long is read to its end and let go
READ_LIMIT = 64 << 20  # bytes read from one file in one look, so one huge file cannot starve the rest


@dataclass
class Lines:
    """Complete lines of one file: `data` ends with a newline unless the file was let go with a last
    line that never got one; its first line is line `first_line` of the file."""

    name: str
    first_line: int
    data: bytes


class Position(NamedTuple):
    """Where reading a file has got to: just after a newline, the number of the next line, and the
    file's fingerprint then (a file rewritten in place since has another)."""

    offset: int
    line: int
    fingerprint: str | None


Identity = tuple[int, int]  # (device, inode)


@dataclass
class Followed:
    """One file being followed: where reading has got to (just after a newline) and which line that is."""

    name: str
    identity: Identity
    descriptor: int
    offset: int = 0
    line: int = 1  # the number of the next line
    fingerprint: str | None = None
    retired_at: float | None = None  # when it was rotated away from its name
    last_growth: float = field(default_factory=time.monotonic)


def fingerprint_of(head: bytes) -> str | None:
    """A file's fingerprint: the hash of its first line (of at most its first FINGERPRINT_BYTES),
    which no append changes; None while that line is not complete."""
    newline = head.find(b"\n", 0, FINGERPRINT_BYTES)
    if newline < 0 and len(head) < FINGERPRINT_BYTES:
        return None
    return hashlib.sha1(head[: newline + 1 if newline >= 0 else FINGERPRINT_BYTES]).hexdigest()


class Follower:
    """The files named by `targets` (files, directories walked for log files, globs), followed.

    `start_at_end` starts every file existing now at its end (only what is written from now on is
    read); `resume` gives, per file identity, where an earlier run stopped, which stopped at
    `new_since` (files modified since then that it did not know are read from their start). Files
    that appear later are read from their start."""

    def __init__(self, targets: list[str], *, start_at_end: bool, resume: dict[Identity, Position] | None = None,
                 new_since: float | None = None) -> None:
        self.targets = targets
        self.new_since = new_since
        self.files: dict[Identity, Followed] = {}
        self.consumed: dict[str, int] = {}  # fingerprint -> bytes read of the file that had it
        self.read_gzip: set[Identity] = set()
        self.events: list[str] = []  # rotations, truncations and copies noticed, for the view
        self.resume = resume or {}
        self._check_targets()
        for path in self.discover():
            self._add(path, at_end=start_at_end, initial=True)

    def _check_targets(self) -> None:
        for target in self.targets:
            if not (os.path.exists(target) or glob.has_magic(target) or os.path.isdir(os.path.dirname(target) or ".")):
                raise InputError(f"{target}: no such file or directory, nor a folder where it could appear")

    def discover(self) -> list[str]:
        return discover(self.targets)

    def _add(self, path: str, *, at_end: bool, initial: bool = False) -> Lines | None:
        try:
            state = os.stat(path)
        except OSError:
            return None
        identity = (state.st_dev, state.st_ino)
        if identity in self.files:
            self.files[identity].name = path  # a followed file under its new name
            return None
        if identity in self.read_gzip:
            return None
        if initial and at_end and self.new_since is not None and state.st_mtime > self.new_since:
            at_end = False  # written first while no run was following: all of it is new
        if _is_gzip(path):
            self.read_gzip.add(identity)
            return None if (at_end and initial) else self._read_gzip(path)
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError as exc:
            self.events.append(f"{path}: cannot open: {exc.strerror or exc}")
            return None
        followed = Followed(name=path, identity=identity, descriptor=descriptor)
        head = os.pread(descriptor, FINGERPRINT_BYTES, 0)
        followed.fingerprint = fingerprint_of(head)
        if identity in self.resume:
            resumed = self.resume.pop(identity)
            if resumed.offset <= state.st_size and (resumed.fingerprint == followed.fingerprint or resumed.offset == 0):
                followed.offset, followed.line = resumed.offset, resumed.line
            else:
                self.events.append(f"{path}: rewritten since the last watch; read from its start")
        elif at_end and initial:
            followed.offset = line_end_in(descriptor, 0, state.st_size)
            followed.line = 1 + _count_lines(descriptor, followed.offset)
        elif followed.fingerprint is not None and followed.fingerprint in self.consumed:
            followed.offset = line_end_in(descriptor, 0, min(self.consumed[followed.fingerprint], state.st_size))
            followed.line = 1 + _count_lines(descriptor, followed.offset)
            self.events.append(f"{path}: a copy of a file already read; read from byte {followed.offset:,} on")
        self.files[identity] = followed
        return None

    def _read_gzip(self, path: str) -> Lines | None:
        """A gzip file, read whole once; a compressed copy of a file already read gives only what lies
        past what was read of it."""
        try:
            stream, close = open_binary(Source(path))
            try:
                data = stream.read()
            finally:
                close()
        except (InputError, *STREAM_ERRORS) as exc:
            self.events.append(f"{path}: cannot read: {exc}")
            return None
        known = fingerprint_of(data[:FINGERPRINT_BYTES])
        skip = self.consumed.get(known, 0) if known is not None else 0
        if skip:
            skip = data.rfind(b"\n", 0, skip) + 1
            self.events.append(f"{path}: a compressed copy of a file already read; read from byte {skip:,} on")
        return Lines(path, 1 + data.count(b"\n", 0, skip), data[skip:]) if len(data) > skip else None

    def poll(self) -> list[Lines]:
        """Every complete line written since the last poll, file by file; new files are picked up."""
        out: list[Lines] = []
        for path in self.discover():
            lines = self._add(path, at_end=False)
            if lines is not None:
                out.append(lines)
        now = time.monotonic()
        for followed in list(self.files.values()):
            out += self._read(followed, now)
        return out

    def _read(self, followed: Followed, now: float) -> list[Lines]:
        out: list[Lines] = []
        try:
            size = os.fstat(followed.descriptor).st_size
        except OSError:
            size = followed.offset
        if followed.retired_at is None:
            self._check_name(followed, now)
        rewritten = (followed.fingerprint is not None and size >= followed.offset
                     and fingerprint_of(os.pread(followed.descriptor, FINGERPRINT_BYTES, 0)) != followed.fingerprint)
        if size < followed.offset or rewritten:  # truncated, though maybe written again past where reading was
            self.events.append(f"{followed.name}: truncated; read again from its start")
            if followed.fingerprint is not None:
                self.consumed[followed.fingerprint] = max(self.consumed.get(followed.fingerprint, 0), followed.offset)
            followed.offset, followed.line, followed.fingerprint = 0, 1, None
        if size > followed.offset:
            data = os.pread(followed.descriptor, min(size - followed.offset, READ_LIMIT), followed.offset)
            end = data.rfind(b"\n") + 1
            if end:
                out.append(Lines(followed.name, followed.line, data[:end]))
                followed.offset += end
                followed.line += data.count(b"\n", 0, end)
                followed.last_growth = now
            if followed.fingerprint is None:
                followed.fingerprint = fingerprint_of(os.pread(followed.descriptor, FINGERPRINT_BYTES, 0))
        if followed.fingerprint is not None:
            self.consumed[followed.fingerprint] = max(self.consumed.get(followed.fingerprint, 0), followed.offset)
        if followed.retired_at is not None and now - followed.last_growth >= RETIRED_QUIET_SECONDS and len(out) == 0:
            tail = os.pread(followed.descriptor, max(size - followed.offset, 0), followed.offset)
            if tail:
                out.append(Lines(followed.name, followed.line, tail))
                followed.offset += len(tail)
                followed.line += 1
            self._let_go(followed)
        return out

    def _check_name(self, followed: Followed, now: float) -> None:
        """Whether the file is still at its name; if another file is there now, it was rotated away."""
        try:
            state = os.stat(followed.name)
            moved = (state.st_dev, state.st_ino) != followed.identity
        except OSError:
            moved = True
        if moved:
            followed.retired_at = now
            self.events.append(f"{followed.name}: rotated away; its old file is read to its end")
            self._add(followed.name, at_end=False)

    def _let_go(self, followed: Followed) -> None:
        os.close(followed.descriptor)
        del self.files[followed.identity]

    def positions(self) -> dict[Identity, Position]:
        """Where reading has got to in each file being followed (for a later run to resume)."""
        return {identity: Position(f.offset, f.line, f.fingerprint) for identity, f in self.files.items()}

    def names(self) -> Iterable[str]:
        return (f.name for f in self.files.values())

    def close(self) -> None:
        for followed in list(self.files.values()):
            self._let_go(followed)


def discover(targets: list[str]) -> list[str]:
    """The files `targets` name now: files, log files in directories, and glob matches (as the
    reader's `expand` finds them, but a target that names nothing yet is no error: it may appear)."""
    found: list[str] = []
    for target in targets:
        if os.path.isdir(target):
            found += log_files_in(target)[0]
        elif glob.has_magic(target):
            found += files_matching(target)
        elif os.path.isfile(target):
            found.append(target)
    return list(dict.fromkeys(found))


def _is_gzip(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == GZIP_MAGIC
    except OSError:
        return False


def _count_lines(descriptor: int, end: int, block: int = 1 << 20) -> int:
    count, position = 0, 0
    while position < end:
        chunk = os.pread(descriptor, min(block, end - position), position)
        if not chunk:
            break
        count += chunk.count(b"\n")
        position += len(chunk)
    return count

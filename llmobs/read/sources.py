"""Turn the paths a user gives (files, directories, globs, `-`) into line streams, gzip or not.

Gzip is inflated by ISA-L (`isal`), about twice as fast as the standard library's zlib, through
its drop-in `GzipFile`.
"""

from __future__ import annotations

import glob
import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from isal import igzip, isal_zlib

from llmobs.errors import InputError

LOG_SUFFIXES = (".jsonl", ".ndjson", ".json", ".log")
GZIP_MAGIC = b"\x1f\x8b"
# What reading a stream can raise part way: I/O errors, a truncated gzip (EOFError) and corrupt
# compressed data (ISA-L's own error, which is not an OSError).
STREAM_ERRORS = (OSError, EOFError, isal_zlib.error)


@dataclass(frozen=True)
class Source:
    """One input: a file path, or `-` for standard input."""

    name: str

    @property
    def is_stdin(self) -> bool:
        return self.name == "-"

    def size(self) -> int | None:
        return None if self.is_stdin else os.path.getsize(self.name)


def _is_log_file(name: str) -> bool:
    base = name[:-3] if name.endswith(".gz") else name
    return base.endswith(LOG_SUFFIXES)


def expand(paths: list[str]) -> tuple[list[Source], list[str]]:
    """The sources named by `paths`, in order, and the files passed over inside directories.

    Directories are walked for `*.jsonl`, `*.ndjson`, `*.json`, `*.log` (and their `.gz`); a glob
    matching nothing or a missing path is an InputError, since a typo must not read as "no data".
    """
    sources: list[Source] = []
    ignored: list[str] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        if path not in seen:
            seen.add(path)
            sources.append(Source(path))

    for path in paths:
        if path == "-":
            add("-")
        elif os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for file in sorted(files):
                    full = os.path.join(root, file)
                    if _is_log_file(file):
                        add(full)
                    else:
                        ignored.append(full)
        elif os.path.exists(path):
            add(path)
        elif glob.has_magic(path):
            matches = sorted(m for m in glob.glob(path, recursive=True) if os.path.isfile(m))
            if not matches:
                raise InputError(f"{path}: no file matches this pattern")
            for match in matches:
                add(match)
        else:
            raise InputError(f"{path}: no such file or directory")
    if not sources:
        if ignored:
            raise InputError(
                f"no log files among the inputs: {len(ignored)} file(s) in the directories (e.g. {ignored[0]}) do not end in "
                ".jsonl, .ndjson, .json or .log (optionally .gz); name such files directly to read them"
            )
        raise InputError("no input files: give JSONL files, directories, globs or - for stdin")
    return sources, ignored


def open_binary(source: Source) -> tuple[BinaryIO, Callable[[], None]]:
    """A buffered binary stream of the source, gunzipped when it starts with gzip's magic (whatever
    its name), and the function that closes everything opened for it."""
    if source.is_stdin:
        raw: BinaryIO = sys.stdin.buffer
    else:
        try:
            raw = open(source.name, "rb")  # noqa: SIM115 (closed by the returned closer)
        except OSError as exc:
            raise InputError(f"{source.name}: cannot open: {exc.strerror or exc}") from None
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    close_raw = (lambda: None) if source.is_stdin else raw.close
    if buffered.peek(2)[:2] == GZIP_MAGIC:
        unzipped = igzip.IGzipFile(fileobj=buffered, mode="rb")

        def close() -> None:
            unzipped.close()
            close_raw()

        return unzipped, close  # type: ignore[return-value]
    return buffered, close_raw

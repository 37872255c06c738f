"""The columnar cache: what was read from a log file, kept so a later run reads only what changed.

Each file has an entry (a folder named by a hash of its real path and the group attributes) with a
manifest and the segments (`read.cache.segment`) that hold its columns, one per stretch read. A file that
grew is read from the end of its last complete line onward, into a new segment; one that shrank,
was rewritten or rotated is read again. The manifest keys the file by identity (device, inode),
size, mtime, a hash of its head and of the bytes just before the cached end, the CRC-32 of what is
kept (which decides when the mtime is too recent to prove anything), and the reader's version. An
append's segment is joined with the earlier ones into one (see MAX_SEGMENTS). Files are replaced by
rename, never rewritten in place (a run may have them mapped); writers take the entry's lock and a
run that finds it taken leaves the entry to the other. A damaged file is named in a warning and
read around, never used.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import orjson
from isal import isal_zlib

from llmobs.read.cache.segment import DamagedSegment, Frozen, Segment, freeze, read_segment, write_segment

CACHE_FORMAT = 1
HASH_BYTES = 4096  # hashed at the head of a file and just before the cached end
# An entry with more segments is compacted into one. Measured (benchmarks/cache_vs_duckdb.py, 3 million
# records, +1 %): keeping an append's segment apart (up to 8) made the append's run 2.84 s and the
# next one 2.91 s; joining them at once, 2.74 s and 2.09 s. Joining costs every run that reads two
# segments more than writing the whole file's once (on a thread, while the run goes on).
MAX_SEGMENTS = 1
DEFAULT_MIN_BYTES = 1 << 20  # files smaller are read directly (benchmarks/cache_threshold.py)
RACY_NS = 2_000_000_000  # a file changed this close to when it was read may change again with the same mtime: its CRC decides
DEFAULT_MAX_BYTES = 2 << 30  # the cache's size, past which the least recently used entries go (LLMOBS_CACHE_MAX_SIZE)
MANIFEST = "manifest.json"
LOCK = "lock"


def default_directory() -> Path:
    """`LLMOBS_CACHE_DIR`, else `$XDG_CACHE_HOME/llmobs`, else `~/.cache/llmobs`."""
    explicit = os.environ.get("LLMOBS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "llmobs"


def max_size() -> tuple[int, str | None]:
    """The cache's size limit, from `LLMOBS_CACHE_MAX_SIZE` (bytes, or with K, M, G or T: 500M,
    2G), and a warning when it cannot be read (the default then holds)."""
    text = os.environ.get("LLMOBS_CACHE_MAX_SIZE", "").strip()
    if not text:
        return DEFAULT_MAX_BYTES, None
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    number, unit = (text[:-1], units[text[-1].upper()]) if text[-1].upper() in units else (text, 1)
    try:
        value = float(number.removesuffix("i").strip()) * unit
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        return DEFAULT_MAX_BYTES, f"LLMOBS_CACHE_MAX_SIZE={text!r} is not a size (bytes, or like 500M or 2G); the cache keeps to {DEFAULT_MAX_BYTES >> 30} GiB"
    return int(value), None


def reader_version() -> str:
    """What the cached columns depend on besides the file: the cache layout, llmobs' version and
    the reader's own code (its modules and native core, by size and mtime, so that an upgrade or a
    rebuild is never answered from columns an older reader made)."""
    import llmobs
    from llmobs import _native, records
    from llmobs.read import columns

    digest = hashlib.blake2b(f"{CACHE_FORMAT}:{llmobs.__version__}".encode(), digest_size=12)
    reader = Path(columns.__file__).parent
    for module in (*sorted(reader.rglob("*.py")), Path(records.__file__), Path(_native.__file__)):  # the reader's modules, the cache's among them
        info = module.stat()
        name = module.relative_to(reader) if module.is_relative_to(reader) else module.name
        digest.update(f"{name}:{info.st_size}:{info.st_mtime_ns};".encode())
    return digest.hexdigest()


@dataclass
class Manifest:
    """What an entry holds and which file state it holds it for."""

    version: str
    log: str  # the log file's real path
    group_attrs: list[str]
    kind: str  # "lines": read in stretches as it grows; "whole": read whole (gzip, a document)
    device: int
    inode: int
    size: int
    mtime_ns: int
    checked_ns: int  # when size and mtime were read: an mtime within RACY_NS of it proves nothing (as in git's "racy clean")
    end: int  # bytes covered by the segments: the end of the last complete line ("whole": the size)
    head_hash: str
    tail_hash: str
    crc: int  # of the bytes before `end`: what proves a file unchanged when its mtime cannot (RACY_NS)
    segments: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: object) -> Manifest:
        """The manifest a JSON object holds; ValueError or TypeError unless every field is there
        with its type (JSON that parses may still not be a manifest)."""
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        manifest = cls(**raw)
        for item in fields(cls):
            value = getattr(manifest, item.name)
            expected = {"int": int, "str": str}.get(str(item.type))
            if expected is not None and (not isinstance(value, expected) or isinstance(value, bool)):
                raise ValueError(f"{item.name} is {value!r}")
        for names in (manifest.segments, manifest.group_attrs):
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                raise ValueError("segments and group_attrs must be lists of names")
        if any("/" in name or name.startswith(".") for name in manifest.segments):
            raise ValueError("a segment name with a path")
        return manifest


@dataclass
class Recalled:
    """A file's cached segments, still right for it, and the byte they end at."""

    manifest: Manifest
    segments: list[Segment]


@dataclass(frozen=True)
class Seen:
    """A log file as a run found it: its state, when that was read, and the fingerprint of the
    bytes up to `end` (what the run keeps)."""

    state: os.stat_result
    checked_ns: int
    end: int
    head_hash: str
    tail_hash: str
    crc: int  # CRC-32 of the bytes before `end`


def _hash(path: str, start: int, end: int) -> str:
    with open(path, "rb") as handle:
        handle.seek(start)
        return hashlib.blake2b(handle.read(end - start), digest_size=16).hexdigest()


def head_and_tail_match(log: str, manifest: Manifest) -> bool:
    """Whether the file's first HASH_BYTES and its HASH_BYTES before the kept end are as kept."""
    end = manifest.end
    return (_hash(log, 0, min(end, HASH_BYTES)), _hash(log, max(0, end - HASH_BYTES), end)) == (manifest.head_hash, manifest.tail_hash)


def content_crc(path: str, start: int, end: int, crc: int = 0) -> int:
    """CRC-32 of the bytes [start, end) of a file, continuing `crc` (that of the bytes before
    `start`). ISA-L's: about 0.1 s a gigabyte."""
    with open(path, "rb") as handle:
        handle.seek(start)
        left = end - start
        while left > 0:
            block = handle.read(min(left, 16 << 20))
            if not block:
                break
            crc = isal_zlib.crc32(block, crc)
            left -= len(block)
    return crc


def seen(path: str, state: os.stat_result, checked_ns: int, end: int, start: int = 0, crc_before: int = 0) -> Seen:
    """The fingerprint of `path` up to `end`: hashes of its first HASH_BYTES and of the HASH_BYTES
    before `end`, and its CRC-32, computed from `start` on (`crc_before` being that of the bytes
    before `start`, already kept)."""
    return Seen(state, checked_ns, end, _hash(path, 0, min(end, HASH_BYTES)), _hash(path, max(0, end - HASH_BYTES), end),
                content_crc(path, start, end, crc_before))


class Cache:
    """A cache directory; `warnings` collects what a run should tell the user about it."""

    def __init__(self, directory: str | os.PathLike[str] | None = None, min_bytes: int = DEFAULT_MIN_BYTES) -> None:
        self.directory = Path(directory) if directory is not None else default_directory()
        self.min_bytes = min_bytes
        self.warnings: list[str] = []
        self._version: str | None = None
        self._write_failed = False
        self._writers: list[threading.Thread] = []
        self.wrote = False  # whether this run kept anything: only then can the cache have outgrown its limit

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = reader_version()
        return self._version

    def entry(self, log: str, group_attrs: tuple[str, ...]) -> Path:
        key = "\0".join((os.path.realpath(log), *group_attrs))
        return self.directory / "files" / hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()

    def recall(self, log: str, group_attrs: tuple[str, ...], kind: str, state: os.stat_result) -> Recalled | None:
        """The segments cached for `log` in its current `state`, when they still hold for it: for
        "lines", the file may have grown past their end; for "whole", it must be unchanged. None
        when nothing cached can be used (a damaged file is named in `warnings`)."""
        entry = self.entry(log, group_attrs)
        manifest = self._manifest(entry)
        if manifest is None or manifest.version != self.version or manifest.kind != kind or manifest.group_attrs != list(group_attrs):
            return None
        if (manifest.device, manifest.inode) != (state.st_dev, state.st_ino) or state.st_size < manifest.end:
            return None  # rotated or replaced, or cut short
        unchanged = state.st_size == manifest.size and state.st_mtime_ns == manifest.mtime_ns
        if not unchanged and (kind == "whole" or state.st_size == manifest.size):
            return None  # rewritten (a same-size rewrite, or any change to a whole-read file)
        try:
            if not head_and_tail_match(log, manifest):
                return None
            if unchanged and manifest.mtime_ns >= manifest.checked_ns - RACY_NS and content_crc(log, 0, manifest.end) != manifest.crc:
                return None  # changed again within the mtime's resolution: only its bytes can tell
        except OSError:
            return None
        segments = []
        for name in manifest.segments:
            try:
                segments.append(read_segment(str(entry / name), tuple(group_attrs)))
            except DamagedSegment as exc:
                self.warnings.append(f"cache file {entry / name} is damaged ({exc}); ignored, and {log} read again")
                return None
            except OSError:
                return None  # replaced by a concurrent run since its manifest was read
        with contextlib.suppress(OSError):
            os.utime(entry / MANIFEST)  # when it was last used: the least recently used entries go first
        return Recalled(manifest, segments)

    def _manifest(self, entry: Path) -> Manifest | None:
        try:
            raw = (entry / MANIFEST).read_bytes()
        except OSError:
            return None
        try:
            fields_ = orjson.loads(raw)
            if isinstance(fields_, dict) and fields_.get("version") != self.version and isinstance(fields_.get("version"), str):
                return None  # kept by another llmobs version: read again, and replaced, without a word
            return Manifest.parse(fields_)
        except (ValueError, TypeError) as exc:
            self.warnings.append(f"cache file {entry / MANIFEST} is damaged ({type(exc).__name__}: {exc}); ignored, and its log read again")
            return None

    def keep(self, log: str, group_attrs: tuple[str, ...], kind: str, found: Seen, previous: Recalled | None, new: list[Segment]) -> None:
        """Record that `log`, as `found`, is held by the `previous` entry's segments followed by `new`
        (by `new` alone when there is no previous).

        Written on a thread of its own while the run goes on (`wait` joins it; so does the
        interpreter, before it exits). Skipped when another run holds the entry's lock; a failure
        to write is a warning, once, never an error."""
        if self._write_failed:
            return
        frozen = [freeze(segment) for segment in new]
        writer = threading.Thread(target=self._store, args=(log, group_attrs, kind, found, previous, frozen), name="llmobs-cache-write")
        writer.start()
        self._writers.append(writer)

    def wait(self) -> None:
        """Wait for every write `keep` started."""
        while self._writers:
            self._writers.pop().join()

    def _store(self, log: str, group_attrs: tuple[str, ...], kind: str, found: Seen, previous: Recalled | None, new: list[Frozen]) -> None:
        entry = self.entry(log, group_attrs)
        try:
            entry.mkdir(parents=True, exist_ok=True)
            with self._locked(entry) as locked:
                if not locked:
                    return
                names = [] if previous is None else list(previous.manifest.segments)
                for segment in new:
                    name = f"{uuid.uuid4().hex}.seg"
                    _write_atomically(entry / name, lambda path, segment=segment: write_segment(path, segment))
                    names.append(name)
                state = found.state
                manifest = Manifest(self.version, os.path.realpath(log), list(group_attrs), kind, state.st_dev, state.st_ino, state.st_size,
                                    state.st_mtime_ns, found.checked_ns, found.end, found.head_hash, found.tail_hash, found.crc, names)
                _write_atomically(entry / MANIFEST, lambda path: Path(path).write_bytes(orjson.dumps(asdict(manifest))))
                for stale in entry.iterdir():
                    if stale.name not in (MANIFEST, LOCK, *names):
                        stale.unlink(missing_ok=True)
                self.wrote = True
        except OSError as exc:
            if self._write_failed:
                return
            self._write_failed = True
            self.warnings.append(f"cannot write the cache in {self.directory} ({exc.strerror or exc}); answers were read from the logs")

    @contextlib.contextmanager
    def _locked(self, entry: Path) -> Iterator[bool]:
        descriptor = os.open(entry / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(descriptor)  # releases the lock

    def folders(self) -> list[Path]:
        """Every entry's folder."""
        folder = self.directory / "files"
        return sorted(entry for entry in folder.iterdir() if entry.is_dir()) if folder.is_dir() else []

    def clear(self) -> int:
        """Remove every entry; the bytes freed. Runs that have segments mapped keep reading them."""
        freed = self.size()
        shutil.rmtree(self.directory / "files", ignore_errors=True)
        return freed

    def remove(self, folder: Path) -> bool:
        """Remove one entry, unless a run is writing it (then False)."""
        with self._locked(folder) as locked:
            if locked:
                shutil.rmtree(folder, ignore_errors=True)
            return locked

    def size(self) -> int:
        folder = self.directory / "files"
        return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else 0


def _write_atomically(target: Path, write: object) -> None:
    """Write a file through `write(temporary path)`, then rename it to `target`."""
    temporary = target.with_name(f".tmp-{uuid.uuid4().hex}")
    try:
        write(str(temporary))  # type: ignore[operator]
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)

"""The columnar cache: what was read from a log file, kept so a later run reads only what changed.

Each file has an entry (a folder named by a hash of its real path) with a manifest and the segments
(`read.cache.segment`) that hold its columns, one per stretch read; the entry holds the group
attributes every run so far asked for, so one entry serves every `--by`. Files read together (a
coding agent's session logs, a batch of small files) share one entry (`BatchManifest`), read again
whole when any one of them changed. A file that
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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TypeVar

import orjson
from isal import isal_zlib

from llmobs.read.cache.segment import DamagedSegment, Frozen, Segment, freeze, read_segment, write_segment

CACHE_FORMAT = 2
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
MAX_KEPT_ATTRS = 8  # group attributes an entry holds at most: those asked for last


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
        return _parsed(cls, raw)


ManifestT = TypeVar("ManifestT", "Manifest", "BatchManifest")


def _parsed(cls: type[ManifestT], raw: object) -> ManifestT:
    """The manifest of class `cls` a JSON object holds, each int and str field of its type and its
    lists of names lists of names; ValueError or TypeError otherwise."""
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


FileState = list[int | str]  # a batch's file: [absolute path, device, inode, size, mtime_ns, ctime_ns, CRC-32 or -1]


@dataclass
class BatchManifest:
    """What an entry for files read together holds, and the state of each file it holds it for.

    A file is unchanged when its identity, size, mtime and ctime are (as git's index decides); one
    whose mtime was within RACY_NS of `checked_ns` also keeps its CRC-32, which must still hold."""

    version: str
    kind: str  # "batch"
    reader: str  # how the files are read together: "lines", or the coding agent whose session logs they are
    group_attrs: list[str]
    checked_ns: int
    files: list[FileState]
    segments: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: object) -> BatchManifest:
        """The batch manifest a JSON object holds; ValueError or TypeError unless it is whole."""
        manifest = _parsed(cls, raw)
        if manifest.kind != "batch":
            raise ValueError(f"kind is {manifest.kind!r}")
        for state in manifest.files:
            if not (isinstance(state, list) and len(state) == 7 and isinstance(state[0], str)
                    and all(isinstance(value, int) and not isinstance(value, bool) for value in state[1:])):
                raise ValueError(f"a file's state is {state!r}")
        return manifest


def racy(mtime_ns: int, checked_ns: int) -> bool:
    """Whether a file's mtime is too close to when it was read to prove it unchanged since."""
    return mtime_ns >= checked_ns - RACY_NS


def file_state(path: str, state: os.stat_result, checked_ns: int) -> FileState:
    """What a batch manifest keeps of a file as a run found it (its CRC-32 only when its mtime is
    too recent to prove anything)."""
    crc = content_crc(path, 0, state.st_size) if racy(state.st_mtime_ns, checked_ns) else -1
    return [os.path.abspath(path), state.st_dev, state.st_ino, state.st_size, state.st_mtime_ns, state.st_ctime_ns, crc]


def still_holds(kept: FileState, path: str) -> bool:
    """Whether the file at `path` is as a batch manifest kept it."""
    try:
        now = os.stat(path)
    except OSError:
        return False
    if kept[1:6] != [now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns, now.st_ctime_ns]:
        return False
    try:
        return kept[6] == -1 or content_crc(path, 0, now.st_size) == kept[6]
    except OSError:
        return False


def attrs_to_keep(held: list[str], wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The group attributes an entry should hold after a run that asked for `wanted`: what it held
    and what was asked, at most MAX_KEPT_ATTRS (the oldest held go first)."""
    kept = [name for name in held if name not in wanted] + list(wanted)
    return tuple(kept[-MAX_KEPT_ATTRS:]) if len(kept) > MAX_KEPT_ATTRS else tuple(kept)


@dataclass
class Recalled:
    """A file's cached segments, still right for it, and the byte they end at."""

    manifest: Manifest
    segments: list[Segment]


@dataclass
class RecalledBatch:
    """The segments cached for files read together, still right for every one of them."""

    manifest: BatchManifest
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

    def entry(self, log: str) -> Path:
        return self._folder(os.path.realpath(log))

    def batch_entry(self, reader: str, paths: list[str]) -> Path:
        return self._folder("\0".join(("batch", reader, *(os.path.abspath(path) for path in paths))))  # each file's identity is in its state

    def _folder(self, key: str) -> Path:
        return self.directory / "files" / hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()

    def recall(self, log: str, wanted: tuple[str, ...], kind: str, state: os.stat_result) -> tuple[Recalled | None, tuple[str, ...]]:
        """The segments cached for `log` in its current `state`, when they still hold for it and
        hold the group attributes `wanted`: for "lines", the file may have grown past their end; for
        "whole", it must be unchanged. None when nothing cached can be used (a damaged file is named
        in `warnings`). With it, the group attributes the run reads and keeps: `wanted` and those
        the entry holds."""
        entry = self.entry(log)
        manifest = self._manifest(entry, Manifest)
        if manifest is None or manifest.version != self.version or manifest.kind != kind:
            return None, wanted
        attrs = attrs_to_keep(manifest.group_attrs, wanted)
        if not set(wanted) <= set(manifest.group_attrs):
            return None, attrs
        if (manifest.device, manifest.inode) != (state.st_dev, state.st_ino) or state.st_size < manifest.end:
            return None, attrs  # rotated or replaced, or cut short
        unchanged = state.st_size == manifest.size and state.st_mtime_ns == manifest.mtime_ns
        if not unchanged and (kind == "whole" or state.st_size == manifest.size):
            return None, attrs  # rewritten (a same-size rewrite, or any change to a whole-read file)
        try:
            if not head_and_tail_match(log, manifest):
                return None, attrs
            if unchanged and racy(manifest.mtime_ns, manifest.checked_ns) and content_crc(log, 0, manifest.end) != manifest.crc:
                return None, attrs  # changed again within the mtime's resolution: only its bytes can tell
        except OSError:
            return None, attrs
        segments = self._segments(entry, manifest.segments, manifest.group_attrs, log)
        return (None if segments is None else Recalled(manifest, segments)), tuple(manifest.group_attrs)

    def recall_batch(self, reader: str, paths: list[str], wanted: tuple[str, ...]) -> tuple[RecalledBatch | None, tuple[str, ...]]:
        """The segments cached for `paths` read together by `reader`, when every file is as they
        were kept for and they hold the group attributes `wanted`; with the group attributes the
        run reads and keeps (as `recall`)."""
        entry = self.batch_entry(reader, paths)
        manifest = self._manifest(entry, BatchManifest)
        if manifest is None or manifest.version != self.version or manifest.reader != reader or len(manifest.files) != len(paths):
            return None, wanted
        attrs = attrs_to_keep(manifest.group_attrs, wanted)
        if not set(wanted) <= set(manifest.group_attrs) or not all(still_holds(kept, path) for kept, path in zip(manifest.files, paths, strict=True)):
            return None, attrs
        segments = self._segments(entry, manifest.segments, manifest.group_attrs, f"its {len(paths):,} files")
        return (None if segments is None else RecalledBatch(manifest, segments)), tuple(manifest.group_attrs)

    def _segments(self, entry: Path, names: list[str], group_attrs: list[str], logs: str) -> list[Segment] | None:
        segments = []
        for name in names:
            try:
                segments.append(read_segment(str(entry / name), tuple(group_attrs)))
            except DamagedSegment as exc:
                self.warnings.append(f"cache file {entry / name} is damaged ({exc}); ignored, and {logs} read again")
                return None
            except OSError:
                return None  # replaced by a concurrent run since its manifest was read
        with contextlib.suppress(OSError):
            os.utime(entry / MANIFEST)  # when it was last used: the least recently used entries go first
        return segments

    def _manifest(self, entry: Path, kind: type[ManifestT]) -> ManifestT | None:
        try:
            raw = (entry / MANIFEST).read_bytes()
        except OSError:
            return None
        try:
            fields_ = orjson.loads(raw)
            if isinstance(fields_, dict) and fields_.get("version") != self.version and isinstance(fields_.get("version"), str):
                return None  # kept by another llmobs version: read again, and replaced, without a word
            if isinstance(fields_, dict) and (fields_.get("kind") == "batch") != (kind is BatchManifest):
                return None  # the other kind of entry: a hash collision, or a damaged manifest; replaced
            return kind.parse(fields_)  # type: ignore[return-value]
        except (ValueError, TypeError) as exc:
            self.warnings.append(f"cache file {entry / MANIFEST} is damaged ({type(exc).__name__}: {exc}); ignored, and its log read again")
            return None

    def keep(self, log: str, group_attrs: tuple[str, ...], kind: str, found: Seen, previous: Recalled | None, new: list[Segment]) -> None:
        """Record that `log`, as `found`, is held by the `previous` entry's segments followed by `new`
        (by `new` alone when there is no previous), with the group attributes `group_attrs`.

        Written on a thread of its own while the run goes on (`wait` joins it; so does the
        interpreter, before it exits). Skipped when another run holds the entry's lock; a failure
        to write is a warning, once, never an error."""
        previous_names = [] if previous is None else list(previous.manifest.segments)

        def manifest(names: list[str]) -> Manifest:
            state = found.state
            return Manifest(self.version, os.path.realpath(log), list(group_attrs), kind, state.st_dev, state.st_ino, state.st_size,
                            state.st_mtime_ns, found.checked_ns, found.end, found.head_hash, found.tail_hash, found.crc, previous_names + names)

        self._write(self.entry(log), new, manifest)

    def keep_batch(self, reader: str, paths: list[str], group_attrs: tuple[str, ...], files: list[FileState], checked_ns: int, segment: Segment) -> None:
        """Record that `paths`, read together by `reader` in the states `files`, hold `segment`'s
        columns (as `keep`, on a thread)."""
        self._write(self.batch_entry(reader, paths), [segment],
                    lambda names: BatchManifest(self.version, "batch", reader, list(group_attrs), checked_ns, files, names))

    def _write(self, entry: Path, new: list[Segment], manifest: Callable[[list[str]], Manifest | BatchManifest]) -> None:
        if self._write_failed:
            return
        frozen = [freeze(segment) for segment in new]
        writer = threading.Thread(target=self._store, args=(entry, frozen, manifest), name="llmobs-cache-write")
        writer.start()
        self._writers.append(writer)

    def wait(self) -> None:
        """Wait for every write `keep` started."""
        while self._writers:
            self._writers.pop().join()

    def _store(self, entry: Path, new: list[Frozen], manifest: Callable[[list[str]], Manifest | BatchManifest]) -> None:
        try:
            entry.mkdir(parents=True, exist_ok=True)
            with self._locked(entry) as locked:
                if not locked:
                    return
                names = []
                for segment in new:
                    name = f"{uuid.uuid4().hex}.seg"
                    _write_atomically(entry / name, lambda path, segment=segment: write_segment(path, segment))
                    names.append(name)
                kept = manifest(names)
                _write_atomically(entry / MANIFEST, lambda path: Path(path).write_bytes(orjson.dumps(asdict(kept))))
                for stale in entry.iterdir():
                    if stale.name not in (MANIFEST, LOCK, *kept.segments):
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

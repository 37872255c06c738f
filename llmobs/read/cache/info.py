"""What the cache holds, for `llmobs cache info`: each log file (or batch of files read together) it
keeps columns of, and whether they still hold for the files as they are now."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from pydantic import BaseModel

from llmobs.read.cache.segment import DamagedSegment, segment_stats
from llmobs.read.cache.store import MANIFEST, BatchManifest, Cache, Manifest, head_and_tail_match, still_holds

UNUSABLE = ("gone", "changed", "stale", "damaged")  # states in which no run can use an entry as it is


class CachedLog(BaseModel):
    log: str | None  # None: the entry's manifest cannot be read; for a batch, the folder its files share
    state: str  # current | grown (only the rest will be read) | changed (will be read again) | gone | stale (older reader) | damaged
    records: int | None
    lines: int | None
    bytes_covered: int | None  # of the log
    segments: int
    disk_bytes: int
    group_attrs: list[str]
    files: int = 1  # a batch's files (small files, or an agent's session logs, read together)


class CacheInfo(BaseModel):
    directory: str
    entries: list[CachedLog]
    disk_bytes: int


def cache_info(cache: Cache) -> CacheInfo:
    """Every entry of `cache`, with the state of its log file now."""
    entries = [_entry(cache, folder) for folder in cache.folders()]
    return CacheInfo(directory=str(cache.directory), entries=entries, disk_bytes=sum(entry.disk_bytes for entry in entries))


def _entry(cache: Cache, folder: Path) -> CachedLog:
    disk = sum(path.stat().st_size for path in folder.iterdir() if path.is_file())
    unknown = CachedLog(log=None, state="damaged", records=None, lines=None, bytes_covered=None, segments=0, disk_bytes=disk, group_attrs=[])
    try:
        fields = orjson.loads((folder / MANIFEST).read_bytes())
    except (OSError, ValueError):
        return unknown
    if not isinstance(fields, dict):
        return unknown
    if fields.get("version") != cache.version:
        log = fields.get("log")
        return unknown.model_copy(update={"log": log if isinstance(log, str) else None, "state": "stale"})
    try:
        manifest: Manifest | BatchManifest = BatchManifest.parse(fields) if fields.get("kind") == "batch" else Manifest.parse(fields)
    except (ValueError, TypeError):
        return unknown
    records = lines = 0
    state = _batch_state(manifest) if isinstance(manifest, BatchManifest) else _state(manifest)
    for name in manifest.segments:
        try:
            stats = segment_stats(str(folder / name))
        except (OSError, DamagedSegment):
            state = "damaged"
            continue
        records += stats.records
        lines += stats.lines
    if isinstance(manifest, BatchManifest):
        paths = [str(kept[0]) for kept in manifest.files]
        return CachedLog(log=os.path.commonpath(paths) if paths else "", state=state, records=records, lines=lines,
                         bytes_covered=sum(int(kept[3]) for kept in manifest.files), segments=len(manifest.segments), disk_bytes=disk,
                         group_attrs=manifest.group_attrs, files=len(paths))
    return CachedLog(log=manifest.log, state=state, records=records, lines=lines, bytes_covered=manifest.end,
                     segments=len(manifest.segments), disk_bytes=disk, group_attrs=manifest.group_attrs)


def _state(manifest: Manifest) -> str:
    try:
        now = os.stat(manifest.log)
        if (now.st_dev, now.st_ino) != (manifest.device, manifest.inode) or now.st_size < manifest.end or not head_and_tail_match(manifest.log, manifest):
            return "changed"
    except OSError:
        return "gone"
    if (now.st_size, now.st_mtime_ns) == (manifest.size, manifest.mtime_ns):
        return "current"
    return "grown" if manifest.kind == "lines" and now.st_size > manifest.size else "changed"


def _batch_state(manifest: BatchManifest) -> str:
    """current while every file is as kept; gone when one of them is; else changed (read again whole)."""
    paths = [str(kept[0]) for kept in manifest.files]
    if not all(os.path.exists(path) for path in paths):
        return "gone"
    return "current" if all(still_holds(kept, path) for kept, path in zip(manifest.files, paths, strict=True)) else "changed"


def remove_unusable(cache: Cache) -> tuple[int, int]:
    """Remove the entries no run can use as they are (their log gone, changed or rewritten, kept by
    another llmobs version, or damaged), skipping any a run is writing: (entries removed, bytes)."""
    return _remove(cache, [(folder, entry) for folder in cache.folders() if (entry := _entry(cache, folder)).state in UNUSABLE])


def evict(cache: Cache, max_bytes: int) -> tuple[int, int]:
    """Keep the cache within `max_bytes`: remove what no run can use, then the entries used least
    recently (by when a run last read or wrote them) until the rest fit: (entries removed, bytes)."""
    entries = [(folder, _entry(cache, folder)) for folder in cache.folders()]
    removed, freed = _remove(cache, [(folder, entry) for folder, entry in entries if entry.state in UNUSABLE])
    usable = sorted(((folder, entry) for folder, entry in entries if entry.state not in UNUSABLE), key=lambda item: _last_used(item[0]))
    total = sum(entry.disk_bytes for _, entry in usable)
    oldest: list[tuple[Path, CachedLog]] = []
    for folder, entry in usable:
        if total <= max_bytes:
            break
        oldest.append((folder, entry))
        total -= entry.disk_bytes
    more, more_freed = _remove(cache, oldest)
    return removed + more, freed + more_freed


def _last_used(folder: Path) -> int:
    try:
        return (folder / MANIFEST).stat().st_mtime_ns
    except OSError:
        return 0


def _remove(cache: Cache, entries: list[tuple[Path, CachedLog]]) -> tuple[int, int]:
    removed = freed = 0
    for folder, entry in entries:
        if cache.remove(folder):
            removed += 1
            freed += entry.disk_bytes
    return removed, freed

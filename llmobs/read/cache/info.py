"""What the cache holds, for `llmobs cache info`: each log file it keeps columns of, and whether
they still hold for the file as it is now."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from pydantic import BaseModel

from llmobs.read.cache.segment import DamagedSegment, segment_stats
from llmobs.read.cache.store import MANIFEST, Cache, Manifest, head_and_tail_match

UNUSABLE = ("gone", "changed", "stale", "damaged")  # states in which no run can use an entry as it is


class CachedLog(BaseModel):
    log: str | None  # None: the entry's manifest cannot be read
    state: str  # current | grown (only the rest will be read) | changed (will be read again) | gone | stale (older reader) | damaged
    records: int | None
    lines: int | None
    bytes_covered: int | None  # of the log
    segments: int
    disk_bytes: int
    group_attrs: list[str]


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
        manifest = Manifest.parse(fields)
    except (ValueError, TypeError):
        return unknown
    records = lines = 0
    state = _state(manifest)
    for name in manifest.segments:
        try:
            stats = segment_stats(str(folder / name))
        except (OSError, DamagedSegment):
            state = "damaged"
            continue
        records += stats.records
        lines += stats.lines
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

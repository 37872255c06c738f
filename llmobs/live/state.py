"""Where a watch stopped, kept with the cache (`watch/` beside its entries) so the next watch of the
same paths resumes there: each file's byte offset, line and fingerprint (by device and inode), and the rules
that were firing, so that a restart neither misses what was written meanwhile nor alerts again on
what it already alerted on."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from llmobs.live.follow import Identity, Position
from llmobs.read.cache.store import default_directory

STATE_FORMAT = 2


@dataclass
class WatchState:
    saved_at: float | None = None  # seconds since the epoch
    positions: dict[Identity, Position] = field(default_factory=dict)
    firing: dict[str, float] = field(default_factory=dict)  # rule -> when it fired (seconds since the epoch)


def state_path(targets: list[str], directory: Path | None = None) -> Path:
    """The state file of a watch of `targets` (the same paths, however written, share one)."""
    key = "\n".join(sorted(os.path.abspath(t) for t in targets))
    return (directory or default_directory()) / "watch" / (hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24] + ".json")


def load_state(path: Path) -> WatchState:
    """The state an earlier watch left; an empty one when there is none or it cannot be read."""
    try:
        data = orjson.loads(path.read_bytes())
        if data.get("format") != STATE_FORMAT:
            return WatchState()
        return WatchState(
            saved_at=float(data["saved_at"]),
            positions={(int(d), int(i)): Position(int(o), int(n), f) for d, i, o, n, f in data["files"]},
            firing={str(k): float(v) for k, v in data["firing"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return WatchState()


def save_state(path: Path, state: WatchState) -> str | None:
    """Write `state` (atomically); None when written, else why not."""
    body = orjson.dumps({
        "format": STATE_FORMAT, "saved_at": state.saved_at,
        "files": [[d, i, *position] for (d, i), position in sorted(state.positions.items())], "firing": state.firing,
    })
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(body)
        os.replace(temporary, path)
    except OSError as exc:
        return f"cannot keep where the watch got to in {path} ({exc.strerror or exc}); a restart will start at the logs' ends"
    return None

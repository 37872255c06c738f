"""Session logs that coding agents already write, read as llmobs records: Claude Code
(`~/.claude/projects/*/*.jsonl`) and OpenAI's Codex CLI (`~/.codex/sessions/**/rollout-*.jsonl`).

A turn (a user prompt until the next one) becomes a request; each model call an `llm` span with
its usage; each tool call a `tool` span. Ids are derived from the logs' own ids, so a session
copied into another file (archived, forked) gives the same spans and is counted once.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CLAUDE_CODE, CODEX = "claude-code", "codex"
SOURCES = (CLAUDE_CODE, CODEX)
CODEX_TYPES = frozenset({"session_meta", "response_item", "event_msg", "turn_context", "compacted"})


def detect(head: bytes) -> str | None:
    """Which agent wrote a session log, from its first lines; None for anything else."""
    for line in head.split(b"\n")[:20]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        kind = entry.get("type") if isinstance(entry, dict) else None
        if not isinstance(kind, str):
            return None
        if kind in CODEX_TYPES and isinstance(entry.get("payload"), dict) and "timestamp" in entry:
            return CODEX
        if "sessionId" in entry and kind in ("user", "assistant", "system") and "uuid" in entry:
            return CLAUDE_CODE
        if kind in ("summary", "file-history-snapshot"):
            continue  # Claude Code's bookkeeping lines: look further
        return None
    return None


def convert(agent: str, data: bytes) -> Converted:
    """The records of one session log of `agent` (CLAUDE_CODE or CODEX)."""
    from llmobs.agents import claude_code, codex

    return (claude_code if agent == CLAUDE_CODE else codex).convert(data)


def default_locations(source: str) -> list[str]:
    """Where the agent keeps its session logs on this machine (those that exist)."""
    home = Path.home()
    if source == CLAUDE_CODE:
        configured = os.environ.get("CLAUDE_CONFIG_DIR")
        candidates = [*(Path(p) / "projects" for p in configured.split(",") if p) ] if configured else []
        candidates += [home / ".config" / "claude" / "projects", home / ".claude" / "projects"]
    else:
        codex_home = Path(os.environ.get("CODEX_HOME") or home / ".codex")
        candidates = [codex_home / "sessions", codex_home / "archived_sessions"]
    return [str(path) for path in dict.fromkeys(candidates) if path.is_dir()]


def hex_id(*parts: object, size: int = 16) -> str:
    """A stable id of `size` bytes in hex from the parts that identify a thing in the log."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass"), digest_size=size).hexdigest()


class Lines:
    """A session log's lines as JSON objects with their line numbers; the ones that are not are kept as bad."""

    def __init__(self, data: bytes) -> None:
        self.entries: list[tuple[int, dict[str, Any]]] = []
        self.bad: list[tuple[int, str]] = []
        self.count = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                self.bad.append((number, "not valid JSON"))
                continue
            if not isinstance(entry, dict):
                self.bad.append((number, "not a JSON object"))
                continue
            self.entries.append((number, entry))


class Converted:
    """What one session log gave: record dicts (for the models to judge), bad lines, skipped lines by type."""

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.records: list[dict[str, Any]] = []
        self.bad: list[tuple[int, str]] = []
        self.skipped: dict[str, int] = {}

    def skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1

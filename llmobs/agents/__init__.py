"""Session logs that coding agents already write, read as llmobs records: Claude Code
(`~/.claude/projects/*/*.jsonl`) and OpenAI's Codex CLI (`~/.codex/sessions/**/rollout-*.jsonl`).

A turn (a prompt the user typed, until the next one) becomes a request; each model call an `llm`
span with its usage; each tool call a `tool` span. Ids are derived from the logs' own ids, so a
session copied into another file (archived, forked, resumed) gives the same spans and is counted
once. Claude Code's files are converted together (a subagent's file belongs to the turn of its
parent's file that started it); Codex's one by one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CLAUDE_CODE, CODEX = "claude-code", "codex"
SOURCES = (CLAUDE_CODE, CODEX)
CODEX_TYPES = frozenset({"session_meta", "response_item", "event_msg", "turn_context", "compacted"})
# Claude Code's bookkeeping lines, which carry no session id: a file may start with many of them.
CLAUDE_CODE_BOOKKEEPING = frozenset({"summary", "file-history-snapshot", "custom-title", "tag", "agent-name", "pr-link", "last-prompt"})
# The `type` values that say a line came from an agent's session log (see `agent_line_type`).
CLAUDE_CODE_TYPES = frozenset({"user", "assistant", "system", "progress", "queue-operation"}) | CLAUDE_CODE_BOOKKEEPING
HEAD_LINES = 200
SESSION_ATTRS = ("session", "project")  # on every span both converters write: what `--by` asks of session logs


def _claude_code_line(entry: dict[str, Any]) -> bool:
    """A line of Claude Code's own: one that names its session (with a time or a uuid), or one of
    its message types with a uuid; never an llmobs record."""
    if "trace_id" in entry or "v" in entry:
        return False
    named = isinstance(entry.get("sessionId"), str) and ("uuid" in entry or "timestamp" in entry)
    return named or (entry.get("type") in CLAUDE_CODE_TYPES and isinstance(entry.get("uuid"), str))


def detect(head: bytes, path: str | None = None) -> str | None:
    """Which agent wrote a session log, from its first lines (whatever bookkeeping lines come
    first) or, when they say nothing either way, from where it lies (`<session>/subagents/`,
    `.claude/projects/`); None for anything else."""
    bookkeeping = False
    for line in head.split(b"\n")[:HEAD_LINES]:
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            bookkeeping = bookkeeping or _cut_bookkeeping(line)
            continue
        kind = entry.get("type") if isinstance(entry, dict) else None
        if not isinstance(kind, str):
            continue  # a line without a usable type says nothing either way
        if kind in CODEX_TYPES and isinstance(entry.get("payload"), dict) and "timestamp" in entry:
            return CODEX
        if _claude_code_line(entry):
            return CLAUDE_CODE
        if kind in CLAUDE_CODE_BOOKKEEPING:
            bookkeeping = True  # look further
            continue
        if "v" in entry or "trace_id" in entry:
            return None  # an llmobs record
        # any other line (a type no one knows, a damaged one) says nothing either way: look further
    if bookkeeping or (path is not None and _claude_code_place(path)):
        return CLAUDE_CODE if head.lstrip()[:1] == b"{" else None
    return None


def _cut_bookkeeping(line: bytes) -> bool:
    """A line cut off by the end of the head that began as one of Claude Code's bookkeeping lines
    (a file-history snapshot can be larger than the head)."""
    start = line.lstrip()[:64].replace(b" ", b"")
    return any(start.startswith(b'{"type":"' + kind.encode() + b'"') for kind in CLAUDE_CODE_BOOKKEEPING)


def _claude_code_place(path: str) -> bool:
    parts = Path(path).parts
    return (len(parts) >= 2 and parts[-2] == "subagents" and parts[-1].startswith("agent-")) or (".claude" in parts and "projects" in parts)


def agent_line_type(entry: dict[str, Any]) -> str | None:
    """The agent whose line this is, for a line of an agent's own type read as something else
    (a session log that was not recognised): CLAUDE_CODE, CODEX or None."""
    kind = entry.get("type")
    if kind in CODEX_TYPES and isinstance(entry.get("payload"), dict):
        return CODEX
    if kind in CLAUDE_CODE_TYPES and (_claude_code_line(entry) or kind in CLAUDE_CODE_BOOKKEEPING):
        return CLAUDE_CODE
    return None


def convert(agent: str, files: Sequence[tuple[str, bytes]]) -> tuple[list[dict[str, Any]], list[Converted]]:
    """The records of the session logs `files` (name, bytes) of `agent` (CLAUDE_CODE or CODEX), and
    each file's accounting in the same order: Claude Code's converted together, Codex's one by one."""
    from llmobs.agents import claude_code, codex

    return (claude_code if agent == CLAUDE_CODE else codex).convert(files)


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


def json_object(line: bytes) -> dict[str, Any] | str:
    """The JSON object on a session log's line, or the reason it holds none."""
    try:
        entry = json.loads(line)
    except ValueError:
        return "not valid JSON"
    return entry if isinstance(entry, dict) else "not a JSON object"


class Lines:
    """A session log's lines as JSON objects with their line numbers; the ones that are not are kept as bad."""

    def __init__(self, data: bytes) -> None:
        self.entries: list[tuple[int, dict[str, Any]]] = []
        self.bad: list[tuple[int, str]] = []
        self.count = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            entry = json_object(line)
            if isinstance(entry, str):
                self.bad.append((number, entry))
            else:
                self.entries.append((number, entry))


class Converted:
    """What reading one session log found: its lines, bad lines, skipped lines by type, and notes on
    what was counted in an unusual way (named in the report)."""

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self.bad: list[tuple[int, str]] = []
        self.skipped: dict[str, int] = {}
        self.notes: list[str] = []
        self.copies = 0  # calls and turns it held that another file (or an earlier reading) already counted

    def skip(self, kind: str) -> None:
        self.skipped[kind] = self.skipped.get(kind, 0) + 1

"""Claude Code session logs (`~/.claude/projects/<project>/<session>.jsonl`) as llmobs records.

The traps its logs set, each handled here: one API message is written as several lines (one per
content block), each repeating the usage, and streaming snapshots come first with smaller usage:
the message counts once, with its largest usage. A subagent's sidechain may replay a parent's
message: counted once, by message id. `<synthetic>` messages are no model call. Anthropic's
`input_tokens` leaves out cache reads and writes; FORMAT.md's input includes them.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePath
from typing import Any

from llmobs.agents import CLAUDE_CODE, Converted, Lines, hex_id

KNOWN_UNMAPPED = frozenset({"summary", "system", "file-history-snapshot"})  # read, but nothing to count in them
PROMPT_CHARS = 2000


def _moment(entry: dict[str, Any]) -> datetime | None:
    stamp = entry.get("timestamp")
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None


def _message(entry: dict[str, Any]) -> dict[str, Any]:
    """The line's API message, or an empty one when it has none (or something else in its place)."""
    message = entry.get("message")
    return message if isinstance(message, dict) else {}


def _blocks(entry: dict[str, Any]) -> list[dict[str, Any]]:
    content = _message(entry).get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _prompt_text(entry: dict[str, Any]) -> str | None:
    """The text of a user prompt; None for a tool result, a meta line or a sidechain's message."""
    if entry.get("type") != "user" or entry.get("isSidechain") or entry.get("isMeta"):
        return None
    content = _message(entry).get("content")
    if isinstance(content, str):
        return content
    blocks = _blocks(entry)
    if not blocks or any(b.get("type") == "tool_result" for b in blocks):
        return None
    texts = [b.get("text") for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str)]
    return "\n".join(texts) if texts else None


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _ms(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() * 1000, 0.0)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def convert(data: bytes) -> Converted:
    """The records of one Claude Code session log."""
    lines = Lines(data)
    out = Converted(lines.count)
    out.bad = lines.bad
    turns: list[list[tuple[int, dict[str, Any], datetime]]] = []
    for number, entry in lines.entries:
        kind = entry.get("type")
        moment = _moment(entry)
        if not isinstance(kind, str):
            out.bad.append((number, "a Claude Code line without a type"))
            continue
        if kind in KNOWN_UNMAPPED:
            continue
        if kind not in ("user", "assistant"):
            out.skip(f"{CLAUDE_CODE}:{kind}")
            continue
        if moment is None:
            out.bad.append((number, "a Claude Code line without a readable timestamp"))
            continue
        if _prompt_text(entry) is not None or not turns:
            turns.append([])
        turns[-1].append((number, entry, moment))
    seen_messages: set[str] = set()
    for turn in turns:
        out.records.extend(_turn_records(turn, seen_messages))
    out.bad.sort()
    return out


def _turn_records(turn: list[tuple[int, dict[str, Any], datetime]], seen_messages: set[str]) -> list[dict[str, Any]]:
    first = turn[0][1]
    prompt = _prompt_text(first)
    start, end = turn[0][2], max(moment for _, _, moment in turn)
    trace_id = hex_id(CLAUDE_CODE, first.get("uuid") or first.get("timestamp"))
    root_id = hex_id(trace_id, "turn", size=8)
    cwd = first.get("cwd")
    common: dict[str, Any] = {"agent": CLAUDE_CODE, "session": str(first.get("sessionId") or "")}  # on every span: --by session, --by project
    if isinstance(cwd, str) and cwd:
        common["project"] = PurePath(cwd).name or cwd
    attrs = dict(common)
    if isinstance(cwd, str) and cwd:
        attrs["cwd"] = cwd
    if prompt is not None:
        attrs["input"] = prompt[:PROMPT_CHARS]
    if isinstance(first.get("gitBranch"), str) and first["gitBranch"]:
        attrs["git.branch"] = first["gitBranch"]
    records: list[dict[str, Any]] = []

    # Model calls: every line of one API message shares its id; the largest usage is the final one.
    messages: dict[str, dict[str, Any]] = {}
    previous = start
    for _, entry, moment in turn:
        message = _message(entry)
        if entry.get("type") == "assistant" and isinstance(message.get("id"), str):
            call = messages.get(message["id"])
            replay = call is not None and bool(entry.get("isSidechain")) and not call["entry"].get("isSidechain")
            if call is None:
                call = messages[message["id"]] = {"start": previous, "end": moment, "entry": entry, "usage": {}, "tools": []}
            if replay:  # a sidechain's copy of a message the main chain already has: not a later part of it
                previous = moment
                continue
            call["end"] = max(call["end"], moment)
            usage = message.get("usage") if isinstance(message.get("usage"), dict) else {}
            if _size(usage) >= _size(call["usage"]):
                call["usage"], call["entry"] = usage, entry
            call["tools"].extend((b, moment) for b in _blocks(entry) if b.get("type") == "tool_use")
        previous = moment
    results: dict[str, tuple[dict[str, Any], datetime]] = {}
    for _, entry, moment in turn:
        for block in _blocks(entry):
            if block.get("type") == "tool_result" and isinstance(block.get("tool_use_id"), str):
                results.setdefault(block["tool_use_id"], (block, moment))

    for message_id, call in messages.items():
        model = _message(call["entry"]).get("model")
        if message_id in seen_messages:  # a sidechain's replay of a message already counted
            continue
        seen_messages.add(message_id)
        span_id = hex_id(CLAUDE_CODE, message_id, size=8)
        if model != "<synthetic>" and isinstance(model, str) and model:
            records.append(_span(trace_id, span_id, root_id, "model call", "llm", call["start"], call["end"], False,
                                 {**common, "gen_ai.request.model": model, "gen_ai.provider.name": "anthropic",
                                  **({"sidechain": True} if call["entry"].get("isSidechain") else {})}))
            records.append(_usage(trace_id, span_id, call["end"], model, call["usage"]))
        for block, moment in call["tools"]:
            tool_id = block.get("id")
            if not isinstance(tool_id, str):
                continue
            result, finished = results.get(tool_id, (None, end))
            failed = bool(result.get("is_error")) if result else False
            records.append(_span(trace_id, hex_id(CLAUDE_CODE, tool_id, size=8), root_id, str(block.get("name") or "tool"), "tool",
                                 moment, finished, failed, {**common, "tool.call_id": tool_id, **({"tool.result": "missing"} if result is None else {})}))
    records.append(_span(trace_id, root_id, None, "turn", "agent", start, end, False, attrs))
    return records


def _size(usage: dict[str, Any]) -> tuple[int, int]:
    """How far a usage snapshot had got: output tokens, then all input."""
    return (_count(usage.get("output_tokens")),
            _count(usage.get("input_tokens")) + _count(usage.get("cache_read_input_tokens")) + _count(usage.get("cache_creation_input_tokens")))


def _span(trace_id: str, span_id: str, parent: str | None, name: str, kind: str, start: datetime, end: datetime, failed: bool,
          attrs: dict[str, Any]) -> dict[str, Any]:
    record = {"v": 1, "type": "span", "trace_id": trace_id, "span_id": span_id, "parent_id": parent, "name": name, "kind": kind,
              "start": _rfc3339(start), "duration_ms": _ms(start, end), "status": "error" if failed else "ok", "attrs": attrs}
    if failed:
        record["error"] = {"type": "ToolError", "message": None}
    return record


def _usage(trace_id: str, span_id: str, moment: datetime, model: str, usage: dict[str, Any]) -> dict[str, Any]:
    cache_read = _count(usage.get("cache_read_input_tokens"))
    cache_write = _count(usage.get("cache_creation_input_tokens"))
    detail = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), dict) else {}
    reported = "input_tokens" in usage or "output_tokens" in usage
    return {
        "v": 1, "type": "usage", "trace_id": trace_id, "span_id": span_id, "time": _rfc3339(moment), "provider": "anthropic", "model": model,
        "input_tokens": _count(usage.get("input_tokens")) + cache_read + cache_write if reported else None,
        "output_tokens": _count(usage.get("output_tokens")) if reported else None,
        "cache_read_tokens": cache_read, "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": min(_count(detail.get("ephemeral_1h_input_tokens")), cache_write),
    }

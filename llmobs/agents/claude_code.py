"""Claude Code session logs (`~/.claude/projects/<project>/<session>.jsonl`, and each session's
`<session>/subagents/agent-*.jsonl`) as llmobs records.

All the Claude Code files of one run are converted together, because one API response can stand in
several of them: a request is a prompt the user typed, and the subagents it started (their own
files, or their lines embedded in the parent's `agent_progress` lines) belong to it. The traps its
logs set, each handled here:

- one API message is written as several lines (one per content block), each repeating the usage,
  streaming snapshots first with smaller output: the message counts once, with its largest usage;
- the same message can appear in the session, in a subagent file (a sidechain replay, with a new
  `requestId`), in `agent_progress` lines and in a resumed session's copy: each message id counts
  once across all files, where it first ran (main chain over sidechain, a file over an embedded
  copy); an assistant line without a message id (older versions) counts by its request id;
- tool results, interrupt markers, slash-command output, compaction summaries, meta lines and task
  notifications are written as `user` lines, but nobody typed them: they never start a request;
- `<synthetic>` messages are no model call; a logged `costUSD` is the call's cost;
- Anthropic's `input_tokens` leaves out cache reads and writes; FORMAT.md's input includes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any

from llmobs.agents import CLAUDE_CODE, Converted, Lines, hex_id

# Line types Claude Code writes that hold nothing to count (hook and tool progress, file backups,
# titles, queue operations …): read, and counted as read. `progress` lines embedding a subagent's
# message (`agent_progress`) are read for that message.
KNOWN_UNMAPPED = frozenset({"summary", "system", "file-history-snapshot", "progress", "queue-operation", "custom-title", "agent-name", "tag",
                            "pr-link", "last-prompt"})
PROMPT_CHARS = 2000
# `user` lines whose text nobody typed: output of slash commands and `!` shell commands, interrupt
# markers, background-task notifications and reminders Claude Code adds.
NOT_TYPED = ("<local-command-stdout>", "<local-command-stderr>", "<local-command-caveat>", "<bash-stdout>", "<bash-stderr>",
             "<task-notification>", "<system-reminder>", "[Request interrupted by user")
# Which copy of a message counts: one in the main chain over a sidechain's, one written in a file
# of its own over one embedded in a parent's `agent_progress` line.
IN_FILE, EMBEDDED = 0, 1


def _moment(entry: dict[str, Any]) -> datetime | None:
    stamp = entry.get("timestamp")
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _message(entry: dict[str, Any]) -> dict[str, Any]:
    """The line's API message, or an empty one when it has none (or something else in its place)."""
    message = entry.get("message")
    return message if isinstance(message, dict) else {}


def _blocks(entry: dict[str, Any]) -> list[dict[str, Any]]:
    content = _message(entry).get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def prompt_text(entry: dict[str, Any]) -> str | None:
    """The text of a prompt the user typed; None for any other line (a tool result, an interrupt
    marker, a command's output, a compaction summary, a meta line, a sidechain's message …)."""
    if entry.get("type") != "user" or entry.get("isSidechain") or entry.get("isMeta") or entry.get("isCompactSummary"):
        return None
    if entry.get("isVisibleInTranscriptOnly") or "toolUseResult" in entry:
        return None
    content = _message(entry).get("content")
    if isinstance(content, str):
        text: str | None = content
    else:
        blocks = _blocks(entry)
        if not blocks or any(b.get("type") == "tool_result" for b in blocks):
            return None
        texts = [b.get("text") for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str)]
        text = "\n".join(texts) if texts else None  # type: ignore[arg-type]
    if text is None or not text.strip() or text.lstrip().startswith(NOT_TYPED):
        return None
    return text


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _ms(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() * 1000, 0.0)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


@dataclass
class _Line:
    """One user or assistant line, from a file or embedded in a parent's `agent_progress` line."""

    entry: dict[str, Any]
    moment: datetime
    chain: str  # "" for the main chain, else the sidechain's agent id (or its file's name)
    origin: int  # IN_FILE or EMBEDDED
    order: tuple[int, int, int]  # file, line, and which of the line's entries: where it stands in the input


@dataclass
class _Turn:
    """A request: a typed prompt (or the first main-chain line of a file with none) and all that followed."""

    first: dict[str, Any]
    start: datetime
    end: datetime
    lines: list[_Line] = field(default_factory=list)
    trace_id: str = ""

    def __post_init__(self) -> None:
        self.trace_id = hex_id(CLAUDE_CODE, self.first.get("uuid") or self.first.get("timestamp"))

    @property
    def root_id(self) -> str:
        return hex_id(self.trace_id, "turn", size=8)


@dataclass
class _Session:
    """What the main chains of every file have shown about one session id."""

    turns: list[_Turn] = field(default_factory=list)
    agents: dict[str, _Turn] = field(default_factory=dict)  # agent id -> the turn whose Task started it


def _message_key(entry: dict[str, Any], order: tuple[int, int, int]) -> str:
    """What identifies one API response: its message id, else its request id, else the line."""
    message_id = _message(entry).get("id")
    if isinstance(message_id, str) and message_id:
        return "message:" + message_id
    request_id = entry.get("requestId")
    if isinstance(request_id, str) and request_id:
        return "request:" + request_id
    return "line:" + str(entry.get("uuid") or order)


def convert(files: Sequence[tuple[str, bytes]]) -> tuple[list[dict[str, Any]], list[Converted]]:
    """The records of the Claude Code session logs `files` (name, bytes), converted together, and
    each file's accounting (lines, bad lines, skipped line types), in the order given."""
    sessions: dict[str, _Session] = {}
    turns: dict[str, _Turn] = {}
    accounts: list[Converted] = []
    sidechain_files: list[list[_Line]] = []
    for file_index, (name, data) in enumerate(files):
        lines = Lines(data)
        account = Converted(lines.count)
        account.bad = lines.bad
        accounts.append(account)
        side = _read_file(file_index, PurePath(name).stem, lines, account, sessions, turns)
        if side:
            sidechain_files.append(side)
        account.bad.sort()
    for side in sidechain_files:
        _attach(side, sessions, turns)
    records, copies = _records(list(turns.values()))
    for file_index, count in copies.items():
        accounts[file_index].copies += count
    return records, accounts


def _turn_at(entry: dict[str, Any], moment: datetime, session: _Session, turns: dict[str, _Turn]) -> _Turn:
    """The turn this line starts; the same one again when another file holds a copy of it (a
    resumed session copies the history it resumes)."""
    turn = _Turn(entry, moment, moment)
    if turn.trace_id in turns:
        return turns[turn.trace_id]
    turns[turn.trace_id] = turn
    session.turns.append(turn)
    return turn


def _read_file(file_index: int, stem: str, lines: Lines, account: Converted, sessions: dict[str, _Session],
               turns: dict[str, _Turn]) -> list[_Line]:
    """Read one file: main-chain lines go to turns (a new one at each typed prompt), sidechain
    lines in the file's flow go to the current turn, and a file holding only a sidechain (a
    subagent's own file) is returned, to be attached once every file's turns are known."""
    current: _Turn | None = None
    side: list[_Line] = []
    for number, entry in lines.entries:
        kind = entry.get("type")
        if not isinstance(kind, str):
            account.bad.append((number, "a Claude Code line without a type"))
            continue
        embedded = _embedded(entry) if kind == "progress" else None
        if kind in KNOWN_UNMAPPED and embedded is None:
            continue
        if kind not in KNOWN_UNMAPPED and kind not in ("user", "assistant"):
            account.skip(f"{CLAUDE_CODE}:{kind}")
            continue
        entry = embedded if embedded is not None else entry
        moment = _moment(entry)
        if moment is None:
            account.bad.append((number, "a Claude Code line without a readable timestamp"))
            continue
        session = sessions.setdefault(str(entry.get("sessionId") or ""), _Session())
        agent = entry.get("agentId")
        sidechain = bool(entry.get("isSidechain")) or embedded is not None
        line = _Line(entry, moment, (str(agent) if agent else stem) if sidechain else "", EMBEDDED if embedded is not None else IN_FILE,
                     (file_index, number, 0))
        if not sidechain:
            if prompt_text(entry) is not None or current is None:
                current = _turn_at(entry, moment, session, turns)
            current.end = max(current.end, moment)
            _note_agents(entry, current, session)
        if sidechain and embedded is not None and current is not None and agent:
            session.agents.setdefault(str(agent), current)
        if sidechain and current is None:
            side.append(line)  # no main chain (yet) in this file: attached later
        else:
            current.lines.append(line)  # type: ignore[union-attr]
    return side


def _embedded(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The subagent's line inside an `agent_progress` line, as a sidechain line of its own."""
    data = entry.get("data")
    if not isinstance(data, dict) or data.get("type") != "agent_progress" or not isinstance(data.get("message"), dict):
        return None
    inner = data["message"]
    if inner.get("type") not in ("user", "assistant"):
        return None
    return {"sessionId": entry.get("sessionId"), "cwd": entry.get("cwd"), "timestamp": entry.get("timestamp"), **inner, "isSidechain": True,
            "agentId": data.get("agentId") or inner.get("agentId"), "parentToolUseID": entry.get("parentToolUseID")}


def _note_agents(entry: dict[str, Any], turn: _Turn, session: _Session) -> None:
    """A Task tool's result names the subagent it ran: that agent's lines belong to this turn."""
    result = entry.get("toolUseResult")
    if not isinstance(result, dict) or not isinstance(result.get("agentId"), str):
        return
    session.agents.setdefault(result["agentId"], turn)


def _attach(side: list[_Line], sessions: dict[str, _Session], turns: dict[str, _Turn]) -> None:
    """A subagent's file belongs to the turn that started it: the one whose Task tool names its
    agent id, else the turn of its session running when it started (or the last one before);
    with no turn of its session in the input, it is a request of its own."""
    first = side[0]
    session = sessions.setdefault(str(first.entry.get("sessionId") or ""), _Session())
    turn = session.agents.get(first.chain)
    if turn is None:
        before = [t for t in session.turns if t.start <= first.moment]
        turn = before[-1] if before else None
    if turn is None:
        turn = _turn_at(first.entry, first.moment, session, turns)
        turn.end = max(turn.end, *(line.moment for line in side))
    turn.lines.extend(side)


@dataclass
class _Call:
    """One API response and every copy of it that was read."""

    best: _Line
    turn: _Turn
    usage: dict[str, Any]
    usage_entry: dict[str, Any]
    cost: float | None = None


def _rank(line: _Line) -> tuple[bool, int, tuple[int, int, int]]:
    return (line.chain != "", line.origin, line.order)


def _size(usage: dict[str, Any]) -> tuple[int, int]:
    """How far a usage snapshot had got: output tokens, then all input."""
    return (_count(usage.get("output_tokens")),
            _count(usage.get("input_tokens")) + _count(usage.get("cache_read_input_tokens")) + _count(usage.get("cache_creation_input_tokens")))


Lane = tuple[str, int]  # a chain and where its lines were written (IN_FILE or EMBEDDED): one flow of time
CopyKey = tuple[str, Lane, str]  # trace, lane, message key


@dataclass
class _Copy:
    """The lines of one API response in one lane of one turn: when it ran, and its content."""

    start: datetime
    end: datetime
    lines: list[_Line] = field(default_factory=list)


def _records(turns: list[_Turn]) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """Every turn's records, each API response counted once across all of them, and how many
    copies of a response each file held beside the one counted (by file index)."""
    calls: dict[str, _Call] = {}
    copies: dict[CopyKey, _Copy] = {}
    results: dict[str, tuple[dict[str, Any], datetime]] = {}
    for turn in turns:
        previous: dict[Lane, datetime] = {}
        for line in sorted(turn.lines, key=lambda item: (item.origin, item.order)):
            entry, lane = line.entry, (line.chain, line.origin)
            for block in _blocks(entry):
                if block.get("type") == "tool_result" and isinstance(block.get("tool_use_id"), str):
                    results.setdefault(block["tool_use_id"], (block, line.moment))
            if entry.get("type") == "assistant":
                key = _message_key(entry, line.order)
                copy = copies.setdefault((turn.trace_id, lane, key), _Copy(previous.get(lane, turn.start), line.moment))
                copy.end = max(copy.end, line.moment)
                copy.lines.append(line)
                usage = _message(entry).get("usage") if isinstance(_message(entry).get("usage"), dict) else {}
                call = calls.get(key)
                if call is None:
                    call = calls[key] = _Call(line, turn, usage, entry)
                elif _rank(line) < _rank(call.best):
                    call.best, call.turn = line, turn
                if _size(usage) > _size(call.usage):
                    call.usage, call.usage_entry = usage, entry
                cost = entry.get("costUSD")
                if call.cost is None and isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost >= 0:
                    call.cost = float(cost)
            previous[lane] = line.moment
    # A response written again in another file of the same chain (an archived or resumed copy of
    # the session) was read more than once; a subagent's replay or an `agent_progress` copy is
    # how Claude Code writes it, not a second reading.
    files_of: dict[tuple[str, str], set[int]] = {}
    for (_, (chain, origin), key), copy in copies.items():
        if origin == IN_FILE:
            files_of.setdefault((key, chain), set()).update(line.order[0] for line in copy.lines)
    extra: dict[int, int] = {}
    for (key, chain), files in files_of.items():
        best = calls[key].best
        first = best.order[0] if (best.chain, best.origin) == (chain, IN_FILE) else min(files)
        for file_index in files - {first}:
            extra[file_index] = extra.get(file_index, 0) + 1
    by_turn: dict[str, list[tuple[str, _Call]]] = {}
    for key, call in calls.items():
        by_turn.setdefault(call.turn.trace_id, []).append((key, call))
    records: list[dict[str, Any]] = []
    tools_seen: set[str] = set()
    for turn in turns:
        records.extend(_turn_records(turn, by_turn.get(turn.trace_id, []), copies, results, tools_seen))
    return records, extra


def _turn_records(turn: _Turn, calls: list[tuple[str, _Call]], copies: dict[CopyKey, _Copy],
                  results: dict[str, tuple[dict[str, Any], datetime]], tools_seen: set[str]) -> list[dict[str, Any]]:
    first = turn.first
    prompt = prompt_text(first)
    cwd = first.get("cwd")
    common: dict[str, Any] = {"agent": CLAUDE_CODE, "session": str(first.get("sessionId") or "")}  # on every span: --by session, --by project
    if isinstance(cwd, str) and cwd:
        common["project"] = PurePath(cwd).name or cwd
    attrs = dict(common)
    if isinstance(cwd, str) and cwd:
        attrs["cwd"] = cwd
    if prompt is not None:
        attrs["input"] = prompt[:PROMPT_CHARS]
    if first.get("isSidechain"):
        attrs["subagent"] = True  # a subagent's file read without the session that started it
    if isinstance(first.get("gitBranch"), str) and first["gitBranch"]:
        attrs["git.branch"] = first["gitBranch"]
    records: list[dict[str, Any]] = []
    for key, call in calls:
        copy = copies[(turn.trace_id, (call.best.chain, call.best.origin), key)]
        start, end = copy.start, copy.end
        message = _message(call.best.entry)
        model = _message(call.usage_entry).get("model") or message.get("model")
        span_id = hex_id(CLAUDE_CODE, key, size=8)
        if model != "<synthetic>" and isinstance(model, str) and model:
            records.append(_span(turn.trace_id, span_id, turn.root_id, "model call", "llm", start, end, False,
                                 {**common, "gen_ai.request.model": model, "gen_ai.provider.name": "anthropic",
                                  **({"sidechain": True} if call.best.chain else {})}))
            records.append(_usage(turn.trace_id, span_id, end, model, call.usage, call.cost))
        for line in copy.lines:
            for block in _blocks(line.entry):
                tool_id = block.get("id")
                if block.get("type") != "tool_use" or not isinstance(tool_id, str) or tool_id in tools_seen:
                    continue
                tools_seen.add(tool_id)
                result, finished = results.get(tool_id, (None, turn.end))
                failed = bool(result.get("is_error")) if result else False
                records.append(_span(turn.trace_id, hex_id(CLAUDE_CODE, tool_id, size=8), turn.root_id, str(block.get("name") or "tool"), "tool",
                                     line.moment, max(finished, line.moment), failed,
                                     {**common, "tool.call_id": tool_id, **({"tool.result": "missing"} if result is None else {})}))
    records.append(_span(turn.trace_id, turn.root_id, None, "turn", "agent", turn.start, turn.end, False, attrs))
    return records


def _span(trace_id: str, span_id: str, parent: str | None, name: str, kind: str, start: datetime, end: datetime, failed: bool,
          attrs: dict[str, Any]) -> dict[str, Any]:
    record = {"v": 1, "type": "span", "trace_id": trace_id, "span_id": span_id, "parent_id": parent, "name": name, "kind": kind,
              "start": _rfc3339(start), "duration_ms": _ms(start, end), "status": "error" if failed else "ok", "attrs": attrs}
    if failed:
        record["error"] = {"type": "ToolError", "message": None}
    return record


def _usage(trace_id: str, span_id: str, moment: datetime, model: str, usage: dict[str, Any], cost: float | None) -> dict[str, Any]:
    cache_read = _count(usage.get("cache_read_input_tokens"))
    cache_write = _count(usage.get("cache_creation_input_tokens"))
    detail = usage.get("cache_creation") if isinstance(usage.get("cache_creation"), dict) else {}
    reported = "input_tokens" in usage or "output_tokens" in usage
    record = {
        "v": 1, "type": "usage", "trace_id": trace_id, "span_id": span_id, "time": _rfc3339(moment), "provider": "anthropic", "model": model,
        "input_tokens": _count(usage.get("input_tokens")) + cache_read + cache_write if reported else None,
        "output_tokens": _count(usage.get("output_tokens")) if reported else None,
        "cache_read_tokens": cache_read, "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": min(_count(detail.get("ephemeral_1h_input_tokens")), cache_write),
    }
    if cost is not None:
        record["cost_usd"] = cost
    return record

"""OpenAI Codex CLI session logs (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`) as llmobs records.

Each line is `{"timestamp", "type", "payload"}`. The traps: `token_count` events carry the
session's cumulative `total_token_usage` and the last call's `last_token_usage`, may repeat, and
may have `info: null`; a model call is a rise of the cumulative total. Cached input is inside
input and reasoning inside output, as FORMAT.md counts them. The model comes from `turn_context`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import PurePath
from typing import Any

from llmobs.agents import CODEX, CODEX_TYPES, Converted, Lines, hex_id

PROMPT_CHARS = 2000
EXIT_CODE = re.compile(r"^Exit code: (-?\d+)", re.MULTILINE)
TOKEN_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


def _moment(entry: dict[str, Any]) -> datetime | None:
    stamp = entry.get("timestamp")
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if isinstance(stamp, str) else None
    except ValueError:
        return None


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _failed(output: Any) -> bool:
    """Whether a tool's output says it failed: a non-zero exit code (JSON metadata or `Exit code: N`)."""
    if isinstance(output, dict):
        text = output.get("content") if isinstance(output.get("content"), str) else json.dumps(output)
        if output.get("success") is False:
            return True
    else:
        text = output if isinstance(output, str) else ""
    try:
        parsed = json.loads(text)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("metadata"), dict):
        code = parsed["metadata"].get("exit_code")
        return isinstance(code, int) and code != 0
    match = EXIT_CODE.search(text)
    return bool(match and int(match.group(1)) != 0)


class _Session:
    """The state a Codex log builds up line by line."""

    def __init__(self) -> None:
        self.session = ""
        self.cwd: str | None = None
        self.model = "unknown"
        self.total: tuple[int, ...] | None = None  # the cumulative usage last seen
        self.turn: dict[str, Any] | None = None
        self.calls: dict[str, dict[str, Any]] = {}
        self.request: datetime | None = None  # when the model was last asked: the last input before its output
        self.answering = False  # output items of the current response have begun
        self.turns: list[dict[str, Any]] = []


# Items the model writes (its response); everything else before them is input to the next request.
OUTPUT_ITEMS = frozenset({"reasoning", "function_call", "custom_tool_call", "local_shell_call", "web_search_call", "image_generation_call"})
OUTPUT_EVENTS = frozenset({"agent_message", "agent_reasoning", "agent_reasoning_raw_content", "agent_reasoning_section_break"})
# Lines Codex writes when the user submits the next prompt, before its `user_message`.
LEAD_IN_EVENTS = frozenset({"task_started"})


def _is_output(kind: str, payload: dict[str, Any]) -> bool:
    inner = payload.get("type") if isinstance(payload.get("type"), str) else None
    if kind == "response_item":
        return inner in OUTPUT_ITEMS or (inner == "message" and payload.get("role") == "assistant")
    return kind == "event_msg" and inner in OUTPUT_EVENTS


def _is_lead_in(kind: str, payload: dict[str, Any]) -> bool:
    inner = payload.get("type") if isinstance(payload.get("type"), str) else None
    return (kind == "event_msg" and inner in LEAD_IN_EVENTS) or (kind == "response_item" and inner == "message" and payload.get("role") in ("user", "developer"))


def _convert_file(data: bytes) -> tuple[Converted, list[dict[str, Any]]]:
    """One Codex session log's accounting and turns (`convert` drops what another file already holds)."""
    lines = Lines(data)
    out = Converted(lines.count)
    out.bad = lines.bad
    state = _Session()
    for number, entry in lines.entries:
        kind, payload, moment = entry.get("type"), entry.get("payload"), _moment(entry)
        if not isinstance(kind, str) or kind not in CODEX_TYPES:
            out.skip(f"{CODEX}:{kind}")
            continue
        if moment is None or not isinstance(payload, dict):
            out.bad.append((number, "a Codex line without a readable timestamp or payload"))
            continue
        _line(state, kind, payload, moment)
    _end_turn(state)
    out.bad.sort()
    for turn in state.turns:
        turn["account"] = out
    if any(turn["prompt"] is None for turn in state.turns):
        out.notes.append("model calls before any user prompt (user_message), counted as a request without a prompt")
    return out, state.turns


def _line(state: _Session, kind: str, payload: dict[str, Any], moment: datetime) -> None:
    inner = payload.get("type") if isinstance(payload.get("type"), str) else None
    if kind == "session_meta":
        state.session = str(payload.get("id") or state.session)
        state.cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else state.cwd
        return
    if kind == "turn_context":
        if isinstance(payload.get("model"), str) and payload["model"]:
            state.model = payload["model"]
        state.cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else state.cwd
    if kind == "event_msg" and inner == "user_message":
        _end_turn(state)
        text = payload.get("message") if isinstance(payload.get("message"), str) else ""
        _start_turn(state, moment, text)
        return
    if kind == "event_msg" and inner == "token_count":
        _model_call(state, payload, moment)
        return
    if _is_output(kind, payload):
        state.answering = True
    elif not state.answering or state.request is None:
        state.request = moment  # still gathering the request's input
    else:
        state.answering, state.request = False, moment  # input after output without a token count: a new request
    if state.turn is None:
        return
    if kind == "event_msg" and inner == "task_complete":
        state.turn["end"], state.turn["complete"] = max(state.turn["end"], moment), True
    elif not state.turn.get("complete") and not _is_lead_in(kind, payload):
        state.turn["end"] = max(state.turn["end"], moment)  # a lead-in line may be the next turn's: a later line of this one moves the end past it
    if kind == "response_item" and inner in ("function_call", "custom_tool_call", "local_shell_call"):
        call_id = payload.get("call_id") or payload.get("id")
        if isinstance(call_id, str):
            state.calls[call_id] = {"name": str(payload.get("name") or inner), "start": moment, "status": payload.get("status")}
    elif kind == "response_item" and inner in ("function_call_output", "custom_tool_call_output"):
        call = state.calls.pop(payload.get("call_id"), None) if isinstance(payload.get("call_id"), str) else None
        if call is not None:
            _tool(state, payload["call_id"], call["name"], call["start"], moment, _failed(payload.get("output")) or call["status"] == "failed")
    elif kind == "event_msg" and inner == "mcp_tool_call_end":
        invocation = payload.get("invocation") if isinstance(payload.get("invocation"), dict) else {}
        result = payload.get("result")
        ok = result.get("Ok") if isinstance(result, dict) else None
        failed = isinstance(result, dict) and ("Err" in result or (isinstance(ok, dict) and bool(ok.get("isError"))))
        name = f"{invocation.get('server', 'mcp')}.{invocation.get('tool', 'tool')}"
        duration = _seconds(payload.get("duration"))
        _tool(state, str(payload.get("call_id") or hex_id(moment.isoformat(), name)), name,
              moment if duration is None else _minus(moment, duration), moment, failed)


def _start_turn(state: _Session, moment: datetime, prompt: str | None) -> None:
    trace_id = hex_id(CODEX, state.session, moment.isoformat(), prompt if prompt is not None else "(no prompt)")
    state.turn = {"trace": trace_id, "root": hex_id(trace_id, "turn", size=8), "start": moment, "end": moment, "prompt": prompt,
                  "calls": [], "tools": [], "common": _common(state), "cwd": state.cwd}
    state.turns.append(state.turn)


def _seconds(duration: Any) -> float | None:
    """A duration as Codex writes it: `{"secs": 1, "nanos": 5}`, or seconds."""
    if isinstance(duration, dict):
        return _count(duration.get("secs")) + _count(duration.get("nanos")) / 1e9
    return float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None


def _minus(moment: datetime, seconds: float) -> datetime:
    from datetime import timedelta

    return moment - timedelta(seconds=seconds)


def _model_call(state: _Session, payload: dict[str, Any], moment: datetime) -> None:
    """A model call, where the cumulative usage rose: timed from its request (the last input before
    the response's output items) to this count."""
    info = payload.get("info")
    if not isinstance(info, dict):
        return  # `info: null`: a rate-limit update, no call
    total_usage = info.get("total_token_usage") if isinstance(info.get("total_token_usage"), dict) else None
    last_usage = info.get("last_token_usage") if isinstance(info.get("last_token_usage"), dict) else None
    if total_usage is None and last_usage is None:
        return
    total = tuple(_count((total_usage or {}).get(field)) for field in TOKEN_FIELDS)
    if total_usage is not None and total == state.total:
        return  # the same cumulative total again: a repeated event, not a new call
    if total_usage is not None and state.total is not None and all(t >= p for t, p in zip(total, state.total, strict=True)):
        used = tuple(t - p for t, p in zip(total, state.total, strict=True))
    else:
        used = tuple(_count((last_usage or total_usage or {}).get(field)) for field in TOKEN_FIELDS)
    state.total = total if total_usage is not None else state.total
    if state.turn is None:
        _start_turn(state, state.request or moment, None)  # usage before any prompt: a request of its own, named
    turn = state.turn
    assert turn is not None
    start = state.request if state.request is not None and state.request <= moment else moment
    start = max(start, turn["start"])
    key = (state.model, total if total_usage is not None else (moment.isoformat(), *used))  # the same call in a branch's copied history
    turn["calls"].append({"key": key, "start": start, "end": moment, "used": used, "model": state.model, "common": _common(state)})
    if not turn.get("complete"):
        turn["end"] = max(turn["end"], moment)
    state.answering, state.request = False, moment


def _tool(state: _Session, call_id: str, name: str, start: datetime, end: datetime, failed: bool) -> None:
    if state.turn is not None:
        state.turn["tools"].append({"call_id": call_id, "name": name, "start": start, "end": end, "failed": failed, "common": _common(state)})


def _common(state: _Session) -> dict[str, Any]:
    """Attributes on every span, so steps group by them too (`--by session`, `--by project`)."""
    common: dict[str, Any] = {"agent": CODEX, "session": state.session}
    if state.cwd:
        common["project"] = PurePath(state.cwd).name or state.cwd
    return common


def _end_turn(state: _Session) -> None:
    turn = state.turn
    if turn is None:
        return
    for call_id, call in state.calls.items():  # calls whose output never came: shown, ending with the turn
        _tool(state, call_id, call["name"], call["start"], max(turn["end"], call["start"]), False)
    state.calls = {}
    state.turn = None


def _turn_records(turn: dict[str, Any]) -> list[dict[str, Any]]:
    """The turn's root span, its model calls (span and usage) and its tool calls."""
    records: list[dict[str, Any]] = []
    for call in turn["calls"]:
        span_id = hex_id(CODEX, turn["trace"], call["key"], size=8)
        input_tokens, cached, output_tokens, reasoning = call["used"]
        records.append({
            "v": 1, "type": "span", "trace_id": turn["trace"], "span_id": span_id, "parent_id": turn["root"], "name": "model call", "kind": "llm",
            "start": _rfc3339(call["start"]), "duration_ms": _ms(call["start"], call["end"]), "status": "ok",
            "attrs": {**call["common"], "gen_ai.request.model": call["model"], "gen_ai.provider.name": "openai"},
        })
        records.append({
            "v": 1, "type": "usage", "trace_id": turn["trace"], "span_id": span_id, "time": _rfc3339(call["end"]), "provider": "openai", "model": call["model"],
            "input_tokens": input_tokens, "output_tokens": output_tokens, "cache_read_tokens": min(cached, input_tokens),
            "reasoning_tokens": min(reasoning, output_tokens),
        })
    for tool in turn["tools"]:
        record: dict[str, Any] = {
            "v": 1, "type": "span", "trace_id": turn["trace"], "span_id": hex_id(CODEX, turn["trace"], tool["call_id"], size=8), "parent_id": turn["root"],
            "name": tool["name"], "kind": "tool", "start": _rfc3339(tool["start"]), "duration_ms": _ms(tool["start"], tool["end"]),
            "status": "error" if tool["failed"] else "ok", "attrs": {**tool["common"], "tool.call_id": tool["call_id"]},
        }
        if tool["failed"]:
            record["error"] = {"type": "ToolError", "message": None}
        records.append(record)
    attrs: dict[str, Any] = dict(turn["common"])
    if turn["prompt"] is not None:
        attrs["input"] = turn["prompt"][:PROMPT_CHARS]
    else:
        attrs["prompt"] = "none"  # usage before any user_message
    if turn["cwd"]:
        attrs["cwd"] = turn["cwd"]
    records.append({
        "v": 1, "type": "span", "trace_id": turn["trace"], "span_id": turn["root"], "parent_id": None, "name": "turn", "kind": "agent",
        "start": _rfc3339(turn["start"]), "duration_ms": _ms(turn["start"], turn["end"]), "status": "ok", "attrs": attrs,
    })
    return records


def _ms(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() * 1000, 0.0)


class _Earliest:
    """Which reading of each key counts: the earliest, once."""

    def __init__(self, readings: Iterable[tuple[Any, datetime]]) -> None:
        self.first: dict[Any, datetime] = {}
        for key, moment in readings:
            self.first[key] = min(self.first.get(key, moment), moment)

    def take(self, key: Any, moment: datetime) -> bool:
        """True for the earliest reading of `key`, the first time it is offered."""
        if self.first.get(key) != moment:
            return False
        del self.first[key]
        return True


def convert(files: Sequence[tuple[str, bytes]]) -> tuple[list[dict[str, Any]], list[Converted]]:
    """The records of Codex session logs, each file converted on its own, then each model call and
    tool call counted once across them: a branched session copies its parent's history into its
    own file (new timestamps, the same cumulative usage and call ids), and a turn all of whose
    calls are such copies is a copy too. The earliest reading of a call counts."""
    converted = [_convert_file(data) for _, data in files]
    turns = [turn for _, file_turns in converted for turn in file_turns]
    earliest_call = _Earliest((call["key"], call["end"]) for turn in turns for call in turn["calls"])
    earliest_tool = _Earliest((tool["call_id"], tool["start"]) for turn in turns for tool in turn["tools"])
    records: list[dict[str, Any]] = []
    for turn in turns:
        calls = [call for call in turn["calls"] if earliest_call.take(call["key"], call["end"])]
        tools = [tool for tool in turn["tools"] if earliest_tool.take(tool["call_id"], tool["start"])]
        copied = bool(turn["calls"] or turn["tools"]) and not calls and not tools
        turn["account"].copies += len(turn["calls"]) - len(calls) + len(turn["tools"]) - len(tools) + copied
        if not copied:
            records += _turn_records({**turn, "calls": calls, "tools": tools})
    return records, [account for account, _ in converted]

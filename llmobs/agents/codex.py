"""OpenAI Codex CLI session logs (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`) as llmobs records.

Each line is `{"timestamp", "type", "payload"}`. The traps: `token_count` events carry the
session's cumulative `total_token_usage` and the last call's `last_token_usage`, may repeat, and
may have `info: null`; a model call is a rise of the cumulative total. Cached input is inside
input and reasoning inside output, as FORMAT.md counts them. The model comes from `turn_context`.
"""

from __future__ import annotations

import json
import re
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
        self.last_moment: datetime | None = None
        self.calls: dict[str, dict[str, Any]] = {}


def convert(data: bytes) -> Converted:
    """The records of one Codex session log."""
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
        inner = payload.get("type")
        if kind == "session_meta":
            state.session = str(payload.get("id") or state.session)
            state.cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else state.cwd
        elif kind == "turn_context":
            if isinstance(payload.get("model"), str) and payload["model"]:
                state.model = payload["model"]
            state.cwd = payload.get("cwd") if isinstance(payload.get("cwd"), str) else state.cwd
        elif kind == "event_msg" and inner == "user_message":
            _end_turn(state, out)
            text = payload.get("message") if isinstance(payload.get("message"), str) else ""
            trace_id = hex_id(CODEX, state.session, moment.isoformat(), text)
            state.turn = {"trace": trace_id, "root": hex_id(trace_id, "turn", size=8), "start": moment, "end": moment, "prompt": text}
        elif state.turn is None:
            pass  # before the first prompt: nothing to hang it on
        elif kind == "event_msg" and inner == "token_count":
            _model_call(state, out, payload, moment)
        elif kind == "response_item" and inner in ("function_call", "custom_tool_call", "local_shell_call"):
            call_id = payload.get("call_id") or payload.get("id")
            if isinstance(call_id, str):
                state.calls[call_id] = {"name": str(payload.get("name") or inner), "start": moment, "status": payload.get("status")}
        elif kind == "response_item" and inner in ("function_call_output", "custom_tool_call_output"):
            call = state.calls.pop(payload.get("call_id"), None) if isinstance(payload.get("call_id"), str) else None
            if call is not None:
                _tool(state, out, payload["call_id"], call["name"], call["start"], moment, _failed(payload.get("output")) or call["status"] == "failed")
        elif kind == "event_msg" and inner == "mcp_tool_call_end":
            invocation = payload.get("invocation") if isinstance(payload.get("invocation"), dict) else {}
            result = payload.get("result")
            ok = result.get("Ok") if isinstance(result, dict) else None
            failed = isinstance(result, dict) and ("Err" in result or (isinstance(ok, dict) and bool(ok.get("isError"))))
            name = f"{invocation.get('server', 'mcp')}.{invocation.get('tool', 'tool')}"
            duration = _seconds(payload.get("duration"))
            _tool(state, out, str(payload.get("call_id") or hex_id(moment.isoformat(), name)), name,
                  moment if duration is None else _minus(moment, duration), moment, failed)
        if state.turn is not None and kind != "turn_context":
            state.turn["end"] = max(state.turn["end"], moment)
        if not (kind == "event_msg" and inner == "token_count"):
            state.last_moment = moment
    _end_turn(state, out)
    out.bad.sort()
    return out


def _seconds(duration: Any) -> float | None:
    """A duration as Codex writes it: `{"secs": 1, "nanos": 5}`, or seconds."""
    if isinstance(duration, dict):
        return _count(duration.get("secs")) + _count(duration.get("nanos")) / 1e9
    return float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None


def _minus(moment: datetime, seconds: float) -> datetime:
    from datetime import timedelta

    return moment - timedelta(seconds=seconds)


def _model_call(state: _Session, out: Converted, payload: dict[str, Any], moment: datetime) -> None:
    info = payload.get("info")
    if not isinstance(info, dict) or state.turn is None:
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
    input_tokens, cached, output_tokens, reasoning = used
    turn = state.turn
    span_id = hex_id(CODEX, state.session, moment.isoformat(), total, size=8)
    start = state.last_moment if state.last_moment is not None and state.last_moment <= moment else moment
    out.records.append({
        "v": 1, "type": "span", "trace_id": turn["trace"], "span_id": span_id, "parent_id": turn["root"], "name": "model call", "kind": "llm",
        "start": _rfc3339(start), "duration_ms": max((moment - start).total_seconds() * 1000, 0.0), "status": "ok",
        "attrs": {**_common(state), "gen_ai.request.model": state.model, "gen_ai.provider.name": "openai"},
    })
    out.records.append({
        "v": 1, "type": "usage", "trace_id": turn["trace"], "span_id": span_id, "time": _rfc3339(moment), "provider": "openai", "model": state.model,
        "input_tokens": input_tokens, "output_tokens": output_tokens, "cache_read_tokens": min(cached, input_tokens),
        "reasoning_tokens": min(reasoning, output_tokens),
    })


def _tool(state: _Session, out: Converted, call_id: str, name: str, start: datetime, end: datetime, failed: bool) -> None:
    turn = state.turn
    if turn is None:
        return
    record: dict[str, Any] = {
        "v": 1, "type": "span", "trace_id": turn["trace"], "span_id": hex_id(CODEX, state.session, call_id, size=8), "parent_id": turn["root"],
        "name": name, "kind": "tool", "start": _rfc3339(start), "duration_ms": max((end - start).total_seconds() * 1000, 0.0),
        "status": "error" if failed else "ok", "attrs": {**_common(state), "tool.call_id": call_id},
    }
    if failed:
        record["error"] = {"type": "ToolError", "message": None}
    out.records.append(record)


def _common(state: _Session) -> dict[str, Any]:
    """Attributes on every span, so steps group by them too (`--by session`, `--by project`)."""
    common: dict[str, Any] = {"agent": CODEX, "session": state.session}
    if state.cwd:
        common["project"] = PurePath(state.cwd).name or state.cwd
    return common


def _end_turn(state: _Session, out: Converted) -> None:
    turn = state.turn
    if turn is None:
        return
    for call_id, call in state.calls.items():  # calls whose output never came: shown, ending with the turn
        _tool(state, out, call_id, call["name"], call["start"], turn["end"], False)
    state.calls = {}
    attrs: dict[str, Any] = {**_common(state), "input": turn["prompt"][:PROMPT_CHARS]}
    if state.cwd:
        attrs["cwd"] = state.cwd
    out.records.append({
        "v": 1, "type": "span", "trace_id": turn["trace"], "span_id": turn["root"], "parent_id": None, "name": "turn", "kind": "agent",
        "start": _rfc3339(turn["start"]), "duration_ms": max((turn["end"] - turn["start"]).total_seconds() * 1000, 0.0), "status": "ok", "attrs": attrs,
    })
    state.turn = None

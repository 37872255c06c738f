"""Small session logs in the formats Claude Code and Codex CLI write, made here (no copied files),
with the traps their real logs hold: split messages, streaming snapshots, sidechain replays,
synthetic messages, repeated and null token counts, failed tools, unknown line types."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

T0 = datetime(2026, 11, 3, 9, 0, 0, tzinfo=timezone.utc)
SESSION = "5f0c3a2e-1b7d-4e55-9a10-2c4d6e8f0a11"
CWD = "/home/dev/acme-shop"


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _claude(kind: str, uid: str, seconds: float, message: dict, **extra: object) -> dict:
    return {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": CWD, "sessionId": SESSION, "version": "2.0.31",
            "gitBranch": "main", "type": kind, "message": message, "uuid": uid, "timestamp": at(seconds), **extra}


def _assistant(uid: str, seconds: float, message_id: str, block: dict, usage: dict, model: str = "claude-sonnet-4-5-20250929", **extra: object) -> dict:
    return _claude("assistant", uid, seconds, {"id": message_id, "type": "message", "role": "assistant", "model": model, "content": [block],
                                               "stop_reason": None, "usage": usage}, requestId=f"req_{message_id}", **extra)


def usage(input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0, hour: int = 0) -> dict:
    return {"input_tokens": input_tokens, "cache_creation_input_tokens": cache_write, "cache_read_input_tokens": cache_read, "output_tokens": output_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": cache_write - hour, "ephemeral_1h_input_tokens": hour}, "service_tier": "standard"}


# The model calls of the Claude Code session, as they should be counted: (input incl. cache, cache read, cache write, of it 1 h, output)
CLAUDE_CALLS = {"msg_A": (1210, 1000, 200, 200, 120), "msg_B": (1330, 1300, 0, 0, 30), "msg_C": (1500, 1450, 0, 0, 50), "msg_D": (700, 600, 0, 0, 20)}


def claude_code_log(path: Path) -> Path:
    lines = [
        {"type": "summary", "summary": "Fix the failing checkout test", "leafUuid": "u-last"},
        _claude("user", "u1", 0, {"role": "user", "content": "fix the failing checkout test"}),
        # one API message, three lines (thinking, text, tool use), the first two with streaming snapshots of its usage
        _assistant("a1", 2, "msg_A", {"type": "thinking", "thinking": "…"}, usage(10, 5, 1000, 200, 200)),
        _assistant("a2", 3, "msg_A", {"type": "text", "text": "Let me run the tests."}, usage(10, 40, 1000, 200, 200)),
        _assistant("a3", 4, "msg_A", {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "pytest -q"}}, usage(10, 120, 1000, 200, 200)),
        _claude("user", "u2", 9, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "1 failed", "is_error": False}]},
                toolUseResult={"stdout": "1 failed"}),
        _assistant("a4", 11, "msg_B", {"type": "tool_use", "id": "toolu_2", "name": "Read", "input": {"file_path": "/nope.py"}}, usage(30, 30, 1300)),
        _claude("user", "u3", 12, {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_2", "content": "File does not exist.", "is_error": True}]}),
        # a subagent's sidechain replays msg_B: the same message, counted once
        _assistant("s1", 12.5, "msg_B", {"type": "tool_use", "id": "toolu_2", "name": "Read", "input": {}}, usage(30, 30, 1300), isSidechain=True),
        # an API error shown as a message: no model call
        _assistant("a5", 13, "msg_syn", {"type": "text", "text": "API Error: overloaded"}, usage(0, 0), model="<synthetic>"),
        _assistant("a6", 20, "msg_C", {"type": "text", "text": "Fixed: the fixture was stale."}, usage(50, 50, 1450)),
        {"type": "file-history-snapshot", "messageId": "m", "snapshot": {}, "isSnapshotUpdate": False},
        {"type": "some-new-line-type", "sessionId": SESSION, "timestamp": at(21)},
        _claude("user", "u4", 60, {"role": "user", "content": [{"type": "text", "text": "thanks, now commit it"}]}),
        _assistant("a7", 64, "msg_D", {"type": "text", "text": "Committed."}, usage(100, 20, 600)),
    ]
    text = "\n".join(json.dumps(line) for line in lines[:-2]) + "\n{not json\n" + "\n".join(json.dumps(line) for line in lines[-2:]) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


CODEX_SESSION = "0199a7e2-3c4d-7e8f-9a0b-1c2d3e4f5a6b"


def _codex(seconds: float, kind: str, payload: dict) -> dict:
    return {"timestamp": at(seconds), "type": kind, "payload": payload}


def _tokens(seconds: float, total: tuple[int, int, int, int] | None, last: tuple[int, int, int, int] | None = None) -> dict:
    def usage(values: tuple[int, int, int, int]) -> dict:
        i, c, o, r = values
        return {"input_tokens": i, "cached_input_tokens": c, "output_tokens": o, "reasoning_output_tokens": r, "total_tokens": i + o}

    info = None if total is None else {"total_token_usage": usage(total), "last_token_usage": usage(last or total), "model_context_window": 272000}
    return _codex(seconds, "event_msg", {"type": "token_count", "info": info, "rate_limits": None})


# (input incl. cached, cached, output incl. reasoning, reasoning) per call, as the cumulative totals rise
CODEX_CALLS = [(1000, 200, 50, 20), (1500, 700, 30, 10), (500, 0, 20, 0)]


def codex_log(path: Path) -> Path:
    lines = [
        _codex(0, "session_meta", {"id": CODEX_SESSION, "timestamp": at(0), "cwd": CWD, "originator": "codex_cli_rs", "cli_version": "0.46.0"}),
        _codex(0.1, "turn_context", {"cwd": CWD, "approval_policy": "on-request", "model": "gpt-5-codex", "effort": "medium"}),
        _codex(0.2, "response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>…"}]}),
        _codex(1, "event_msg", {"type": "user_message", "message": "add tests for the cart", "images": []}),
        _tokens(1.5, None),  # a rate-limit update: no call
        _tokens(4, (1000, 200, 50, 20)),
        _codex(4.1, "response_item", {"type": "function_call", "name": "shell", "arguments": "{\"command\":[\"pytest\"]}", "call_id": "call_1"}),
        _codex(6, "response_item", {"type": "function_call_output", "call_id": "call_1",
                                    "output": json.dumps({"output": "3 passed", "metadata": {"exit_code": 0, "duration_seconds": 1.9}})}),
        _tokens(6.1, (1000, 200, 50, 20)),  # repeated: the same cumulative total
        _tokens(9, (2500, 900, 80, 30), (1500, 700, 30, 10)),
        _codex(9.1, "response_item", {"type": "custom_tool_call", "status": "completed", "call_id": "call_2", "name": "apply_patch", "input": "*** Begin Patch"}),
        _codex(9.6, "response_item", {"type": "custom_tool_call_output", "call_id": "call_2", "output": "Exit code: 1\nWall time: 0.2 seconds\nOutput:\npatch failed"}),
        _codex(11, "event_msg", {"type": "mcp_tool_call_end", "call_id": "call_3", "invocation": {"server": "github", "tool": "create_issue", "arguments": {}},
                                 "duration": {"secs": 1, "nanos": 500000000}, "result": {"Err": "401 Unauthorized"}}),
        {"timestamp": at(11.5), "type": "weird_new_type", "payload": {}},
        _codex(30, "event_msg", {"type": "user_message", "message": "now run them", "images": []}),
        _tokens(33, (3000, 900, 100, 30), (500, 0, 20, 0)),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path

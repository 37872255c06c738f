"""Real Claude Code and Codex CLI session logs (tests/corpus, sources and licences in its README),
each checked against an independent computation from the files themselves."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from helpers import llmobs

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
CLAUDE = CORPUS / "claude-code"
CODEX = CORPUS / "codex"
SESSION = "4d5611e5-241a-462a-8d15-5122611a9569"


def report(*paths: Path, args: tuple[str, ...] = ()) -> dict:
    result = llmobs("report", *map(str, paths), "--no-cache", "-f", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def moment(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def lines_of(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.rglob("*.jsonl")) for line in path.read_text().splitlines() if line.strip()]


# --- Claude Code ------------------------------------------------------------------------------

def claude_calls(folder: Path, key: str = "message") -> dict[str, dict]:
    """Every API response in the folder, from the files' assistant lines and the subagent lines
    embedded in `agent_progress`, once each: its final (largest) usage, with its model and time."""
    calls: dict[str, dict] = {}
    for line in lines_of(folder):
        data = line.get("data") if isinstance(line.get("data"), dict) else {}
        entry = data["message"] if line.get("type") == "progress" and data.get("type") == "agent_progress" else line
        if entry.get("type") != "assistant":
            continue
        message = entry["message"]
        ident = message["id"] if key == "message" else f"{message['id']}:{entry['requestId']}"
        usage = message["usage"]
        size = (usage["output_tokens"], usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"])
        if ident not in calls or size > calls[ident]["size"]:
            calls[ident] = {"size": size, "usage": usage, "model": message["model"], "time": entry["timestamp"]}
    return {ident: call for ident, call in calls.items() if call["model"] != "<synthetic>"}


def typed_prompts(folder: Path) -> list[str]:
    """The main chain's user lines whose text a person typed: not a tool result, a command's output,
    an interrupt marker, a task notification or a summary Claude Code wrote."""
    prompts = []
    for line in lines_of(folder):
        if line.get("type") != "user" or line.get("isSidechain") or line.get("isMeta") or line.get("isCompactSummary") or "toolUseResult" in line:
            continue
        content = line["message"]["content"]
        text = content if isinstance(content, str) else " ".join(b.get("text", "") for b in content if b.get("type") == "text")
        if text.strip() and not text.lstrip().startswith(("<", "[Request interrupted")) and not any(b.get("type") == "tool_result" for b in content if isinstance(b, dict)):
            prompts.append(text)
    return prompts


def test_a_claude_code_2_1_session_with_progress_lines_first_and_its_subagents():
    from genai_prices import Usage, calc_price

    first = (CLAUDE / "-home-USER-projects-spotter-worktrees-spotter-dov" / f"{SESSION}.jsonl").read_text().splitlines()[:4]
    assert [json.loads(line)["type"] for line in first] == ["file-history-snapshot", "file-history-snapshot", "progress", "progress"]
    calls = claude_calls(CLAUDE)
    assert calls.keys() == {ident.split(":")[0] for ident in claude_calls(CLAUDE, key="message+request")}  # no replay here: both keys agree
    doc = report(CLAUDE)
    assert doc["input"]["bad_lines"] == 0 and doc["input"]["skipped_unknown"] == 0 and doc["input"]["duplicates"] == 0
    totals = doc["tokens"]["totals"]
    assert totals["input"] == sum(c["usage"]["input_tokens"] + c["usage"]["cache_read_input_tokens"] + c["usage"]["cache_creation_input_tokens"] for c in calls.values())
    assert totals["output"] == sum(c["usage"]["output_tokens"] for c in calls.values())
    assert totals["cache_read"] == sum(c["usage"]["cache_read_input_tokens"] for c in calls.values())
    assert totals["cache_write"] == sum(c["usage"]["cache_creation_input_tokens"] for c in calls.values())
    assert (len(calls), totals["input"]) == (152, 12_947_261)
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["model call"]["count"] == len(calls)
    expected = 0.0
    for call in calls.values():
        u = call["usage"]
        price = calc_price(Usage(input_tokens=u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"],
                                 cache_read_tokens=u["cache_read_input_tokens"], cache_write_tokens=u["cache_creation_input_tokens"],
                                 cache_write_1h_tokens=u["cache_creation"]["ephemeral_1h_input_tokens"], output_tokens=u["output_tokens"]),
                           call["model"], provider_id="anthropic", genai_request_timestamp=datetime.fromisoformat(call["time"].replace("Z", "+00:00")))
        expected += float(price.total_price)
    assert doc["cost"]["total_usd"] == pytest.approx(expected, rel=1e-9)
    # two prompts typed; the compaction summary, the task notification and the subagents are no requests of their own
    assert doc["requests"]["count"] == len(typed_prompts(CLAUDE)) == 2
    checklist = llmobs("checklist", str(CLAUDE), "--no-cache", "-f", "json")
    assert checklist.returncode == 0, checklist.stdout
    assert {g["name"]: g["passed"] for g in json.loads(checklist.stdout)["gates"]} == {"unread_share": True}


def test_a_claude_code_session_that_is_not_read_never_passes(tmp_path: Path):
    folder = tmp_path / "projects"
    shutil.copytree(CLAUDE, folder)
    session = next(folder.rglob(f"{SESSION}.jsonl"))
    text = session.read_text()
    # a line of a type no reader knows, three times: counted, named, and the gate fails
    odd = json.dumps({"type": "brand-new-kind", "sessionId": SESSION, "uuid": "x", "timestamp": "2026-02-12T16:00:00Z"})
    session.write_text(text + (odd + "\n") * 3)
    doc = report(folder)
    assert doc["input"]["unknown_types"] == {"claude-code:brand-new-kind": 3} and doc["input"]["skipped_unknown"] == 3
    table = llmobs("report", str(folder), "--no-cache")
    assert "claude-code:brand-new-kind ×3; not read" in " ".join(table.stdout.split())
    markdown = llmobs("report", str(folder), "--no-cache", "-f", "markdown").stdout
    assert r"claude\-code:brand\-new\-kind ×3; not read" in markdown  # escaped as markdown text
    failed = llmobs("checklist", str(folder), "--no-cache", "-f", "json")
    assert failed.returncode == 1
    gate = next(g for g in json.loads(failed.stdout)["gates"] if g["name"] == "unread_share")
    assert gate["passed"] is False and gate["measured"] == pytest.approx(3 / (1661 + 3)) and "brand-new-kind ×3" in gate["scope"]
    assert llmobs("checklist", str(folder), "--no-cache", "--unread-share", "0.01").returncode == 0
    # a session log that is not recognised at all (here: an llmobs record put first) is an error naming it, never exit 0
    session.write_text('{"v": 1, "type": "eval", "name": "x"}\n' + text)
    for command in ("report", "checklist"):
        result = llmobs(command, str(folder), "--no-cache")
        assert result.returncode == 2, result.stdout
        assert f"{session}: " in result.stderr and "Claude Code session-log lines" in result.stderr and "nothing in it was counted" in result.stderr


# --- Codex CLI --------------------------------------------------------------------------------

OUTPUT_ITEMS = {"reasoning", "function_call", "custom_tool_call", "local_shell_call", "web_search_call"}


def is_output(line: dict) -> bool:
    p = line["payload"]
    if line["type"] == "response_item":
        return p.get("type") in OUTPUT_ITEMS or (p.get("type") == "message" and p.get("role") == "assistant")
    return line["type"] == "event_msg" and p.get("type") in ("agent_message", "agent_reasoning")


def is_count(line: dict) -> bool:
    return line["type"] == "event_msg" and line["payload"].get("type") == "token_count"


def codex_timings(path: Path) -> tuple[list[float], list[float]]:
    """Turn and model-call durations (ms) from one rollout's events, computed on their own terms:
    a turn from its user_message to its task_complete (else its last event before the next prompt's
    lead-in); a call from the last input before its run of output items to its token_count."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    prompts = [i for i, line in enumerate(lines) if line["type"] == "event_msg" and line["payload"].get("type") == "user_message"]
    turns = []
    for n, i in enumerate(prompts):
        part = lines[i : prompts[n + 1] if n + 1 < len(prompts) else len(lines)]
        done = [line for line in part if line["type"] == "event_msg" and line["payload"].get("type") == "task_complete"]
        if not done:
            while len(part) > 1 and (part[-1]["payload"].get("type") == "task_started" or part[-1]["payload"].get("role") in ("user", "developer")):
                part = part[:-1]
        turns.append(((moment(done[0]["timestamp"]) if done else max(moment(line["timestamp"]) for line in part)) - moment(lines[i]["timestamp"])) * 1000)
    calls, last_total = [], None
    for i, line in enumerate(lines):
        info = line["payload"].get("info") if is_count(line) else None
        if not isinstance(info, dict) or info.get("total_token_usage") == last_total:
            continue
        last_total = info.get("total_token_usage")
        j = i - 1
        while j >= 0 and not is_output(lines[j]):
            j -= 1
        while j >= 0 and (is_output(lines[j]) or is_count(lines[j])):
            j -= 1
        calls.append((moment(line["timestamp"]) - moment(lines[j]["timestamp"])) * 1000)
    return turns, calls


def test_codex_turn_and_model_call_latency_on_six_real_rollouts():
    turns, calls = [], []
    for path in sorted(CODEX.rglob("*.jsonl")):
        more_turns, more_calls = codex_timings(path)
        turns += more_turns
        calls += more_calls
    doc = report(CODEX)
    assert doc["requests"]["count"] == len(turns) == 53
    for q in ("p50", "p95"):
        assert doc["requests"]["latency_ms"][q] == pytest.approx(np.percentile(turns, int(q[1:])), rel=0.01)
    model = next(s for s in doc["steps"] if s["name"] == "model call")
    assert model["count"] == len(calls) == 485
    assert model["p50_ms"] == pytest.approx(np.percentile(calls, 50), rel=0.01) and model["p50_ms"] > 5000  # seconds, not the 16 ms of timing from the last output item
    assert model["p95_ms"] == pytest.approx(np.percentile(calls, 95), rel=0.01)
    # the tokens: each rollout's last cumulative total, summed
    finals = []
    for path in sorted(CODEX.rglob("*.jsonl")):
        counts = [json.loads(line)["payload"]["info"] for line in path.read_text().splitlines() if '"token_count"' in line]
        finals.append([info for info in counts if info][-1]["total_token_usage"])
    totals = doc["tokens"]["totals"]
    assert totals["input"] == sum(f["input_tokens"] for f in finals) and totals["output"] == sum(f["output_tokens"] for f in finals)
    assert totals["cache_read"] == sum(f["cached_input_tokens"] for f in finals) and totals["reasoning"] == sum(f["reasoning_output_tokens"] for f in finals)

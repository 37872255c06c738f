"""A Claude Code projects folder the size of a heavy user's, made up (no real content), for the
session-log benchmarks.

It holds what real folders hold, in their proportions: sessions of typed prompts, each followed by
model calls written as several lines (one per content block, each repeating the usage), hook and
bash progress lines, tool results carrying file contents and command output (most of the bytes),
file-history snapshots, and Task calls whose subagent writes its own file under
`<session>/subagents/agent-<id>.jsonl` and is echoed in the parent's `agent_progress` lines. File
sizes spread like a real folder's: most sessions are small, a few are large.

    python benchmarks/claude_code_folder.py OUT_DIR [--files 3500] [--seed 7] [--ccusage PATH]

With `--ccusage PATH` (a ccusage binary), it then times, in turn, `llmobs report --no-cache`,
`ccusage daily --json --offline`, and llmobs from a warm cache (of its own, in a temporary folder):
`report`, then `cost --by session` after it (best of 3 each), and prints both tools' token totals.

OUT_DIR gets `projects/<project>/<session>.jsonl`: point CLAUDE_CONFIG_DIR at OUT_DIR, or give
`OUT_DIR/projects` to `llmobs report`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-haiku-4-5-20251001")
TOOLS = ("Bash", "Read", "Edit", "Grep", "Glob", "Write")
WORDS = ["the", "test", "fails", "because", "the", "fixture", "is", "stale", "and", "the", "handler", "returns", "early", "when", "the", "cache", "is", "cold", "so", "the", "retry", "path", "never", "runs", "and", "we", "log", "the", "error", "twice", "before", "the", "request", "is", "dropped", "by", "the", "gateway"]


def _text(rng: random.Random, size: int) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)


class _Session:
    """Writes one session's lines: a clock, ids and the fields every line repeats."""

    def __init__(self, rng: random.Random, project_dir: str, start: datetime) -> None:
        self.rng = rng
        self.session_id = str(uuid.UUID(int=rng.getrandbits(128)))
        self.cwd = project_dir
        self.now = start
        self.parent: str | None = None
        self.lines: list[str] = []

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    def _stamp(self, seconds: float) -> str:
        self.now += timedelta(seconds=seconds)
        return self.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _line(self, kind: str, seconds: float, sidechain: bool = False, agent: str | None = None, **fields: object) -> dict:
        uid = self._uuid()
        entry = {"parentUuid": self.parent, "isSidechain": sidechain, "userType": "external", "cwd": self.cwd, "sessionId": self.session_id,
                 "version": "2.1.39", "gitBranch": "main", **({"agentId": agent} if agent else {}), "type": kind, **fields,
                 "uuid": uid, "timestamp": self._stamp(seconds)}
        self.parent = uid
        return entry

    def write(self, entry: dict) -> None:
        self.lines.append(json.dumps(entry, separators=(",", ":")))

    def prompt(self) -> None:
        self.write(self._line("user", self.rng.uniform(20, 300), message={"role": "user", "content": _text(self.rng, self.rng.randint(40, 600))}))

    def call(self, model: str, sidechain: bool = False, agent: str | None = None, tool: str | None = None) -> list[dict]:
        """One model call: a text block and, usually, a tool use, each a line repeating the usage,
        then the tool's result; returns the lines written."""
        rng = self.rng
        message_id = "msg_01" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789") for _ in range(22))
        cache_read = rng.randint(5_000, 120_000)
        cache_write = rng.choice((0, 0, rng.randint(200, 8_000)))
        usage = {"input_tokens": rng.randint(1, 40), "cache_creation_input_tokens": cache_write, "cache_read_input_tokens": cache_read,
                 "cache_creation": {"ephemeral_5m_input_tokens": cache_write, "ephemeral_1h_input_tokens": 0},
                 "output_tokens": rng.randint(20, 2_000), "service_tier": "standard"}
        request_id = "req_011C" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789") for _ in range(20))
        tool_name = tool or (rng.choice(TOOLS) if rng.random() < 0.85 else None)
        blocks: list[dict] = [{"type": "text", "text": _text(rng, rng.randint(30, 900))}]
        tool_id = None
        if tool_name:
            tool_id = "toolu_01" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789") for _ in range(22))
            blocks.append({"type": "tool_use", "id": tool_id, "name": tool_name, "input": {"command": _text(rng, rng.randint(10, 200))}})
        written = []
        for index, block in enumerate(blocks):
            snapshot = dict(usage, output_tokens=usage["output_tokens"] if index == len(blocks) - 1 else max(1, usage["output_tokens"] // 3))
            message = {"model": model, "id": message_id, "type": "message", "role": "assistant", "content": [block], "stop_reason": None,
                       "stop_sequence": None, "usage": snapshot}
            entry = self._line("assistant", rng.uniform(1, 12) if index == 0 else rng.uniform(0.05, 2), sidechain, agent, message=message,
                               requestId=request_id)
            self.write(entry)
            written.append(entry)
        if tool_id:
            for _ in range(rng.choice((0, 1, 2, 3))):
                self.write(self._line("progress", rng.uniform(0.05, 1), sidechain, agent,
                                      data={"type": "hook_progress", "hookEvent": "PostToolUse", "hookName": f"PostToolUse:{tool_name}",
                                            "command": "/home/dev/.claude/hooks/notify.sh"},
                                      parentToolUseID=tool_id, toolUseID=tool_id))
            output = _text(rng, int(min(rng.lognormvariate(7.7, 1.1), 200_000)))
            result = self._line("user", rng.uniform(0.2, 30), sidechain, agent,
                                message={"role": "user", "content": [{"tool_use_id": tool_id, "type": "tool_result", "content": output,
                                                                      "is_error": rng.random() < 0.04}]},
                                toolUseResult={"stdout": output, "stderr": "", "interrupted": False, "isImage": False})
            self.write(result)
            written.append(result)
        return written


def _session_files(rng: random.Random, project: Path, start: datetime) -> dict[Path, list[str]]:
    """One session's file and its subagents' files."""
    project_dir = "/home/dev/code/" + project.name.split("-")[-1]
    session = _Session(rng, project_dir, start)
    session.write({"type": "file-history-snapshot", "messageId": session._uuid(), "snapshot": {"trackedFileBackups": {}}, "isSnapshotUpdate": False})
    files: dict[Path, list[str]] = {}
    calls = max(1, int(rng.lognormvariate(3.3, 1.0)))
    model = rng.choice(MODELS)
    done = 0
    while done < calls:
        session.prompt()
        for _ in range(min(calls - done, rng.randint(1, 25))):
            done += 1
            if rng.random() < 0.03:
                _subagent(rng, session, files, project, model)
            else:
                session.call(model)
        if rng.random() < 0.3:
            session.write({"type": "file-history-snapshot", "messageId": session._uuid(),
                           "snapshot": {"trackedFileBackups": {"src/app.py": {"backupFileName": session._uuid(), "version": 2}}}, "isSnapshotUpdate": True})
    files[project / f"{session.session_id}.jsonl"] = session.lines
    return files


def _subagent(rng: random.Random, session: _Session, files: dict[Path, list[str]], project: Path, model: str) -> None:
    """A Task call whose subagent writes its own file, echoed in the parent's agent_progress lines."""
    agent = "".join(rng.choice("0123456789abcdef") for _ in range(8))
    sub = _Session(rng, session.cwd, session.now)
    sub.session_id = session.session_id
    sub.write(sub._line("user", 0.5, True, agent, message={"role": "user", "content": _text(rng, 200)}))
    for _ in range(rng.randint(2, 12)):
        for entry in sub.call("claude-haiku-4-5-20251001", sidechain=True, agent=agent):
            if entry["type"] == "assistant" and rng.random() < 0.5:
                inner = {key: entry[key] for key in ("type", "message", "uuid", "timestamp", "requestId")}
                session.write(session._line("progress", 0, data={"type": "agent_progress", "agentId": agent, "message": inner},
                                            parentToolUseID="toolu_task"))
    session.now = sub.now
    files[project / session.session_id / "subagents" / f"agent-{agent}.jsonl"] = sub.lines
    for entry in session.call(model, tool="Task"):
        if entry["type"] == "user":
            entry["toolUseResult"] = {"agentId": agent, "status": "completed", "content": [{"type": "text", "text": "done"}]}
            session.lines[-1] = json.dumps(entry, separators=(",", ":"))


def make_folder(out: Path, files: int, seed: int) -> Path:
    """Write the folder under `out` (once: a folder already made with the same size is kept)."""
    projects = out / "projects"
    marker = out / f".made-{files}-{seed}"
    if marker.exists():
        return projects
    rng = random.Random(seed)
    start = datetime(2026, 6, 1, tzinfo=timezone.utc)
    written = 0
    names = [f"-home-dev-code-{word}{index}" for index, word in enumerate(rng.sample(WORDS * 4, 60))]
    while written < files:
        project = projects / rng.choice(names)
        start += timedelta(minutes=rng.uniform(5, 180))
        for path, lines in _session_files(rng, project, start).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n")
            written += 1
    marker.write_text("")
    return projects


def _best_of(command: list[str], env: dict[str, str], runs: int = 3) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
        best = min(best, time.perf_counter() - start)
    return best, out


def compare(out: Path, projects: Path, ccusage: str) -> None:
    """Both tools on the same folder, in one run: wall time and token totals."""
    env = dict(os.environ, CLAUDE_CONFIG_DIR=str(out.resolve()))
    ours, report = _best_of([sys.executable, "-m", "llmobs", "report", str(projects), "--no-cache", "--format", "json"], env)
    theirs, daily = _best_of([ccusage, "daily", "--json", "--offline"], env)
    totals = json.loads(report)["tokens"]["totals"]
    their_totals = json.loads(daily)["totals"]
    print(f"llmobs report --no-cache      {ours:6.2f} s  input {totals['input']:,} (of it cache read {totals['cache_read']:,}, "
          f"cache write {totals['cache_write']:,})  output {totals['output']:,}")
    print(f"ccusage daily --json --offline {theirs:6.2f} s  input {their_totals['inputTokens']:,}  cache read {their_totals['cacheReadTokens']:,}  "
          f"cache write {their_totals['cacheCreationTokens']:,}  output {their_totals['outputTokens']:,}")
    print(f"ratio llmobs / ccusage: {ours / theirs:.2f}")
    with tempfile.TemporaryDirectory() as cache:
        warm_env = dict(env, LLMOBS_CACHE_DIR=cache)
        subprocess.run([sys.executable, "-m", "llmobs", "report", str(projects), "--format", "json"], env=warm_env, check=True, capture_output=True)
        warm, warm_report = _best_of([sys.executable, "-m", "llmobs", "report", str(projects), "--format", "json"], warm_env)
        by_session, _ = _best_of([sys.executable, "-m", "llmobs", "cost", "--by", "session", str(projects), "--format", "json"], warm_env)
    assert json.loads(warm_report)["tokens"] == json.loads(report)["tokens"], "the warm report's tokens differ from the cold one's"
    print(f"llmobs report, warm cache     {warm:6.2f} s  ratio to ccusage {warm / theirs:.2f}")
    print(f"llmobs cost --by session, warm {by_session:6.2f} s  ratio to ccusage {by_session / theirs:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=3500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ccusage", help="a ccusage binary to time against llmobs on the folder")
    args = parser.parse_args()
    projects = make_folder(args.out, args.files, args.seed)
    print(projects)
    if args.ccusage:
        compare(args.out, projects, args.ccusage)


if __name__ == "__main__":
    main()

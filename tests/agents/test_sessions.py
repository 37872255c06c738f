"""Claude Code and Codex CLI session logs read as requests, model calls and tool calls."""

from __future__ import annotations

import copy
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sessions import CLAUDE_CALLS, CODEX_CALLS, CWD, SESSION, claude_code_log, codex_log
from typer.testing import CliRunner

from llmobs.cli import app
from llmobs.read import load


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, list(args), env=env)


def report(*paths: Path, extra: tuple[str, ...] = ()) -> dict:
    result = run("report", *map(str, paths), "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_claude_code_turns_calls_and_tools(tmp_path: Path):
    log = claude_code_log(tmp_path / "projects" / "-home-dev-acme-shop" / f"{SESSION}.jsonl")
    data = load([str(log)])
    assert data.stats.bad_lines == 1 and data.stats.bad_line_samples[0].endswith(":14: not valid JSON")
    assert data.stats.unknown_types == {"claude-code:some-new-line-type": 1}
    doc = report(log)
    assert doc["requests"]["count"] == 2
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["model call"]["count"] == 4  # msg_A once (not 3 lines), msg_B once (not its sidechain replay), no <synthetic>
    assert steps["Bash"]["error_rate"] == 0 and steps["Read"]["error_rate"] == 1
    totals = doc["tokens"]["totals"]
    assert totals["input"] == sum(c[0] for c in CLAUDE_CALLS.values())  # Anthropic's input plus cache reads and writes
    assert totals["cache_read"] == sum(c[1] for c in CLAUDE_CALLS.values()) and totals["cache_write"] == 200
    assert totals["output"] == sum(c[4] for c in CLAUDE_CALLS.values())  # the final snapshot of msg_A, once
    assert steps["Bash"]["p50_ms"] == 5000.0  # tool_use at +4 s, its result at +9 s
    view = json.loads(run("trace", str(log), doc["slowest_requests"][0]["trace_id"], "--format", "json").stdout)
    assert [s["duration_ms"] for s in view["spans"] if s["name"] == "model call"] == [4000.0, 2000.0, 7000.0]  # the replay at +12.5 s does not stretch msg_B
    assert doc["requests"]["latency_ms"]["p50"] == pytest.approx((20_000 + 4_000) / 2)  # the turns: 0 → 20 s and 60 → 64 s


def test_claude_code_cost_prices_one_hour_cache_writes_as_such(tmp_path: Path):
    from genai_prices import Usage, calc_price

    log = claude_code_log(tmp_path / "s.jsonl")
    expected = 0.0
    for input_tokens, cache_read, cache_write, hour, output in CLAUDE_CALLS.values():
        price = calc_price(Usage(input_tokens=input_tokens, cache_read_tokens=cache_read, cache_write_tokens=cache_write, cache_write_1h_tokens=hour,
                                 output_tokens=output), "claude-sonnet-4-5-20250929", provider_id="anthropic",
                           genai_request_timestamp=datetime(2026, 11, 3, tzinfo=timezone.utc))
        expected += float(price.total_price)
    assert report(log)["cost"]["total_usd"] == pytest.approx(expected)


def test_codex_turns_calls_and_tools(tmp_path: Path):
    log = codex_log(tmp_path / "sessions" / "2026" / "11" / "03" / "rollout-2026-11-03T09-00-00-x.jsonl")
    data = load([str(log)])
    assert data.stats.unknown_types == {"codex:weird_new_type": 1} and data.stats.bad_lines == 0
    doc = report(log)
    assert doc["requests"]["count"] == 2
    steps = {s["name"]: s for s in doc["steps"]}
    assert steps["model call"]["count"] == 3  # a null info and a repeated total are no calls
    assert steps["shell"]["error_rate"] == 0 and steps["apply_patch"]["error_rate"] == 1 and steps["github.create_issue"]["error_rate"] == 1
    assert steps["github.create_issue"]["p50_ms"] == 1500.0
    totals = doc["tokens"]["totals"]
    assert (totals["input"], totals["cache_read"], totals["output"], totals["reasoning"]) == tuple(map(sum, zip(*CODEX_CALLS, strict=True)))
    from genai_prices import Usage, calc_price

    expected = sum(float(calc_price(Usage(input_tokens=i, cache_read_tokens=c, output_tokens=o), "gpt-5-codex", provider_id="openai",
                                    genai_request_timestamp=datetime(2026, 11, 3, tzinfo=timezone.utc)).total_price) for i, c, o, _ in CODEX_CALLS)
    assert doc["cost"]["total_usd"] == pytest.approx(expected) and doc["cost"]["unpriced_models"] == []


def test_a_session_copied_elsewhere_counts_once(tmp_path: Path):
    claude = claude_code_log(tmp_path / "a" / "s.jsonl")
    codex = codex_log(tmp_path / "a" / "r.jsonl")
    shutil.copy(claude, tmp_path / "archived-claude.jsonl")
    shutil.copy(codex, tmp_path / "archived-codex.jsonl")
    once = report(claude, codex)
    twice = report(claude, codex, tmp_path / "archived-claude.jsonl", tmp_path / "archived-codex.jsonl")
    assert twice["input"]["duplicates"] > 0
    for key in ("requests", "steps", "tokens", "cost", "errors"):
        assert twice[key] == once[key]


def test_default_locations_and_grouping_by_session_and_project(tmp_path: Path):
    claude_code_log(tmp_path / "claude" / "projects" / "-home-dev-acme-shop" / f"{SESSION}.jsonl")
    codex_log(tmp_path / "codex" / "sessions" / "2026" / "11" / "03" / "rollout-x.jsonl")
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "claude"), "CODEX_HOME": str(tmp_path / "codex"), "HOME": str(tmp_path / "home")}
    claude = run("report", "--source", "claude-code", "--format", "json", env=env)
    assert claude.exit_code == 0, claude.output
    assert json.loads(claude.stdout)["requests"]["count"] == 2
    both = run("slowest", "--source", "codex", str(tmp_path / "claude"), "--by", "project", "--format", "json", env=env)
    rows = {s["name"]: s for s in json.loads(both.stdout)["steps"] + json.loads(both.stdout)["few"]}
    assert set(rows) == {Path(CWD).name}
    sessions = run("slowest", "--source", "codex", "--by", "session", "--format", "json", env=env)
    assert {s["name"] for s in json.loads(sessions.stdout)["steps"]} == {"0199a7e2-3c4d-7e8f-9a0b-1c2d3e4f5a6b"}
    missing = run("report", "--source", "codex", env={"CODEX_HOME": str(tmp_path / "nowhere"), "HOME": str(tmp_path / "home")})
    assert missing.exit_code == 2 and "no codex session logs found" in missing.stderr


def test_cost_by_day_month_session_and_project(tmp_path: Path):
    claude = claude_code_log(tmp_path / "c.jsonl")
    codex = codex_log(tmp_path / "x.jsonl")
    whole = report(claude, codex)
    by_session = json.loads(run("cost", str(claude), str(codex), "--by", "session", "--format", "json").stdout)
    rows = {r["key"]: r for r in by_session["rows"]}
    assert set(rows) == {SESSION, "0199a7e2-3c4d-7e8f-9a0b-1c2d3e4f5a6b"}
    assert sum(r["cost_usd"] for r in rows.values()) == pytest.approx(whole["cost"]["total_usd"])
    assert rows[SESSION]["requests"] == 2 and rows[SESSION]["input_tokens"] == sum(c[0] for c in CLAUDE_CALLS.values())
    assert [r["cost_usd"] for r in by_session["rows"]] == sorted((r["cost_usd"] for r in rows.values()), reverse=True)  # costliest first
    by_project = json.loads(run("cost", str(claude), str(codex), "--by", "project", "--format", "json").stdout)
    assert [(r["key"], r["requests"]) for r in by_project["rows"]] == [(Path(CWD).name, 4)]
    by_day = json.loads(run("cost", str(claude), "--by", "day", "--format", "json").stdout)
    assert [r["key"] for r in by_day["rows"]] == ["2026-11-03"]
    table = run("cost", str(claude), str(codex), "--by", "session")
    assert table.exit_code == 0 and SESSION in table.stdout


def _mutations():
    from hypothesis import strategies as st

    odd = st.sampled_from([None, 0, -1, 1.5, True, "", "x", [], {}, [1], {"a": 1}, "2026-13-45T99:00:00Z"])
    return st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12), st.integers(0, 12), odd), max_size=8)


@pytest.mark.parametrize("writer", [claude_code_log, codex_log], ids=["claude-code", "codex"])
def test_any_odd_value_anywhere_is_never_a_crash(tmp_path_factory, writer):
    """Values of the wrong type at any key, at the top or one level down: bad lines or skips, never a traceback."""
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(_mutations())
    def check(mutations):
        folder = tmp_path_factory.mktemp("odd")
        lines = [json.loads(line) for line in writer(folder / "log.jsonl").read_text().splitlines() if line.startswith("{") and line.endswith("}")]
        for index, key_index, inner_index, shared in mutations:
            value = copy.deepcopy(shared)  # each place gets its own object
            entry = lines[index % len(lines)]
            key = sorted(entry)[key_index % len(entry)]
            inner = entry[key]
            if isinstance(inner, dict) and inner and inner_index % 2:
                inner[sorted(inner)[inner_index % len(inner)]] = value
            else:
                entry[key] = value
        path = folder / "mutated.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        data = load([str(path)])
        assert data.stats.lines == len(lines)
        result = run("report", str(path), "--format", "json")
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)

    check()

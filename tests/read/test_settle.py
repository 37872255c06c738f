"""Settled before any analysis: rollups counted once, duplicates counted once, every command agreeing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import root, span, usage, write_jsonl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmobs.analysis.report import build_report
from llmobs.cli import app
from llmobs.pricing import Pricer
from llmobs.read import load


def _report(*paths: Path):
    data = load([str(p) for p in paths])
    return build_report(data.columns, data.stats, Pricer())


def _nested(trace: str, agent_in: int, chain_in: int, chats: list[int]) -> list[dict]:
    """agent → chain → chat×n, each level reporting usage on its span (`scope: span`), OTel-style."""
    records = [root(trace, 100.0), span(trace, f"{trace}-agent", "agent", 90.0),
               span(trace, f"{trace}-chain", "chain", 80.0, parent="agent")]
    records[1]["parent_id"] = f"{trace}-root"
    records[2]["parent_id"] = f"{trace}-agent"
    records.append(usage(trace, "gpt-4o", agent_in, agent_in // 10, span_id=f"{trace}-agent", scope="span", cache_read_tokens=agent_in // 2))
    records.append(usage(trace, "gpt-4o", chain_in, chain_in // 10, span_id=f"{trace}-chain", scope="span", cache_read_tokens=chain_in // 2))
    for i, tokens in enumerate(chats):
        records.append(span(trace, f"{trace}-chat{i}", "chat", 30.0, parent="chain", kind="llm"))
        records[-1]["parent_id"] = f"{trace}-chain"
        records.append(usage(trace, "gpt-4o", tokens, tokens // 10, span_id=f"{trace}-chat{i}", scope="span", cache_read_tokens=tokens // 2))
    return records


@pytest.mark.parametrize(("agent_in", "chain_in", "expected_in"), [
    (300, 300, 300),   # pure rollups: every token counted once, at the chats
    (500, 340, 500),   # the chain has 40 of its own, the agent 160 more: excesses kept
    (100, 100, 300),   # parents reporting less than their children: they add nothing
])
def test_nested_rollups_count_each_token_once(tmp_path: Path, agent_in: int, chain_in: int, expected_in: int):
    path = write_jsonl(tmp_path / "nested.jsonl", _nested("t1", agent_in, chain_in, [100, 200]))
    report = _report(path)
    assert report.tokens.totals.input == expected_in
    assert report.tokens.input_per_request == expected_in
    assert report.tokens.totals.output == sum(max(0, x) for x in (agent_in // 10 - chain_in // 10, chain_in // 10 - 30)) + 30
    assert report.tokens.totals.cache_read == sum(max(0, x) for x in (agent_in // 2 - chain_in // 2, chain_in // 2 - 150)) + 150
    assert report.input.rollups == 2  # the agent and the chain: each counted only for its excess


def test_rollups_in_the_report_and_the_trace_view(tmp_path: Path):
    path = write_jsonl(tmp_path / "nested.jsonl", _nested("t1", 500, 340, [100, 200]))
    report = _report(path)
    assert report.input.rollups == 2 and report.tokens.totals.input == 500
    result = CliRunner().invoke(app, ["trace", str(path), "t1", "--format", "json"])
    assert result.exit_code == 0, result.output
    spans = {s["name"]: s for s in json.loads(result.stdout)["spans"]}
    assert (spans["agent"]["input_tokens"], spans["agent"]["rollup"]) == (160, True)
    assert (spans["chain"]["input_tokens"], spans["chain"]["rollup"]) == (40, True)
    assert (spans["chat"]["input_tokens"], spans["chat"]["rollup"]) in ((100, False), (200, False))


def test_call_usage_on_a_parent_is_its_own(tmp_path: Path):
    """A usage record of the logger (`scope: call`, the default) is one call, never a total."""
    records = [root("t", 10.0), usage("t", "gpt-4o", 120, 30, span_id="t-root"),
               span("t", "c", "llm", 5.0), usage("t", "gpt-4o", 500, 100, span_id="c")]
    report = _report(write_jsonl(tmp_path / "calls.jsonl", records))
    assert report.tokens.totals.input == 620 and report.input.rollups == 0


@st.composite
def logs(draw) -> list[dict]:
    records = []
    for t in range(draw(st.integers(1, 6))):
        trace = f"t{t}"
        records.append(root(trace, draw(st.floats(1, 1e4)), status=draw(st.sampled_from(["ok", "error"]))))
        for s in range(draw(st.integers(0, 4))):
            records.append(span(trace, f"{trace}-s{s}", draw(st.sampled_from(["search", "llm"])), draw(st.floats(0, 1e3)),
                                status=draw(st.sampled_from(["ok", "error"])), error="E"))
            if draw(st.booleans()):
                records.append(usage(trace, "gpt-4o", draw(st.integers(0, 1000)), draw(st.integers(0, 100)), span_id=f"{trace}-s{s}",
                                     scope=draw(st.sampled_from(["call", "span"]))))
        if draw(st.booleans()):
            records.append({"type": "eval", "trace_id": trace, "time": "2026-03-01T11:00:00Z", "name": "c", "passed": False, "score": None, "query": "q"})
    return records


def _comparable(report) -> dict:
    data = report.to_json_dict()
    data.pop("input")
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(logs(), st.randoms(use_true_random=False))
def test_a_log_read_twice_answers_exactly_as_once(tmp_path_factory, records, rng):
    folder = tmp_path_factory.mktemp("twice")
    once = write_jsonl(folder / "once.jsonl", records)
    shuffled = list(records)
    rng.shuffle(shuffled)
    again = write_jsonl(folder / "copy.jsonl", shuffled)  # a copy in another folder, an overlapping export
    single, double = _report(once), _report(once, again)
    assert _comparable(double) == _comparable(single)
    assert double.input.duplicates == len(records) and single.input.duplicates == 0


def test_every_command_agrees_on_a_log_read_twice(tmp_path: Path):
    records = [root("t1", 100.0), span("t1", "a", "search", 40.0), usage("t1", "gpt-4o", 100, 10, span_id="a"),
               root("t2", 300.0, status="error"), span("t2", "b", "search", 80.0, status="error", error="Timeout")]
    one = write_jsonl(tmp_path / "one.jsonl", records)
    copy = write_jsonl(tmp_path / "copy.jsonl", records)
    runner = CliRunner()
    for command in (["report"], ["slowest"], ["checklist"], ["metrics"]):
        single = runner.invoke(app, [*command, str(one), *(["--format", "json"] if command[0] != "metrics" else [])])
        double = runner.invoke(app, [*command, str(one), str(copy), *(["--format", "json"] if command[0] != "metrics" else [])])
        assert single.exit_code == double.exit_code
        if command == ["report"]:
            a, b = json.loads(single.stdout), json.loads(double.stdout)
            assert b["input"]["duplicates"] == len(records) and a.pop("input") and b.pop("input")
            assert a == b
        else:
            assert single.stdout == double.stdout
    trace = runner.invoke(app, ["trace", str(one), str(copy), "t1", "--format", "json"])
    assert [s["name"] for s in json.loads(trace.stdout)["spans"]] == ["request", "search"]

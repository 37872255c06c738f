from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import evaluation, root, span, usage, write_jsonl
from typer.testing import CliRunner

from llmobs.cli import app

runner = CliRunner()
SAMPLE = "sample_traces/agent_traces.jsonl"


def run(*args: str):
    return runner.invoke(app, list(args))


def test_report_json_on_sample_traces_matches_contract_and_numpy():
    import numpy as np

    result = run("report", SAMPLE, "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "llmobs.report/1"
    assert doc["input"]["lines"] == doc["input"]["records"] == 5110
    roots = [json.loads(line) for line in Path(SAMPLE).read_text().splitlines()]
    durations = [r["duration_ms"] for r in roots if r["type"] == "span" and r["parent_id"] is None]
    assert doc["requests"]["count"] == len(durations) == 600
    assert doc["requests"]["latency_ms"]["p95"] == pytest.approx(float(np.percentile(durations, 95)))
    assert doc["steps"][0]["name"] == "answer"
    assert [m["month"] for m in doc["cost"]["by_month"]] == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert doc["cost"]["unpriced_models"] == ["ollama/llama3.1:8b"]
    assert doc["tokens"]["missing_usage"] > 0


def test_report_table_shows_unanswered_instead_of_zero(tmp_path: Path):
    path = write_jsonl(tmp_path / "spans_only.jsonl", [root("t1", 100), span("t1", "a", "search", 40)])
    result = run("report", str(path))
    assert result.exit_code == 0
    out = result.stdout
    assert "Retry success rate: unanswered — no retried operations" in out
    assert "Tokens per request: unanswered — no usage records" in out
    assert "Wrong answers: unanswered — no eval records" in out
    assert "$0.00" not in out


def test_slowest_ranks_steps_and_requests(tmp_path: Path):
    records = [root(f"t{i}", 100 + i) for i in range(6)] + [span(f"t{i}", "a", "search", 10 * i) for i in range(6)] + [
        span(f"t{i}", "b", "rerank", 50) for i in range(6)
    ]
    path = write_jsonl(tmp_path / "s.jsonl", records)
    result = run("slowest", str(path), "--top", "2", "--format", "json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert [s["name"] for s in doc["steps"]] == ["rerank", "search"]  # rerank p95 50 > search p95 47.5
    assert doc["steps"][1]["p95_ms"] == pytest.approx(47.5)
    assert [r["trace_id"] for r in doc["requests"]] == ["t5", "t4"]
    csv_out = run("slowest", str(path), "--top", "1", "--format", "csv").stdout.splitlines()
    assert csv_out == ["step,count,p50_ms,p95_ms,p99_ms,total_ms,error_rate,share_of_request_time,self_p50_ms,self_p95_ms,self_total_ms,self_share,ranked",
                       f"rerank,6,50.0,50.0,50.0,300.0,0.0,{300 / 615!r},50.0,50.0,300.0,{300 / 765!r},True"]  # 300 of 765 ms of self time, exactly as the JSON
    requests_csv = run("slowest", str(path), "--top", "1", "--format", "csv", "--table", "requests").stdout.splitlines()
    assert requests_csv == ["trace_id,request_id,name,start,duration_ms,status", "t5,,request,2026-03-01T10:00:00.000000Z,105.0,ok"]


def test_checklist_questions_and_require_all(tmp_path: Path):
    full = run("checklist", SAMPLE)
    assert full.exit_code == 0 and full.stdout.count("[x]") == 7
    partial = write_jsonl(tmp_path / "p.jsonl", [root("t1", 100), span("t1", "a", "search", 40)])
    result = run("checklist", str(partial), "--format", "markdown")
    assert result.exit_code == 0  # no gate configured: unanswered questions are shown, not failed
    assert "- [ ] **retry success rate?** unanswered: no retried operations" in result.stdout
    assert "- [x] **p50 / p95 / p99 latency per request and per step?**" in result.stdout
    strict = run("checklist", str(partial), "--require-all")
    assert strict.exit_code == 1 and "unanswered: retry success rate?" in strict.stdout
    missing = run("checklist", str(tmp_path / "missing.jsonl"))
    assert missing.exit_code == 2 and "missing.jsonl: no such file or directory" in missing.stderr


def test_strict_makes_bad_lines_fatal(tmp_path: Path):
    path = write_jsonl(tmp_path / "b.jsonl", [root("t1", 100)], ["{oops"])
    relaxed = run("report", str(path), "--format", "json")
    assert relaxed.exit_code == 0
    assert json.loads(relaxed.stdout)["input"]["bad_lines"] == 1
    assert f"{path}:2: not valid JSON" in relaxed.stderr
    strict = run("report", str(path), "--strict")
    assert strict.exit_code == 2 and f"{path}:2: not valid JSON (--strict)" in strict.stderr


def test_untrusted_text_is_shown_literally_and_without_escapes(tmp_path: Path):
    evil_name = "[bold red]x[/]"
    evil_error = "Evil\x1b[2J\x1b]0;pwned\x07"
    records = [
        root("t1", 100, input="q\x1b[31m"),
        span("t1", "a", evil_name, 50, status="error", error=evil_error),
        evaluation("t1", False),
    ]
    path = write_jsonl(tmp_path / "evil.jsonl", records)
    for fmt in ("table", "markdown", "csv"):
        result = run("report", str(path), "--format", fmt)
        assert result.exit_code == 0
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
        assert ("\\\\x1b\\[2J" if fmt == "markdown" else "\\x1b[2J") in result.stdout
    table = run("report", str(path)).stdout
    assert evil_name in table
    slow = run("slowest", str(path)).stdout
    assert evil_name in slow


GZIP_OF_LINES = gzip.compress(b"".join(b'{"a": %d}\n' % i for i in range(100_000)))
OTLP_DOCUMENT = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "n"}] * 500}]}]}, indent=2)
GZIP_OF_DOCUMENT = gzip.compress(OTLP_DOCUMENT.encode())


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02binary\xff" * 100, b"{}\n[]\nnull\n", b'{"type":"span","duration_ms":-5}\n', b'{"type":"usage","input_tokens":1e400}\n',
     b'{"type":"span","trace_id":"t","span_id":"s","name":"n","start":"2026-01-01T00:00:00Z","duration_ms":1e308,"status":"ok"}\n',
     b"\x1f\x8bnot really gzip", GZIP_OF_LINES[:100] + b"\x00garbage" * 50 + GZIP_OF_LINES[500:], GZIP_OF_DOCUMENT[: len(GZIP_OF_DOCUMENT) // 2]],
    ids=["empty", "binary", "not-records", "negative", "huge-int", "huge-float", "gzip-header", "gzip-corrupt-data", "gzip-cut-document"],
)
def test_no_traceback_for_any_input(tmp_path: Path, content: bytes):
    path = tmp_path / "junk.jsonl"
    path.write_bytes(content)
    for command in (("report",), ("slowest",), ("checklist",), ("trace", "no-such-trace"), ("export", "--otlp", str(tmp_path / "out.json"))):
        result = run(command[0], str(path), *command[1:])
        # CliRunner keeps an uncaught exception in `result.exception` (it never reaches the output).
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        # a log with no valid record is unusable input (2); an empty one is no data: checklist fails (1)
        assert result.exit_code in {"checklist": (0, 1, 2), "trace": (2,)}.get(command[0], (0, 2)), result.output
        if result.exit_code == 2:
            assert result.stderr.count("llmobs: error: ") == 1
        assert "Traceback" not in result.output and "Aborted" not in result.output  # click turns a stray EOFError into "Aborted!"


def test_junk_directory_and_trace_not_found(tmp_path: Path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.json").write_bytes(b"\x89PNG\r\n")
    not_a_log = run("report", str(tmp_path / "junk"))
    assert not_a_log.exit_code == 2 and "a.json: 1 line, none a valid llmobs or OTLP record" in not_a_log.stderr
    result = run("trace", str(tmp_path / "junk"), "deadbeef")
    assert result.exit_code == 2 and "no trace with id or request.id 'deadbeef'" in result.stderr


def test_trace_by_request_id(tmp_path: Path):
    records = [root("t1", 100, **{"request.id": "req_1"}), span("t1", "a", "llm", 60), usage("t1", "gpt-4o", 1000, 100, provider="openai", span_id="a")]
    path = write_jsonl(tmp_path / "t.jsonl", records)
    result = run("trace", str(path), "req_1", "--format", "json")
    assert result.exit_code == 0
    view = json.loads(result.stdout)
    assert view["trace_id"] == "t1" and [s["name"] for s in view["spans"]] == ["request", "llm"]
    assert view["spans"][1]["input_tokens"] == 1000 and view["spans"][1]["depth"] == 1
    assert view["spans"][1]["cost_usd"] == pytest.approx(1000 * 2.5e-6 + 100 * 10e-6)


def test_price_overrides_from_pyproject(tmp_path: Path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.llmobs.prices."house-model"]\ninput_mtok = 1.0\noutput_mtok = 4.0\n')
    path = write_jsonl(tmp_path / "u.jsonl", [root("t1", 100), usage("t1", "house-model", 1_000_000, 500_000)])
    monkeypatch.chdir(tmp_path)
    doc = json.loads(run("report", str(path), "--format", "json").stdout)
    assert doc["cost"]["total_usd"] == pytest.approx(3.0) and doc["cost"]["unpriced_tokens"] == 0
    (tmp_path / "pyproject.toml").write_text('[tool.llmobs.prices."house-model"]\ninput = 1.0\n')
    bad = run("report", str(path))
    assert bad.exit_code == 2 and 'prices."house-model"]' in bad.stderr


def test_filters_on_the_command_line():
    doc = json.loads(run("report", SAMPLE, "--since", "2026-10", "--until", "2026-10", "--format", "json").stdout)
    assert doc["requests"]["count"] == 120
    assert [m["month"] for m in doc["cost"]["by_month"]] == ["2026-10"]
    doc = json.loads(run("report", SAMPLE, "--model", "gpt-4o", "--format", "json").stdout)
    records = [json.loads(line) for line in Path(SAMPLE).read_text().splitlines()]
    with_model = {r["trace_id"] for r in records if r.get("model") == "gpt-4o" or (r.get("attrs") or {}).get("gen_ai.request.model") == "gpt-4o"}
    assert doc["requests"]["count"] == len(with_model) > 200
    bad = run("report", SAMPLE, "--since", "last week")
    assert bad.exit_code == 2 and "is not a date" in bad.stderr


def test_schema_command_and_console_script():
    result = subprocess.run([sys.executable, "-m", "llmobs", "schema"], capture_output=True, text=True, check=True)
    schema = json.loads(result.stdout)
    assert schema["title"].startswith("llmobs record")
    assert {"Span", "Usage", "Eval"} <= set(schema["$defs"])


def test_every_command_has_help():
    for command in ("report", "slowest", "checklist", "diff", "trace", "export", "metrics", "schema"):
        result = run(command, "--help")
        assert result.exit_code == 0 and len(result.stdout) > 100


def _gate_log(tmp_path: Path, name: str, search_ms: float, requests: int = 60) -> Path:
    import random

    rng = random.Random(name)
    records = []
    for i in range(requests):
        search = rng.lognormvariate(0, 0.2) * search_ms
        records += [root(f"{name}{i}", search + 100), span(f"{name}{i}", "s", "search", search), span(f"{name}{i}", "l", "llm", 100.0)]
    return write_jsonl(tmp_path / f"{name}.jsonl", records)


def test_checklist_gates_from_pyproject_found_upward(tmp_path: Path, monkeypatch):
    log = _gate_log(tmp_path, "run", 50)
    (tmp_path / "pyproject.toml").write_text("[tool.llmobs.checklist]\np95_ms = 10000\n[tool.llmobs.checklist.steps.search]\np95_ms = 20\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    result = run("checklist", str(log))
    assert result.exit_code == 1
    assert "steps.search.p95_ms" in result.stdout and "FAIL" in result.stdout
    assert run("checklist", str(log), "--step", "search.p95_ms=500").exit_code == 0  # flags override


def test_checklist_llmobs_toml_and_explicit_config(tmp_path: Path, monkeypatch):
    log = _gate_log(tmp_path, "run", 50)
    (tmp_path / "llmobs.toml").write_text("[checklist]\nerror_rate = 0.0\np50_ms = 1\n")
    monkeypatch.chdir(tmp_path)
    result = run("checklist", str(log), "--format", "json")
    doc = json.loads(result.stdout)
    assert result.exit_code == 1 and doc["passed"] is False
    assert {g["name"]: g["passed"] for g in doc["gates"]} == {"p50_ms": False, "error_rate": True, "unread_share": True}
    other = tmp_path / "ci.toml"
    other.write_text("[checklist]\np50_ms = 100000\n")
    assert run("checklist", str(log), "--config", str(other)).exit_code == 0


def test_bad_config_is_exit_2_with_the_key_named(tmp_path: Path, monkeypatch):
    log = _gate_log(tmp_path, "run", 50)
    (tmp_path / "pyproject.toml").write_text("[tool.llmobs.checklist]\np95 = 800\n")
    monkeypatch.chdir(tmp_path)
    result = run("checklist", str(log))
    assert result.exit_code == 2 and "unknown key 'p95'" in result.stderr and "pyproject.toml" in result.stderr
    (tmp_path / "pyproject.toml").write_text("[tool.llmobs.checklist\n")
    assert "not valid TOML" in run("checklist", str(log)).stderr
    (tmp_path / "pyproject.toml").write_text("[tool.llmobs.checklists]\np95_ms = 1\n")
    result = run("checklist", str(log))
    assert result.exit_code == 2 and "unknown section [tool.llmobs.checklists] (did you mean 'checklist'?)" in result.stderr
    assert run("checklist", str(log), "--config", str(tmp_path / "nope.toml")).exit_code == 2
    assert run("checklist", str(log), "--step", "search=5").exit_code == 2


def test_markdown_output_and_github_step_summary(tmp_path: Path, monkeypatch):
    log = _gate_log(tmp_path, "run", 50)
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run("checklist", str(log), "--format", "markdown", "--p95-ms", "1")
    assert result.exit_code == 1
    assert result.stdout.startswith("## llmobs checklist: failed")
    assert "- [ ] `p95\\_ms` ≤ 1.0 ms: 174 ms (60 requests)" in result.stdout
    assert "- [ ] **retry success rate?** unanswered" in result.stdout
    written = summary.read_text()
    assert written.startswith("# earlier step\n## llmobs checklist: failed")


def test_junit_output_parses_with_testcases_and_failures(tmp_path: Path):
    import xml.etree.ElementTree as ET

    log = _gate_log(tmp_path, "run", 50)
    result = run("checklist", str(log), "--format", "junit", "--p95-ms", "1", "--error-rate", "0.5")
    assert result.exit_code == 1
    suite = ET.fromstring(result.stdout)
    cases = suite.findall("testcase")
    assert suite.get("tests") == str(len(cases)) == "10"  # 7 questions + 2 gates + every line read
    assert suite.get("failures") == "1" and suite.get("skipped") == "4"
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["p95_ms"]
    message = failed[0].find("failure").get("message")
    assert message == "p95_ms = 174 ms, above the ceiling 1.0 ms (60 requests)"
    skipped = {c.get("name") for c in cases if c.find("skipped") is not None}
    assert skipped == {"retry success rate?", "average tokens (and $) per request?", "cost per request, month by month?", "which queries got wrong answers?"}
    required = ET.fromstring(run("checklist", str(log), "--format", "junit", "--require-all").stdout)
    assert required.get("failures") == "4" and required.get("skipped") == "0"


def test_baseline_regression_fails_only_the_slowed_step(tmp_path: Path):
    base = _gate_log(tmp_path, "base", 50, requests=300)
    same = _gate_log(tmp_path, "same", 50, requests=300)
    slower = _gate_log(tmp_path, "slow", 70, requests=300)
    assert run("checklist", str(same), "--baseline", str(base)).exit_code == 0
    result = run("checklist", str(slower), "--baseline", str(base), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert {(r["name"], r["metric"]) for r in doc["comparison"]["regressions"]} >= {("search", "p50_ms")}
    assert {r["name"] for r in doc["comparison"]["regressions"]} <= {"search", "requests"}
    diff = run("diff", str(slower), "--baseline", str(base), "--format", "csv")
    assert diff.exit_code == 0
    rows = [line.split(",") for line in diff.stdout.splitlines()]
    search_p50 = next(r for r in rows if r[1] == "search" and r[2] == "p50_ms")
    assert search_p50[-1] == "True" and float(search_p50[5]) == pytest.approx(0.4, abs=0.1)


def test_a_trace_prefix_too_short_says_so():
    result = run("trace", "sample_traces/", "f3c95")
    assert result.exit_code == 2
    assert "a prefix of a trace id needs 8 characters or more (5 given)" in result.output


def test_cost_shows_the_top_rows_and_says_how_many_more():
    out = run("cost", "sample_traces/", "--by", "request.id", "-n", "3").stdout
    assert out.count("$0.0") >= 3 and "The costliest 3 of 600 are shown (--top)" in " ".join(out.split())
    markdown = run("cost", "sample_traces/", "--by", "request.id", "--top", "2", "-f", "markdown").stdout
    assert markdown.count("| req\\_") == 2 and "costliest 2 of 600" in markdown  # ids escaped as markdown text
    assert len(json.loads(run("cost", "sample_traces/", "--by", "request.id", "-n", "2", "-f", "json").stdout)["rows"]) == 600


def test_trace_and_diff_read_an_agents_own_logs_with_source(tmp_path: Path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "agents"))
    from sessions import SESSION, claude_code_log

    claude_code_log(tmp_path / "claude" / "projects" / "-home-dev-acme-shop" / f"{SESSION}.jsonl")
    env = {"CLAUDE_CONFIG_DIR": str(tmp_path / "claude"), "HOME": str(tmp_path / "home")}
    doc = json.loads(CliRunner().invoke(app, ["report", "--source", "claude-code", "-f", "json"], env=env).stdout)
    trace_id = doc["slowest_requests"][0]["trace_id"]
    view = CliRunner().invoke(app, ["trace", "--source", "claude-code", trace_id, "-f", "json"], env=env)
    assert view.exit_code == 0 and json.loads(view.stdout)["trace_id"] == trace_id
    diff = CliRunner().invoke(app, ["diff", "--source", "claude-code", "-b", str(tmp_path / "claude"), "-f", "json"], env=env)
    assert diff.exit_code == 0 and json.loads(diff.stdout)["regressions"] == []


def test_one_histogram_bin_is_one_bin(tmp_path: Path):
    log = write_jsonl(tmp_path / "one.jsonl", [root("t1", 100.0)])
    assert "1 bin of a sixteenth decade" in run("report", str(log)).stdout  # as fine as bins go, when none reach 12

"""The command line as a demanding user meets it: layouts at 80 and 120 columns and piped that never
split an id, a number or a name, every exit code, and options spelled alike in every command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer.main
from helpers import root, span, usage, write_jsonl
from typer.testing import CliRunner

from llmobs.cli import app
from llmobs.units import count, ms, pct

SAMPLE = "sample_traces/agent_traces.jsonl"
runner = CliRunner()
LONG_NAME = "lookup_customer_account_by_email_address_and_region"


def run(*args: str, columns: int | None = None, **kwargs):
    env = {"COLUMNS": str(columns)} if columns else {}
    return runner.invoke(app, list(args), env=env, **kwargs)


@pytest.fixture(scope="module")
def wide_log(tmp_path_factory) -> Path:
    """Requests whose ids, names and numbers are long enough to fight for room at 80 columns."""
    records = []
    for i in range(30):
        trace = f"{i:08x}" + "9f3c2a7be41d5c60" + f"{i:08x}"
        records += [root(trace, 123_456.789 + i, **{"request.id": f"customer-request-{i:06d}", "input": "where is my order " * 5}),
                    span(trace, "a", LONG_NAME, 98_765.4321 + i, status="error" if i % 7 == 0 else "ok", error="UpstreamTimeoutError"),
                    span(trace, "b", "rerank", 12.5 + i), usage(trace, "gpt-4o", 12_345_678, 987_654, span_id=f"{trace}-a")]
    return write_jsonl(tmp_path_factory.mktemp("wide") / "wide.jsonl", records)


def _check_layout(text: str, width: int) -> None:
    for line in text.splitlines():
        assert line == line.rstrip(), f"trailing spaces: {line!r}"
        assert len(line) <= width, f"wider than {width}: {line!r}"


COMMANDS = [("report",), ("slowest",), ("checklist", "--p95-ms", "1"), ("trace", "00000003")]


@pytest.mark.parametrize("columns", [80, 120, None], ids=["80-columns", "120-columns", "piped"])
@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_tables_fit_without_splitting_ids_numbers_or_names(wide_log: Path, columns: int | None, command: tuple[str, ...]):
    result = run(command[0], str(wide_log), *command[1:], columns=columns)
    assert result.exit_code in (0, 1), result.output
    text = result.stdout
    _check_layout(text, columns or 160)
    assert "│" not in text and "─" not in text  # piped: no box lines
    report = json.loads(run("report", str(wide_log), "--format", "json").stdout)
    if command[0] in ("report", "slowest"):
        for step in report["steps"]:
            assert ms(step["p95_ms"]) in text and count(step["count"]) in text and pct(step["error_rate"]) in text
            shown = LONG_NAME if step["name"] == LONG_NAME else step["name"]
            assert re.search(rf"^{re.escape(shown)}\b|^{re.escape(shown[:8])}\S*…", text, re.MULTILINE), f"{shown} split or missing"
    if command[0] == "slowest":
        slow = json.loads(run("slowest", str(wide_log), "--format", "json").stdout)
        for request in slow["requests"]:
            match = re.search(rf"^({re.escape(request['trace_id'][:12])}[0-9a-f]*)\s", text, re.MULTILINE)
            assert match, f"{request['trace_id']} split or missing"
            view = run("trace", str(wide_log), match.group(1), "--format", "json")  # a shortened id is accepted
            assert view.exit_code == 0 and json.loads(view.stdout)["trace_id"] == request["trace_id"]
    if command[0] == "report":
        assert ms(report["requests"]["latency_ms"]["p95"]) in text and "Read 1 file, 120 lines: 120 records" in text
    if command[0] == "checklist":
        assert "p95_ms 123.5 s ≤ 1.0 ms FAIL 30 requests" in re.sub(" +", " ", text)


def test_report_top_rows_and_how_many_more(tmp_path: Path):
    letters = [f"step_{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(30)]  # distinct names that carry no ids
    records = [root("t", 1000.0)] + [span("t", f"s{i}", letters[i], float(i)) for i in range(30)]
    path = write_jsonl(tmp_path / "many.jsonl", records)
    text = run("report", str(path), columns=120).stdout
    assert letters[29] in text and letters[10] in text and letters[9] not in text
    assert "the first 20 of 30 steps; --top N shows more, --format json all" in text
    assert letters[0] in run("report", str(path), "--top", "30", columns=120).stdout
    assert len(json.loads(run("report", str(path), "--format", "json").stdout)["steps"]) == 30
    markdown = run("report", str(path), "--format", "markdown", "--top", "5").stdout
    assert "The first 5 of 30 steps" in markdown


def test_every_exit_code(tmp_path: Path):
    log = write_jsonl(tmp_path / "log.jsonl", [root("t1", 100.0, start="2026-10-02T00:00:00Z"), span("t1", "a", "search", 40.0)])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    not_a_log = tmp_path / "data.csv"
    not_a_log.write_text("a,b\n1,2\n3,4\n")
    assert run("checklist", str(log)).exit_code == 0
    assert run("checklist", str(log), "--p95-ms", "10").exit_code == 1
    for no_data, reason in ((("checklist", str(empty)), "no data: the input holds no records (1 file, 0 lines)"),
                            (("checklist", str(log), "--since", "2030-01"), "no data: no request matches the filters (--since 2030-01-01T00:00:00Z)")):
        result = run(*no_data)
        assert result.exit_code == 1 and reason in result.stdout and "checklist failed" in result.stdout
        assert run(*no_data, "--allow-empty").exit_code == 0
        junit = run(*no_data, "--format", "junit")
        assert junit.exit_code == 1 and 'type="no-data"' in junit.stdout and 'failures="1"' in junit.stdout
        assert "**No data:**" in run(*no_data, "--format", "markdown").stdout
        assert run(*no_data, "--format", "csv").stdout.splitlines()[1].startswith("data,no_data,False,,,")
    filtered = run("report", str(log), "--since", "2030-01")
    assert filtered.exit_code == 0 and "unanswered — no request matches the filters (--since 2030-01-01T00:00:00Z)" in filtered.stdout
    for command in ("report", "slowest", "checklist", "metrics", "export"):
        result = run(command, str(not_a_log), *(["-o", str(tmp_path / "out")] if command == "export" else []))
        assert result.exit_code == 2 and "data.csv: 3 lines, none a valid llmobs or OTLP record (first: " in result.stderr
    inverted = run("report", str(log), "--since", "2026-10-01", "--until", "2026-09-01")
    assert inverted.exit_code == 2 and "--since 2026-10-01 is not before --until 2026-09-01" in inverted.stderr
    assert run("slowest", str(log), "--top", "0").exit_code == 2
    bad = write_jsonl(tmp_path / "bad.jsonl", [root("t1", 1.0)], ["{oops"])
    assert run("report", str(bad), "--strict").exit_code == 2 and run("report", str(bad)).exit_code == 0
    assert run("trace", str(bad), "t1", "--strict").exit_code == 0  # only lines mentioning the id are read
    assert run("--version").stdout.startswith("llmobs ") and run("report", "-h").exit_code == 0


def test_option_errors_speak_plainly(tmp_path: Path):
    for args, message in ((("slowest", SAMPLE, "--top", "abc"), "'abc' is not a whole number"),
                          (("slowest", SAMPLE, "--top", "0"), "must be 1 or more, got 0"),
                          (("checklist", SAMPLE, "--error-rate", "5"), "must be a fraction from 0 to 1 (0.05 = 5 %), got 5")):
        result = run(*args)
        assert result.exit_code == 2 and message in result.output
        assert "Input should" not in result.output
    help_text = run("checklist", "-h", columns=100).stdout
    assert "<" not in help_text and "list[" not in help_text and "PATH" in help_text
    overview = run("--help", columns=80).stdout
    assert "..." not in overview.split("Commands:")[1]  # one short line per command, never cut


def _options() -> dict[str, list[tuple[str, object]]]:
    group = typer.main.get_command(app)
    found: dict[str, list[tuple[str, object]]] = {}
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            if param.param_type_name == "option" and not param.hidden and param.name not in ("help",):
                found.setdefault(param.name, []).append((name, param))
    return found


# Options that differ on purpose: checklist's --format also offers junit; export writes OTLP to --output;
# cost's --by groups cost by a day, a month or a request attribute, not steps.
DIFFERENT_ON_PURPOSE = {("format", "checklist"), ("output", "export"), ("by", "cost"), ("no_cache", "watch")}  # watch also keeps where it got to


def test_every_option_is_spelled_helped_and_typed_alike_in_every_command():
    for name, uses in _options().items():
        shapes = {}
        for command, param in uses:
            if (name, command) in DIFFERENT_ON_PURPOSE:
                continue
            shapes[command] = (tuple(param.opts), tuple(param.secondary_opts), param.help, param.metavar, repr(param.type_descriptor.annotation))
        assert len(set(shapes.values())) <= 1, f"--{name} differs between commands: {shapes}"
    options = _options()
    analysis = {"report", "slowest", "checklist", "diff", "metrics", "export"}
    for shared in ("since", "until", "name", "model", "config", "strict", "output"):
        assert analysis <= {command for command, _ in options[shared]}, f"--{shared} missing somewhere"
    assert {command for command, _ in options["strict"]} >= {"trace"}


def test_export_takes_the_filters(tmp_path: Path):
    records = [root("a" * 32, 10.0, start="2026-09-10T00:00:00Z"), usage("a" * 32, "gpt-4o", 5, 1, time="2026-09-10T00:00:01Z"),
               root("b" * 32, 20.0, start="2026-10-10T00:00:00Z"), usage("b" * 32, "gpt-4o", 7, 2, time="2026-10-10T00:00:01Z")]
    for r in records:
        r["span_id"] = r.get("span_id") or None
    records[0]["span_id"], records[2]["span_id"] = "1" * 16, "2" * 16
    log = write_jsonl(tmp_path / "log.jsonl", records)
    out = tmp_path / "october.otlp.jsonl"
    result = run("export", str(log), "--since", "2026-10", "-o", str(out))
    assert result.exit_code == 0, result.output
    back = json.loads(run("report", str(out), "--format", "json").stdout)
    assert back["requests"]["count"] == 1 and back["tokens"]["totals"]["input"] == 7
    piped = run("export", "-", "--since", "2026-10", "-o", str(out), input=log.read_text())
    assert piped.exit_code == 2 and "cannot apply filters" in piped.stderr


def test_every_table_shows_its_first_rows_and_says_how_many_more(tmp_path: Path):
    kinds = [f"Error{chr(65 + i)}" for i in range(25)]
    records = [root("t", 100.0)] + [span("t", f"e{i}", "call", 1.0, status="error", error=kind) for i, kind in enumerate(kinds)]
    path = write_jsonl(tmp_path / "errors.jsonl", records)
    text = run("report", str(path), columns=120).stdout
    assert "the first 20 of 25 error types" in text
    assert len(json.loads(run("report", str(path), "--format", "json").stdout)["errors"]["top"]) == 25
    assert "The first 20 of 25 error types" in run("report", str(path), "--format", "markdown").stdout
    steps = [f"step_{chr(97 + i)}" for i in range(10)]  # 10 steps: 3 rows each, plus 3 for requests
    records = []
    for t in range(25):
        records += [root(f"t{t}", 100.0 + t)] + [span(f"t{t}", f"s{i}", name, 10.0 + t) for i, name in enumerate(steps)]
    log = write_jsonl(tmp_path / "steps.jsonl", records)
    diff = run("diff", str(log), "-b", str(log), columns=120)
    assert diff.exit_code == 0 and "13 more rows without a regression" in diff.stdout
    assert len(json.loads(run("diff", str(log), "-b", str(log), "--format", "json").stdout)["rows"]) == 33

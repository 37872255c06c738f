"""The compiled Claude Code converter against the Python one (`llmobs.agents.claude_code`): on
logs full of the traps real ones set, and of values of every type where a field is expected, the
records and every file's accounting are equal; and where it is not sure, the batch goes back to
Python and the answers are Python's."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from llmobs.agents import claude_code
from llmobs.read.load import load
from llmobs.read.session_logs import claude_code_columns, compiled_conversion
from llmobs.read.stats import InputStats
from tests.agents.sessions import claude_code_log

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "claude-code"

SESSIONS = ["s-1", "s-2", "", None]
UUIDS = ["u1", "u2", "u3", "u4", "u5", "", None]
MESSAGES = ["msg_1", "msg_2", "msg_3", "", None, 7]
TOOLS = ["toolu_1", "toolu_2", "toolu_3", ""]
AGENTS = ["a1", "a2", "", None, 0]
ANY_VALUE = st.sampled_from([None, True, False, 0, 1, 0.0, -0.0, 2.5, "", "x", [], [0], {}, {"k": 1}])


def _rarely(rare: st.SearchStrategy, usual: st.SearchStrategy, one_in: int) -> st.SearchStrategy:
    return st.sampled_from(range(one_in)).flatmap(lambda draw: rare if draw == one_in // 2 else usual)


def stamps() -> st.SearchStrategy:
    def written(seconds: int, digits: int, zone: str) -> str:
        moment = datetime.fromtimestamp(1_780_000_000 + seconds).strftime("%Y-%m-%dT%H:%M:%S")
        fraction = ("." + "123456"[:digits]) if digits else ""
        return moment + fraction + zone

    shaped = st.builds(written, st.integers(0, 3_600), st.integers(0, 6), st.sampled_from(["Z", "+00:00", "+02:00", "-05:30"]))
    unreadable = st.sampled_from([None, 17, "yesterday"])
    python_only = st.sampled_from(["2026-01-01T00:00:00", "2026-02-30T00:00:00Z", "2026-06-01 10:00:00Z"])  # Python judges these shapes
    return _rarely(python_only, _rarely(unreadable, shaped, 8), 300)


def usages() -> st.SearchStrategy:
    counts = st.one_of(st.integers(0, 5_000), st.sampled_from([None, -3, 2.0, True, "12"]))
    return st.one_of(
        st.fixed_dictionaries({}, optional={"input_tokens": counts, "output_tokens": counts, "cache_read_input_tokens": counts,
                                            "cache_creation_input_tokens": counts,
                                            "cache_creation": st.one_of(st.fixed_dictionaries({"ephemeral_1h_input_tokens": counts}), ANY_VALUE)}),
        ANY_VALUE)


def blocks() -> st.SearchStrategy:
    text = st.one_of(st.sampled_from(["fix it", "  ", "<system-reminder>x", "\x1c", "[Request interrupted by user]", "é" * 2100]), ANY_VALUE)
    block = st.one_of(
        st.fixed_dictionaries({"type": st.just("text"), "text": text}),
        st.fixed_dictionaries({"type": st.just("tool_use"), "id": st.one_of(st.sampled_from(TOOLS), ANY_VALUE),
                               "name": st.one_of(st.sampled_from(["Bash", "Task", ""]), st.sampled_from([None, 0, False]))}),
        st.fixed_dictionaries({"type": st.just("tool_result"), "tool_use_id": st.sampled_from(TOOLS), "is_error": ANY_VALUE}),
        st.fixed_dictionaries({"type": st.just("thinking"), "thinking": st.just("…")}),
        ANY_VALUE,
    )
    return st.one_of(st.lists(block, max_size=3), text)


def entries(depth: int = 0) -> st.SearchStrategy:
    message = st.one_of(
        st.fixed_dictionaries({}, optional={"id": st.sampled_from(MESSAGES), "model": st.sampled_from(["claude-sonnet-4-5", "<synthetic>", "", None, 5]),
                                            "usage": usages(), "content": blocks()}),
        ANY_VALUE)
    optional = {
        "sessionId": st.sampled_from(SESSIONS), "uuid": st.sampled_from(UUIDS), "timestamp": stamps(), "isSidechain": ANY_VALUE,
        "isMeta": ANY_VALUE, "isCompactSummary": ANY_VALUE, "isVisibleInTranscriptOnly": ANY_VALUE, "agentId": st.sampled_from(AGENTS),
        "cwd": st.one_of(st.sampled_from(["/home/dev/shop", "/home/dev/shop/", "/", "relative/./x/.", ""]), ANY_VALUE),
        "gitBranch": st.one_of(st.sampled_from(["main", ""]), ANY_VALUE), "requestId": st.sampled_from(["req_1", "req_2", "", None]),
        "costUSD": st.one_of(st.sampled_from([0.25, 0, -1, 1e-9]), ANY_VALUE), "message": message,
        "toolUseResult": st.one_of(st.fixed_dictionaries({"agentId": st.sampled_from(AGENTS)}), ANY_VALUE),
    }
    kinds = st.sampled_from(["user", "assistant", "assistant", "user", "summary", "system", "file-history-snapshot", "brand-new-type", 3, None])
    if depth == 0:
        inner = entries(1)
        optional["data"] = st.one_of(st.fixed_dictionaries({"type": st.sampled_from(["agent_progress", "hook_progress"]), "agentId": st.sampled_from(AGENTS),
                                                            "message": inner}), ANY_VALUE)
        kinds = st.one_of(kinds, st.just("progress"), st.just("progress"))
    return st.fixed_dictionaries({"type": kinds}, optional=optional)


def line_texts() -> st.SearchStrategy:
    def dumped(entry: dict, twice: bool) -> str:
        text = json.dumps(entry, ensure_ascii=False)
        if twice and text.startswith('{"type": '):  # a key written twice: the later one counts, as in json.loads
            text = '{"type": "system", ' + text[1:]
        return text

    written = st.builds(dumped, entries(), st.booleans())
    bad = st.sampled_from(["", "   ", "{not json", "[1, 2]", '"text"'])
    python_only = st.sampled_from(['{"type": "user", "n": NaN}', "\ufeff{}", '{"a": "\\ud800"}'])
    return _rarely(python_only, _rarely(bad, written, 10), 400)


def files() -> st.SearchStrategy:
    names = st.sampled_from(["p/s-1.jsonl", "p/s-2.jsonl", "p/s-1/subagents/agent-a1.jsonl", "p/s-1/subagents/agent-zz.jsonl", "q/s-1.jsonl"])
    file = st.tuples(names, st.lists(line_texts(), max_size=14), st.booleans())
    return st.lists(file, min_size=1, max_size=4).map(lambda found: [(name, ("\n".join(lines) + ("\n" if end else "")).encode()) for name, lines, end in found])


def _micros(stamp: str) -> int:
    return (datetime.fromisoformat(stamp.replace("Z", "+00:00")) - EPOCH) // timedelta(microseconds=1)


def _normalised(record: dict) -> dict:
    for key in ("start", "time"):
        if key in record:
            record[key] = _micros(record[key])
    return record


def compiled(found: list[tuple[str, bytes]]) -> tuple[list[dict], list[tuple]] | None:
    """The compiled converter's records and accounts, or None where it hands the batch to Python."""
    converted = compiled_conversion(found, 2)
    if converted is None:
        return None
    records, accounts = converted
    return [_normalised(json.loads(line)) for line in records.splitlines()], [(lines, bad, dict(skipped), copies) for lines, bad, skipped, copies in accounts]


def python(found: list[tuple[str, bytes]]) -> tuple[list[dict], list[tuple]]:
    candidates, accounts = claude_code.convert(found)
    return [_normalised(candidate) for candidate in candidates], [(a.lines, a.bad, a.skipped, a.copies) for a in accounts]


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files())
@example([("p/s-1.jsonl", b'{"type": "user", "sessionId": "s-1", "uuid": "u1", "timestamp": "2026-06-01T10:00:00Z", "message": {"content": "hi"}}\n'
                         b'{"type": "assistant", "sessionId": "s-1", "uuid": "u2", "timestamp": "2026-06-01T10:00:02.5+02:00", '
                         b'"message": {"id": "msg_1", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 3, "output_tokens": 9}, '
                         b'"content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash"}]}}\n')])
def test_the_compiled_converter_gives_the_python_converters_records_and_accounts(found):
    native_result = compiled(found)
    event("compiled" if native_result is not None else "handed back to Python")
    if native_result is None:
        return
    assert native_result == python(found)


def test_logs_as_claude_code_writes_them_are_converted_in_the_compiled_core(tmp_path: Path):
    found = [(str(path), path.read_bytes()) for path in sorted(CORPUS.rglob("*.jsonl"))]
    found.append((str(claude_code_log(tmp_path / "s.jsonl")), (tmp_path / "s.jsonl").read_bytes()))
    result = compiled(found)
    assert result is not None
    assert result == python(found)
    assert sum(record["type"] == "usage" for record in result[0]) > 50


def test_a_line_only_python_reads_hands_the_batch_back_and_the_answers_are_pythons(tmp_path: Path):
    log = claude_code_log(tmp_path / "s.jsonl")
    plain = load([str(log)])
    with log.open("a") as out:  # NaN: json.loads takes it, the compiled reader is not sure of it
        out.write('{"type": "system", "sessionId": "x", "level": NaN}\n')
    stats = InputStats()
    assert claude_code_columns([(str(log), log.read_bytes())], (), stats, 2) is None
    assert stats.lines == 0, "nothing is accounted when the batch is handed back"
    again = load([str(log)])
    assert again.stats.lines == plain.stats.lines + 1
    assert again.stats.bad_lines == plain.stats.bad_lines == 1  # the log's own `{not json` line
    assert len(again.columns.usage.trace) == len(plain.columns.usage.trace) == 4


def test_bad_lines_are_named_with_python_reasons_without_handing_the_batch_back(tmp_path: Path):
    log = claude_code_log(tmp_path / "s.jsonl")
    with log.open("a") as out:
        out.write('{"type": "assistant", "message": {"id": "torn\n[1, 2]\n')
    stats = InputStats()
    columns = claude_code_columns([(str(log), log.read_bytes())], (), stats, 2)
    assert columns is not None
    assert [(bad.line, bad.reason) for bad in stats.bad_samples] == [(14, "not valid JSON"), (17, "not valid JSON"), (18, "not a JSON object")]
    assert len(columns[0].usage.trace) == 4

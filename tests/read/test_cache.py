"""The cache answers exactly what reading the logs without it answers, whatever happens to the
files between runs (appends, torn last lines, truncation, rewrites, rotation, runs at once), and a
damaged cache is named and read around, never believed."""

from __future__ import annotations

import gzip
import json
import mmap
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import canonical, evaluation, llmobs, root, span, usage
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmobs.read import load
from llmobs.read.cache.segment import MAGIC
from llmobs.read.cache.store import RACY_NS, Cache

DAY = "2026-03-0{}T10:00:00Z"


def record_lines(trace: int, variant: int) -> list[str]:
    """The lines of one request: a root span, a step (erroring on some), usage and, for some, a
    failed eval with its query."""
    t = f"tr{trace}"
    records = [
        root(t, 100.0 + variant, start=DAY.format(1 + trace % 9), input=f"question {trace} é"),
        span(t, f"{t}-s", "search" if variant % 2 else "llm_call", 10.0 + variant, status="error" if variant % 3 == 0 else "ok",
             error="Timeout" if variant % 3 == 0 else None, model="gpt-4o"),
        usage(t, "gpt-4o", 100 + variant, None if variant % 4 == 0 else 20, provider="openai", cost=0.5 if variant % 5 == 0 else None),
    ]
    if variant % 2:
        records.append(evaluation(t, False, query=f"q{trace}"))
    if variant % 6 == 1:  # a step's call, and the root reporting its whole request's tokens (rolled up)
        records.append(usage(t, "gpt-4o", 40, 8, provider="openai", span_id=f"{t}-s"))
        records.append(usage(t, "gpt-4o", 300 + variant, 50, provider="openai", span_id=f"{t}-root", scope="span"))
    return [json.dumps(record) for record in records]


line_batches = st.lists(
    st.one_of(
        st.tuples(st.integers(0, 30), st.integers(0, 20)).map(lambda pair: record_lines(*pair)),
        st.sampled_from([["{not json"], ['{"type": "span"}'], ['{"type": "mystery", "v": 1}'], [""]]),
    ),
    min_size=0,
    max_size=4,
).map(lambda batches: [line for batch in batches for line in batch])

operations = st.one_of(
    st.tuples(st.just("append"), line_batches, st.booleans()),  # the bool: end on a torn (partial) line
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("rewrite"), line_batches),
    st.tuples(st.just("rotate"), line_batches),
    st.tuples(st.just("touch_back"), st.just(None)),  # an unchanged file whose mtime is old enough to be trusted
    st.tuples(st.just("together"), st.just(None)),  # two runs at once
)


def cached_load(paths: list[str], directory: Path, **options: object):  # type: ignore[no-untyped-def]
    cache = Cache(directory, min_bytes=0)
    data = load(paths, cache=cache, **options)  # type: ignore[arg-type]
    cache.wait()
    return data, cache


def age(path: Path, seconds: float = 10.0) -> None:
    """Set the file's mtime to `seconds` ago, as if it was last written then."""
    when = os.stat(path).st_mtime_ns - int(seconds * 1e9) - RACY_NS
    os.utime(path, ns=(when, when))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(first=line_batches, steps=st.lists(operations, min_size=1, max_size=6))
def test_cached_answers_equal_uncached_through_any_history(tmp_path_factory, first, steps):
    folder = tmp_path_factory.mktemp("history")
    log, directory = folder / "agent.jsonl", folder / "cache"
    log.write_text("".join(line + "\n" for line in first))
    for operation, argument, *rest in [(*step, None) for step in steps]:
        if operation == "append":
            with open(log, "a") as out:
                text = "".join(line + "\n" for line in argument)
                out.write(text[: len(text) // 2] if rest[0] and text else text)
        elif operation == "truncate":
            os.truncate(log, int(log.stat().st_size * argument))
        elif operation == "rewrite":
            with open(log, "w") as out:  # the same file (inode), new contents
                out.write("".join(line + "\n" for line in argument))
        elif operation == "rotate":
            log.rename(folder / "agent.jsonl.1")
            log.write_text("".join(line + "\n" for line in argument))
        elif operation == "touch_back":
            age(log)
        expected = canonical(load([str(log)]))
        if operation == "together":
            results: list[object] = [None, None]

            def run(slot: int, results: list[object] = results) -> None:
                results[slot] = canonical(cached_load([str(log)], directory)[0])

            threads = [threading.Thread(target=run, args=(slot,)) for slot in (0, 1)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert results == [expected, expected]
        data, cache = cached_load([str(log)], directory)
        assert canonical(data) == expected, operation
        assert cache.warnings == []


def write_log(path: Path, traces: range, *, torn: str = "") -> Path:
    path.write_text("".join(line + "\n" for trace in traces for line in record_lines(trace, trace % 20)) + torn)
    return path


def change_unseen(log: Path) -> None:
    """Change the middle of a log written by `write_log` (40 traces or more) keeping its size, mtime,
    head and tail: a change no cache key sees, so the cache answering shows."""
    state = log.stat()
    raw = bytearray(log.read_bytes())
    middle = raw.index(b'"question 20')
    raw[middle + 1 : middle + 9] = b"QUESTION"
    log.write_bytes(bytes(raw))
    os.utime(log, ns=(state.st_atime_ns, state.st_mtime_ns))


def test_an_unchanged_file_comes_from_the_cache_without_being_read(tmp_path):
    log = write_log(tmp_path / "a.jsonl", range(40))
    age(log)
    first, _ = cached_load([str(log)], tmp_path / "cache")
    # Same size, same mtime, same head and tail: the key says unchanged, so the file's middle is not read.
    change_unseen(log)
    again, _ = cached_load([str(log)], tmp_path / "cache")
    assert canonical(again) == canonical(first)
    assert canonical(load([str(log)])) != canonical(first)  # the cache really answered


def test_a_same_size_rewrite_within_the_mtime_resolution_is_caught_by_the_crc(tmp_path):
    log = write_log(tmp_path / "a.jsonl", range(40))  # written just now: its mtime proves nothing
    first, _ = cached_load([str(log)], tmp_path / "cache")
    again, _ = cached_load([str(log)], tmp_path / "cache")  # unchanged: the CRC says so, the cache answers
    assert canonical(again) == canonical(first)
    state = log.stat()
    raw = bytearray(log.read_bytes())
    middle = raw.index(b'"question 20')
    raw[middle + 1 : middle + 9] = b"QUESTION"
    log.write_bytes(bytes(raw))
    os.utime(log, ns=(state.st_atime_ns, state.st_mtime_ns))  # the same mtime, as a coarse clock would give
    changed, _ = cached_load([str(log)], tmp_path / "cache")
    assert canonical(changed) == canonical(load([str(log)])) != canonical(first)


def test_an_append_reads_only_the_new_bytes_and_never_rewrites_a_segment_in_place(tmp_path):
    log = write_log(tmp_path / "a.jsonl", range(30), torn='{"type": "span", "trace_')
    directory = tmp_path / "cache"
    cached_load([str(log)], directory)
    entry = next((directory / "files").iterdir())
    [old] = entry.glob("*.seg")
    before = old.read_bytes()
    with open(old, "rb") as handle:  # as a run reading it at the time would have it
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    cached_end = log.stat().st_size - len('{"type": "span", "trace_')
    with open(log, "a") as out:
        out.write('id": "x"}\n' + "".join(line + "\n" for line in record_lines(99, 3)))
    read: list[int] = []
    data, _ = cached_load([str(log)], directory, on_progress=read.append)
    assert canonical(data) == canonical(load([str(log)]))
    assert data.stats.bad_samples[-1].line == log.read_bytes()[:cached_end].count(b"\n") + 1  # the line the append completed, numbered in the whole file
    [new] = entry.glob("*.seg")
    assert new.name != old.name and mapped[:] == before  # a new file replaced it: the mapped one never changed
    assert json.loads((entry / "manifest.json").read_text())["end"] == log.stat().st_size
    assert read[0] == cached_end and sum(read) == log.stat().st_size  # the cached part, then only the rest was read
    again, _ = cached_load([str(log)], directory)
    assert canonical(again) == canonical(data)


def test_many_appends_leave_one_segment(tmp_path):
    log = write_log(tmp_path / "a.jsonl", range(1))
    directory = tmp_path / "cache"
    for trace in range(1, 6):
        with open(log, "a") as out:
            out.write("".join(line + "\n" for line in record_lines(trace, trace)))
        data, _ = cached_load([str(log)], directory)
        assert canonical(data) == canonical(load([str(log)]))
    assert len(list(next((directory / "files").iterdir()).glob("*.seg"))) == 1


@pytest.mark.parametrize("damage", ["flip_data", "cut", "foreign", "manifest", "manifest_types"])
def test_a_damaged_cache_file_is_named_ignored_and_rebuilt(tmp_path, damage):
    log = write_log(tmp_path / "a.jsonl", range(25))
    age(log)
    directory = tmp_path / "cache"
    expected = canonical(cached_load([str(log)], directory)[0])
    entry = next((directory / "files").iterdir())
    segment = next(entry.glob("*.seg"))
    raw = bytearray(segment.read_bytes())
    if damage == "flip_data":
        raw[-3] ^= 0x40
        segment.write_bytes(bytes(raw))
    elif damage == "cut":
        segment.write_bytes(bytes(raw[: len(raw) // 2]))
    elif damage == "foreign":
        segment.write_bytes(b"PAR1" + bytes(raw[4:]))
    elif damage == "manifest":
        (entry / "manifest.json").write_text('{"version": ')
    else:  # JSON that parses, with the right keys, but not the right types
        manifest = json.loads((entry / "manifest.json").read_text())
        (entry / "manifest.json").write_text(json.dumps({**manifest, "end": "all of it"}))
    data, cache = cached_load([str(log)], directory)
    assert canonical(data) == expected
    damaged = entry / "manifest.json" if damage.startswith("manifest") else segment
    assert len(cache.warnings) == 1 and str(damaged) in cache.warnings[0] and "damaged" in cache.warnings[0]
    again, cache = cached_load([str(log)], directory)
    assert canonical(again) == expected and cache.warnings == []
    assert not (not damage.startswith("manifest") and segment.exists())  # rebuilt: the damaged file is gone


def test_a_segment_is_refused_when_any_byte_of_it_changes(tmp_path):
    from llmobs.read.cache.segment import DamagedSegment, read_segment

    log = write_log(tmp_path / "a.jsonl", range(5))
    cached_load([str(log)], tmp_path / "cache")
    segment = next((tmp_path / "cache" / "files").glob("*/*.seg"))
    raw = segment.read_bytes()
    assert raw.startswith(MAGIC)
    for position in range(0, len(raw), max(1, len(raw) // 97)):
        damaged = bytearray(raw)
        damaged[position] ^= 0x01
        segment.write_bytes(bytes(damaged))
        with pytest.raises(DamagedSegment):
            read_segment(str(segment), ())


def test_gzip_files_are_kept_whole_and_read_again_when_they_change(tmp_path):
    log = tmp_path / "a.jsonl.gz"
    with gzip.open(log, "wt") as out:
        out.write("".join(line + "\n" for trace in range(20) for line in record_lines(trace, trace)))
    directory = tmp_path / "cache"
    assert canonical(cached_load([str(log)], directory)[0]) == canonical(load([str(log)]))
    age(log)
    assert canonical(cached_load([str(log)], directory)[0]) == canonical(load([str(log)]))
    with gzip.open(log, "at") as out:  # a second member
        out.write("".join(line + "\n" for line in record_lines(50, 1)))
    data, _ = cached_load([str(log)], directory)
    assert canonical(data) == canonical(load([str(log)])) and data.stats.spans == 21 * 2


def test_one_entry_serves_every_group_attribute_asked_for(tmp_path):
    log = write_log(tmp_path / "a.jsonl", range(40))
    age(log)
    directory = tmp_path / "cache"
    plain, _ = cached_load([str(log)], directory)
    grouped, _ = cached_load([str(log)], directory, group_attrs=("model",))  # read again, holding `model` from now on
    assert canonical(grouped) == canonical(load([str(log)], group_attrs=("model",)))
    assert list(grouped.columns.spans.group) == ["model"] and plain.columns.spans.group == {}
    entries = list((directory / "files").iterdir())
    assert len(entries) == 1 and json.loads((entries[0] / "manifest.json").read_text())["group_attrs"] == ["model"]
    # every later run, grouped or not, is answered by that one entry: change the file's middle
    # without its key seeing it, and the answers stay those of the file as it was kept
    change_unseen(log)
    assert canonical(cached_load([str(log)], directory)[0]) == canonical(plain)
    assert canonical(cached_load([str(log)], directory, group_attrs=("model",))[0]) == canonical(grouped)


def test_an_entry_holds_the_last_group_attributes_asked_for(tmp_path):
    log = write_log(tmp_path / "a.jsonl", range(10))
    directory = tmp_path / "cache"
    names = [f"attr{k}" for k in range(10)]
    for name in names:
        data, _ = cached_load([str(log)], directory, group_attrs=(name,))
        assert canonical(data) == canonical(load([str(log)], group_attrs=(name,)))
    entry = next((directory / "files").iterdir())
    assert json.loads((entry / "manifest.json").read_text())["group_attrs"] == names[-8:]


def test_strict_reads_that_stop_at_a_bad_line_are_not_kept(tmp_path):
    from llmobs.errors import InputError

    log = tmp_path / "a.jsonl.gz"
    with gzip.open(log, "wt") as out:
        out.write("{broken\n" + "".join(line + "\n" for line in record_lines(1, 1)))
    with pytest.raises(InputError, match=r"a.jsonl.gz:1: "):
        cached_load([str(log)], tmp_path / "cache", strict=True)
    assert not (tmp_path / "cache" / "files").exists() or not list((tmp_path / "cache" / "files").glob("*/*.seg"))


def test_an_unwritable_cache_is_a_warning_and_the_answer_is_read_from_the_log(tmp_path):
    log = write_log(tmp_path / "a.jsonl", range(5))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    data, cache = cached_load([str(log)], blocker)
    assert canonical(data) == canonical(load([str(log)]))
    assert len(cache.warnings) == 1 and "cannot write the cache" in cache.warnings[0]


def test_memory_mapped_columns_are_read_only(tmp_path):
    log = write_log(tmp_path / "a.jsonl", range(5))
    age(log)
    cached_load([str(log)], tmp_path / "cache")
    data, _ = cached_load([str(log)], tmp_path / "cache")
    assert isinstance(data.columns.spans.duration_ms.base, (memoryview, bytes, np.ndarray)) or data.columns.spans.duration_ms.base is not None
    with pytest.raises(ValueError, match="read-only"):
        data.columns.spans.duration_ms[0] = 1.0


def test_cli_runs_at_once_share_the_cache_and_agree(tmp_path):
    log = write_log(tmp_path / "big.jsonl", range(9000))  # above the default size worth caching
    assert log.stat().st_size > 1 << 20
    env = {"LLMOBS_CACHE_DIR": str(tmp_path / "cache")}
    expected = llmobs("report", str(log), "-f", "json", "--no-cache", env=env)
    assert expected.returncode == 0, expected.stderr
    assert not (tmp_path / "cache").exists()  # --no-cache neither reads nor fills it
    runs = [subprocess.Popen([sys.executable, "-m", "llmobs", "report", str(log), "-f", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env={**os.environ, **env}) for _ in range(3)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert all(out == expected.stdout and err == "" for out, err in outputs)
    with open(log, "a") as out:
        out.write("".join(line + "\n" for line in record_lines(90001, 1)))
    grown = llmobs("report", str(log), "-f", "json", env=env)
    assert grown.stdout == llmobs("report", str(log), "-f", "json", "--no-cache", env=env).stdout
    assert json.loads(grown.stdout)["input"]["records"] == json.loads(expected.stdout)["input"]["records"] + len(record_lines(90001, 1))

    info = json.loads(llmobs("cache", "info", "-f", "json", env=env).stdout)
    assert info["directory"] == str(tmp_path / "cache")
    [entry] = info["entries"]
    assert entry["log"] == str(log.resolve()) and entry["state"] == "current" and entry["records"] == json.loads(grown.stdout)["input"]["records"]
    assert entry["bytes_covered"] == log.stat().st_size and entry["segments"] == 1
    table = llmobs("cache", "info", env=env).stdout
    assert f"current  {log.resolve()}: " in table and "in 1 entry)" in table
    with open(log, "a") as out:
        out.write("\n")
    assert json.loads(llmobs("cache", "info", "-f", "json", env=env).stdout)["entries"][0]["state"] == "grown"

    segment = next((tmp_path / "cache").glob("files/*/*.seg"))
    segment.write_bytes(segment.read_bytes()[:-10])
    damaged = llmobs("report", str(log), "-f", "json", env=env)
    assert damaged.stdout == llmobs("report", str(log), "-f", "json", "--no-cache", env=env).stdout
    assert f"llmobs: warning: cache file {segment} is damaged" in damaged.stderr

    cleared = llmobs("cache", "clear", env=env)
    assert cleared.returncode == 0 and cleared.stdout.startswith("llmobs: removed ") and str(tmp_path / "cache") in cleared.stdout
    assert json.loads(llmobs("cache", "info", "-f", "json", env=env).stdout)["entries"] == []


def test_several_files_read_in_one_run_are_each_kept_whole(tmp_path):
    logs = [write_log(tmp_path / f"{day}.jsonl", range(day * 1000, day * 1000 + 300)) for day in range(4)]
    directory = tmp_path / "cache"
    for _ in range(3):
        data, cache = cached_load([str(log) for log in logs], directory)
        assert canonical(data) == canonical(load([str(log) for log in logs])) and cache.warnings == []
    for log in logs:
        alone, _ = cached_load([str(log)], directory)
        assert canonical(alone) == canonical(load([str(log)]))


def test_documents_and_session_logs_are_kept_whole(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agents"))
    from sessions import claude_code_log, codex_log

    empty = tmp_path / "empty.json"
    empty.write_text('{\n  "resourceSpans": []\n}\n')  # an OTLP/JSON document with no span at all
    otlp = tmp_path / "otlp.json"
    otlp.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat gpt-4o",
        "startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": "1767225601500000000",
        "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}}]}]}]}]}, indent=2))
    paths = [str(empty), str(otlp), str(claude_code_log(tmp_path / "claude.jsonl")), str(codex_log(tmp_path / "codex.jsonl"))]
    for path in paths:
        age(Path(path))
    expected = canonical(load(paths))
    directory = tmp_path / "cache"
    for _ in range(2):
        data, cache = cached_load(paths, directory)
        assert canonical(data) == expected and cache.warnings == []
    # the documents are kept one by one; each agent's session logs, converted together, in one entry
    assert len(list((directory / "files").glob("*/*.seg"))) == 4


def test_a_session_log_folder_is_one_entry_read_again_when_any_file_changes(tmp_path):
    import shutil

    corpus = Path(__file__).resolve().parents[1] / "corpus" / "claude-code"
    folder = tmp_path / "projects"
    shutil.copytree(corpus, folder)
    for path in folder.rglob("*.jsonl"):
        age(path)
    directory = tmp_path / "cache"
    plain, _ = cached_load([str(folder)], directory)
    assert canonical(plain) == canonical(load([str(folder)]))
    [entry] = list((directory / "files").iterdir())
    manifest = json.loads((entry / "manifest.json").read_text())
    assert manifest["kind"] == "batch" and manifest["group_attrs"] == ["session", "project"] and len(manifest["files"]) == 3
    # --by session after a plain run: answered by the entry, which is not written again
    segments = sorted(path.name for path in entry.glob("*.seg"))
    by_session, _ = cached_load([str(folder)], directory, group_attrs=("session",))
    assert canonical(by_session) == canonical(load([str(folder)], group_attrs=("session",)))
    assert sorted(path.name for path in entry.glob("*.seg")) == segments
    # one file changed (a bad line appended to a subagent's log): the batch is read again, its bad line named
    subagent = next(folder.rglob("agent-a2898e3.jsonl"))
    with open(subagent, "a") as out:
        out.write("{not json\n")
    changed, _ = cached_load([str(folder)], directory)
    assert canonical(changed) == canonical(load([str(folder)])) and changed.stats.bad_lines == plain.stats.bad_lines + 1
    assert sorted(path.name for path in entry.glob("*.seg")) != segments
    # named as this run names it, from the cache too
    again, _ = cached_load([os.path.relpath(folder)], directory)
    assert canonical(again) == canonical(load([os.path.relpath(folder)])) and any(bad.source.startswith(os.path.relpath(folder)) for bad in again.stats.bad_samples)
    subagent.unlink()  # one file fewer: another batch
    assert canonical(cached_load([str(folder)], directory)[0]) == canonical(load([str(folder)]))


def test_small_files_are_kept_in_batches_each_read_again_alone(tmp_path):
    (tmp_path / "logs").mkdir()
    logs = [write_log(tmp_path / "logs" / f"{day:03}.jsonl", range(day * 10, day * 10 + 3)) for day in range(120)]
    for log in logs:
        age(log)
    directory = tmp_path / "cache"
    folder = str(tmp_path / "logs")
    cache = Cache(directory)  # the default size worth caching alone: every file here is smaller
    first = load([folder], cache=cache)
    cache.wait()
    assert canonical(first) == canonical(load([folder]))
    entries = {entry.name: sorted(p.name for p in entry.glob("*.seg")) for entry in (directory / "files").iterdir()}
    assert 1 < len(entries) < len(logs)
    with open(logs[50], "a") as out:
        out.write("".join(line + "\n" for line in record_lines(9999, 3)))
    cache = Cache(directory)
    second = load([folder], cache=cache)
    cache.wait()
    assert canonical(second) == canonical(load([folder]))
    after = {entry.name: sorted(p.name for p in entry.glob("*.seg")) for entry in (directory / "files").iterdir()}
    assert after.keys() == entries.keys() and sum(after[name] != entries[name] for name in entries) == 1


def test_cache_clear_unusable_keeps_what_runs_can_use(tmp_path):
    logs = [write_log(tmp_path / f"{name}.jsonl", range(8000)) for name in ("kept", "grown", "gone", "rewritten")]
    env = {"LLMOBS_CACHE_DIR": str(tmp_path / "cache")}
    for log in logs:
        assert llmobs("report", str(log), "-f", "json", env=env).returncode == 0
    with open(logs[1], "a") as out:
        out.write("".join(line + "\n" for line in record_lines(1, 1)))
    logs[2].unlink()
    write_log(logs[3], range(100, 8100))  # rewritten in place: a different head
    states = {Path(entry["log"]).name: entry["state"] for entry in json.loads(llmobs("cache", "info", "-f", "json", env=env).stdout)["entries"]}
    assert states == {"kept.jsonl": "current", "grown.jsonl": "grown", "gone.jsonl": "gone", "rewritten.jsonl": "changed"}
    cleared = llmobs("cache", "clear", "--unusable", env=env)
    assert cleared.returncode == 0 and cleared.stdout.startswith("llmobs: removed 2 unusable entries (")
    left = {Path(entry["log"]).name for entry in json.loads(llmobs("cache", "info", "-f", "json", env=env).stdout)["entries"]}
    assert left == {"kept.jsonl", "grown.jsonl"}


def test_the_cache_keeps_within_its_size_limit_least_recently_used_first(tmp_path):
    logs = [write_log(tmp_path / f"{name}.jsonl", range(8000)) for name in ("a", "b", "c", "gone")]
    env = {"LLMOBS_CACHE_DIR": str(tmp_path / "cache")}
    for log in logs:
        assert llmobs("report", str(log), "-f", "json", env=env).returncode == 0
    entries = {Path(e["log"]).name: e["disk_bytes"] for e in json.loads(llmobs("cache", "info", "-f", "json", env=env).stdout)["entries"]}
    assert set(entries) == {"a.jsonl", "b.jsonl", "c.jsonl", "gone.jsonl"}
    logs[3].unlink()
    assert llmobs("report", str(logs[0]), "-f", "json", env=env).returncode == 0  # only reads: nothing is removed
    assert len(json.loads(llmobs("cache", "info", "-f", "json", env=env).stdout)["entries"]) == 4
    # a run that writes keeps the cache within the limit: the entry of the vanished log goes, then b (used least recently), not a (just used)
    limit = entries["a.jsonl"] + entries["c.jsonl"] + entries["c.jsonl"] // 2
    with open(logs[2], "a") as out:
        out.write("".join(line + "\n" for line in record_lines(9000, 1)))
    run = llmobs("report", str(logs[2]), "-f", "json", env={**env, "LLMOBS_CACHE_MAX_SIZE": str(limit)})
    assert run.returncode == 0 and run.stderr == ""
    left = {Path(e["log"]).name for e in json.loads(llmobs("cache", "info", "-f", "json", env=env).stdout)["entries"]}
    assert left == {"a.jsonl", "c.jsonl"}
    bad = llmobs("report", str(logs[1]), "-f", "json", env={**env, "LLMOBS_CACHE_MAX_SIZE": "lots"})
    assert bad.returncode == 0 and "LLMOBS_CACHE_MAX_SIZE='lots' is not a size" in bad.stderr

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import root, span, usage, write_jsonl

from llmobs.errors import InputError, LlmobsError
from llmobs.read import InputStats, load
from llmobs.read.judge import UnknownType, decode_line
from llmobs.records import RECORD_ADAPTER

GOOD_SPAN = {"type": "span", "trace_id": "t", "span_id": "s", "parent_id": None, "name": "n",
             "start": "2026-01-01T00:00:00Z", "duration_ms": 1.5, "status": "ok"}

VALID = [
    GOOD_SPAN,
    {**GOOD_SPAN, "v": 1, "extra_field": {"ignored": True}},
    {**GOOD_SPAN, "start": "2026-01-01T01:00:00+01:00"},
    {**GOOD_SPAN, "status": "error", "error": {"type": "E"}},
    {**GOOD_SPAN, "attempt": 2, "retry_of": "s0"},
    {**GOOD_SPAN, "attrs": {"a": 1, "b": [1, "x", None], "c": 1.5, "d": True}},
    {**GOOD_SPAN, "v": 2},
    {"type": "usage", "trace_id": "t", "time": "2026-01-01T00:00:00Z", "model": "m", "input_tokens": None, "output_tokens": 3},
    {"type": "usage", "trace_id": "t", "time": "2026-01-01T00:00:00Z", "model": "m", "input_tokens": 5, "output_tokens": 3, "cost_usd": 0},
    {"type": "eval", "trace_id": "t", "time": "2026-01-01T00:00:00Z", "name": "correctness", "passed": False},
]
INVALID = [
    ({**GOOD_SPAN, "duration_ms": -1}, "duration_ms"),
    ({**GOOD_SPAN, "duration_ms": "12"}, "duration_ms"),
    ({**GOOD_SPAN, "status": "failed"}, "status"),
    ({**GOOD_SPAN, "start": "2026-01-01T00:00:00"}, "timezone"),
    ({**GOOD_SPAN, "start": "yesterday"}, "start"),
    ({**GOOD_SPAN, "name": ""}, "name"),
    ({**GOOD_SPAN, "attempt": 2}, "retry_of is required"),
    ({**GOOD_SPAN, "attempt": 0}, "attempt"),
    ({**GOOD_SPAN, "trace_id": 7}, "trace_id"),
    ({k: v for k, v in GOOD_SPAN.items() if k != "span_id"}, "span_id"),
    ({**GOOD_SPAN, "attrs": {"nested": {"x": 1}}}, "attrs"),
    ({"type": "usage", "trace_id": "t", "time": "2026-01-01T00:00:00Z", "model": "m", "input_tokens": -5}, "input_tokens"),
    ({"type": "usage", "trace_id": "t", "time": "2026-01-01T00:00:00Z", "model": "m", "input_tokens": 10**30}, "input_tokens"),
    ({"type": "usage", "trace_id": "t", "time": "2026-01-01T00:00:00Z", "model": "m", "output_tokens": 1.5}, "output_tokens"),
    ({"type": "eval", "trace_id": "t", "time": "2026-01-01T00:00:00Z", "name": "x", "passed": "yes"}, "passed"),
    ({"trace_id": "t"}, "missing field 'type'"),
    ({"type": 5}, "must be a string"),
]


@pytest.mark.parametrize("record", VALID)
def test_valid_lines_decode(record):
    result = decode_line(json.dumps(record).encode())
    assert not isinstance(result, (str, UnknownType))


@pytest.mark.parametrize(("record", "reason"), INVALID)
def test_invalid_lines_are_explained(record, reason):
    result = decode_line(json.dumps(record).encode())
    assert isinstance(result, str) and reason in result


@pytest.mark.parametrize("line", [b"not json", b"[1,2]", b'"text"', b"", b"{", b"\xff\xfe"])
def test_non_records_are_bad_lines(line):
    assert isinstance(decode_line(line), str)


def test_unknown_type_is_skipped_not_bad():
    result = decode_line(b'{"type": "metric", "value": 3}')
    assert isinstance(result, UnknownType) and result.type == "metric"


def test_bad_lines_counted_with_file_and_line(tmp_path: Path):
    path = write_jsonl(tmp_path / "mixed.jsonl", [root("t1", 10)], ["garbage", '{"type":"metric"}', json.dumps({**GOOD_SPAN, "duration_ms": -1})])
    data = load([str(path)])
    assert (data.stats.lines, data.stats.records, data.stats.bad_lines, data.stats.skipped_unknown) == (4, 1, 2, 1)
    assert data.stats.bad_line_samples[0] == f"{path}:2: not valid JSON"
    assert data.stats.bad_line_samples[1].startswith(f"{path}:4: invalid span record: duration_ms:")
    with pytest.raises(InputError, match=r"mixed.jsonl:2: not valid JSON \(--strict\)"):
        load([str(path)], strict=True)


def test_a_broken_first_line_does_not_make_a_log_one_document(tmp_path: Path):
    path = tmp_path / "broken.jsonl"  # starts like a pretty-printed document, but its next lines are records
    path.write_text("{\n  " + json.dumps(root("t1", 10)) + "\n" + json.dumps(GOOD_SPAN) + "\n")
    data = load([str(path)])
    assert (data.stats.lines, data.stats.records, data.stats.bad_lines) == (3, 2, 1)
    assert data.stats.bad_line_samples == [f"{path}:1: not valid JSON"]


def test_torn_last_line(tmp_path: Path):
    path = tmp_path / "torn.jsonl"
    path.write_bytes(json.dumps(root("t1", 10)).encode() + b"\n" + b'{"type":"span","trace')
    data = load([str(path)])
    assert data.stats.bad_lines == 1 and "torn last line" in data.stats.bad_line_samples[0]
    whole = tmp_path / "whole.jsonl"
    whole.write_bytes(json.dumps(root("t1", 10)).encode())  # no newline, but parses
    assert load([str(whole)]).stats.records == 1


def test_gzip_directories_globs_and_stdin(tmp_path: Path, monkeypatch):
    (tmp_path / "logs" / "deep").mkdir(parents=True)
    write_jsonl(tmp_path / "logs" / "a.jsonl", [root("a", 1)])
    with gzip.open(tmp_path / "logs" / "deep" / "b.jsonl.gz", "wt") as handle:
        handle.write(json.dumps(root("b", 2)) + "\n")
    (tmp_path / "logs" / "notes.txt").write_text("not a log")
    data = load([str(tmp_path / "logs")])
    assert data.stats.files == 2 and data.stats.records == 2 and data.stats.ignored_files == [str(tmp_path / "logs" / "notes.txt")]
    assert load([str(tmp_path / "logs" / "**" / "*.gz")]).stats.records == 1
    # gzip is detected by content, whatever the name
    (tmp_path / "renamed.jsonl").write_bytes(gzip.compress(json.dumps(root("c", 3)).encode() + b"\n"))
    assert load([str(tmp_path / "renamed.jsonl")]).stats.records == 1

    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((json.dumps(root("d", 4)) + "\n").encode())))
    assert load(["-"]).stats.records == 1


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path):
    body = "".join(json.dumps(root(f"t{i}", i)) + "\n" for i in range(2000)).encode()
    packed = gzip.compress(body)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(packed[: len(packed) // 2])
    data = load([str(path)])
    assert 0 < data.stats.records < 2000
    assert data.stats.bad_lines == 2  # the torn fragment at the break, and the break itself
    assert "torn last line" in data.stats.bad_line_samples[0] and "stream broken" in data.stats.bad_line_samples[1]


def test_corrupt_gzip_keeps_what_was_read(tmp_path: Path):
    """Corrupt compressed data part way (the inflater's own error, not an OSError) ends the file
    like a truncation: what was inflated before it is kept, the break is a counted bad line."""
    first = gzip.compress("".join(json.dumps(root(f"a{i}", i)) + "\n" for i in range(5_000)).encode())
    second = gzip.compress("".join(json.dumps(root(f"b{i}", i)) + "\n" for i in range(5_000)).encode())
    path = tmp_path / "corrupt.jsonl.gz"
    path.write_bytes(first + second[:100] + b"\x00garbage" * 50 + second[500:])
    data = load([str(path)], threads=1)
    assert data.stats.records >= 5_000  # the whole first member, whatever the second's damage
    assert "stream broken" in data.stats.bad_line_samples[-1] and "rest of file unreadable" in data.stats.bad_line_samples[-1]


def test_missing_inputs_are_errors(tmp_path: Path):
    with pytest.raises(InputError, match="no such file"):
        load([str(tmp_path / "nope.jsonl")])
    with pytest.raises(InputError, match="no file matches"):
        load([str(tmp_path / "*.jsonl")])


def test_columns_hold_the_record_values(tmp_path: Path):
    path = write_jsonl(tmp_path / "u.jsonl", [
        root("t", 5, start="2026-01-02T03:04:05.5Z"),
        span("t", "ab" * 8, "llm", 3, status="error", error="Boom", start="2026-01-02T03:04:05+01:00"),
        span("t", "cd" * 8, "llm", 4, attempt=2, retry_of="ab" * 8),
        usage("t", "m", 10, None, time="2026-01-02T03:04:06Z", provider="p", cache_read_tokens=4),
    ])
    columns = load([str(path)]).columns
    spans, used = columns.spans, columns.usage
    order = np.argsort(spans.duration_ms)  # rows come in no promised order: the native decoder's first, then the models'
    for name in ("is_root", "start_us", "duration_ms", "attempt", "error_type", "retry_of"):
        setattr(spans, name, getattr(spans, name)[order[[2, 0, 1]]])  # durations 5, 3, 4: the lines' order
    assert spans.is_root.tolist() == [True, False, False]
    assert spans.start_us[0] == 1767323045_500000 and spans.start_us[1] == 1767323045_000000 - 3600_000000
    assert spans.duration_ms.tolist() == [5, 3, 4] and spans.attempt.tolist() == [1, 1, 2]
    assert [columns.error_types.lookup(c) for c in spans.error_type] == [None, "Boom", None]
    assert spans.retry_of[2] == int("ab" * 8, 16) - (1 << 64) and spans.retry_of[0] == 0
    assert used.input_tokens.tolist() == [10] and used.output_tokens.tolist() == [-1] and used.cache_read_tokens.tolist() == [4]
    assert columns.providers.lookup(used.provider[0]) == "p" and columns.models.lookup(used.model[0]) == "m"
    assert columns.trace_ids.values == ["t"]


def test_model_schema_round_trips_what_it_accepts():
    for record in VALID:
        parsed = RECORD_ADAPTER.validate_json(json.dumps(record))
        again = RECORD_ADAPTER.validate_json(parsed.model_dump_json())
        assert again == parsed


def test_byte_ranges_on_threads_give_the_same_data_and_line_numbers(tmp_path: Path, monkeypatch):
    from llmobs.read import plan

    records = [root(f"t{i}", i) for i in range(3000)]
    lines = [json.dumps(r) for r in records]
    lines[100] = "broken one"
    lines[2900] = "broken two"
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ranges = plan.line_ranges(str(path), 2)
    assert len(ranges) == 2 and ranges[0][0] == 0 and ranges[0][1] == ranges[1][0] and ranges[1][1] == path.stat().st_size
    assert path.read_bytes()[ranges[1][0] - 1 : ranges[1][0]] == b"\n"

    monkeypatch.setattr(plan, "PARALLEL_MIN_BYTES", 0)
    split = load([str(path)], threads=2)
    whole = load([str(path)], threads=1)
    assert split.stats.bad_line_samples == whole.stats.bad_line_samples == [f"{path}:101: not valid JSON", f"{path}:2901: not valid JSON"]
    assert (split.stats.lines, split.stats.records) == (whole.stats.lines, whole.stats.records) == (3000, 2998)
    assert split.columns.spans.duration_ms.tolist() == whole.columns.spans.duration_ms.tolist() == [float(i) for i in range(3000) if i not in (100, 2900)]
    assert split.columns.trace_ids.values == whole.columns.trace_ids.values
    with pytest.raises(InputError, match=r"big.jsonl:101: not valid JSON \(--strict\)"):
        load([str(path)], threads=2, strict=True)


def test_many_files_read_on_threads_as_on_one(tmp_path: Path, monkeypatch):
    from llmobs.read import plan
    from llmobs.read.sources import expand

    for n in range(5):
        lines = [json.dumps(root(f"f{n}t{i}", i + n)) for i in range(200 * (n + 1))]
        lines[7] = "not json"
        body = ("\n".join(lines) + "\n").encode()
        if n % 2:
            (tmp_path / f"part{n}.jsonl.gz").write_bytes(gzip.compress(body))
        else:
            (tmp_path / f"part{n}.jsonl").write_bytes(body)
    (tmp_path / "part5.jsonl").write_bytes(b"")
    steps = plan.plan(expand([str(tmp_path)])[0], 2)
    kinds = [[Path(task.path).name for task in step.tasks] if isinstance(step, plan.FileBatch) else Path(step.name).name for step in steps]
    assert kinds == [["part0.jsonl"], "part1.jsonl.gz", ["part2.jsonl"], "part3.jsonl.gz", ["part4.jsonl", "part5.jsonl"]]

    monkeypatch.setattr(plan, "PARALLEL_MIN_BYTES", 0)
    split = load([str(tmp_path)], threads=2)
    whole = load([str(tmp_path)], threads=1)
    assert split.stats.bad_line_samples == whole.stats.bad_line_samples
    assert [s.split(":")[-2] for s in split.stats.bad_line_samples] == ["8"] * 5
    assert split.stats.records == whole.stats.records == 200 * 15 - 5
    assert split.columns.trace_ids.values == whole.columns.trace_ids.values
    assert split.columns.spans.duration_ms.tolist() == whole.columns.spans.duration_ms.tolist()


def test_directory_without_logs_says_what_it_skipped(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match=r"no log files among the inputs: 1 file\(s\) in the directories \(e\.g\. .*notes\.txt\)"):
        load([str(tmp_path)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no input files"):
        load([str(tmp_path / "empty")])


def test_a_file_gone_before_it_is_read_is_named(tmp_path: Path):
    from llmobs.read.decode import FileTask, decode_files

    with pytest.raises(InputError, match=r"gone\.jsonl: cannot open: No such file"):
        decode_files([FileTask(str(tmp_path / "gone.jsonl"), 0, 10)], (), 2, InputStats())


def test_progress_counts_file_bytes_compressed_or_not(tmp_path: Path):
    """The progress bar's total is the files' sizes, so what the reader reports must add up to
    them: for gzip, compressed bytes, not the larger decompressed text."""
    body = "".join(json.dumps(root(f"t{i}", i)) + "\n" for i in range(40_000)).encode()
    (tmp_path / "plain.jsonl").write_bytes(body)
    (tmp_path / "packed.jsonl.gz").write_bytes(gzip.compress(body))
    for name in ("plain.jsonl", "packed.jsonl.gz"):
        reported: list[int] = []
        data = load([str(tmp_path / name)], on_progress=reported.append, threads=2)
        assert data.stats.records == 40_000
        assert sum(reported) == (tmp_path / name).stat().st_size
        assert len(reported) > 2, "reported block by block, not once at the end"


@pytest.mark.parametrize("damage", ["none", "cut", "corrupt"])
def test_a_damaged_gzip_stream_keeps_every_line_before_the_damage(tmp_path: Path, damage: str):
    lines = [json.dumps(root(f"t{i}", i)) for i in range(5_000)]
    for broken in (0, 99, 100, 2_345, 4_998):
        lines[broken] = f"broken {broken}"
    packed = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "big.jsonl.gz"
    cut = len(packed) * 2 // 3
    path.write_bytes({"none": packed, "cut": packed[:cut], "corrupt": packed[:cut] + b"\x00garbage" * 50 + packed[cut + 400 :]}[damage])
    data = load([str(path)])
    if damage == "cut":
        assert "stream broken" in data.stats.bad_line_samples[-1]
        assert data.stats.records + data.stats.bad_lines == data.stats.lines + 1  # + the break
    elif damage == "corrupt":  # the damage inflates into lines of garbage, then the stream breaks
        assert data.stats.records > 3_000 and data.stats.bad_lines > 5
    else:
        assert data.stats.bad_line_samples[:3] == [f"{path}:1: not valid JSON", f"{path}:100: not valid JSON", f"{path}:101: not valid JSON"]
        assert data.stats.records == 4_995
        assert data.columns.spans.duration_ms.tolist() == [float(i) for i in range(5_000) if i not in (0, 99, 100, 2_345, 4_998)]


def _log_with_bad_lines(path: Path, count: int, bad: tuple[int, ...]) -> None:
    lines = [json.dumps(root(f"t{i}", i)) for i in range(count)]
    for index in bad:
        lines[index] = "not json"
    body = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(body) if path.suffix == ".gz" else body)


@pytest.mark.parametrize(
    ("name", "bad", "threads"),
    [("one.jsonl", (40,), 1), ("halves.jsonl", (40, 39_000), 2), ("halves.jsonl", (39_000, 39_500), 2), ("packed.jsonl.gz", (30_000, 5_000), 2)],
    ids=["one-thread", "bad-lines-in-both-halves", "bad-lines-in-the-second-half", "gzip"],
)
def test_strict_reports_the_first_bad_line(tmp_path: Path, monkeypatch, name: str, bad: tuple[int, ...], threads: int):
    """--strict reports the input's first bad line, with its line number, and reads no source
    after the one holding it."""
    from llmobs.read import plan

    path = tmp_path / name
    _log_with_bad_lines(path, 40_000, bad)
    later = tmp_path / "later.jsonl.gz"
    _log_with_bad_lines(later, 10, ())
    monkeypatch.setattr(plan, "PARALLEL_MIN_BYTES", 0)
    first = min(bad) + 1
    with pytest.raises(InputError, match=rf"{name}:{first}: not valid JSON \(--strict\)"):
        load([str(path), str(later)], strict=True, threads=threads)


def test_strict_stops_reading_a_stream_at_its_first_bad_line(tmp_path: Path, monkeypatch):
    from llmobs.read import decode
    from llmobs.read.decode import decode_stream
    from llmobs.read.sources import Source, open_binary

    monkeypatch.setattr(decode, "CHUNK_BYTES", 1 << 20)
    path = tmp_path / "packed.jsonl.gz"
    _log_with_bad_lines(path, 100_000, (1_000, 90_000))
    stats = InputStats()
    stream, close = open_binary(Source(str(path)))
    try:
        decode_stream(str(path), stream, (), stats, strict=True)
    finally:
        close()
    assert str(stats.first_bad) == f"{path}:1001: not valid JSON"
    assert stats.bad_lines == 1 and stats.lines < 50_000, "stopped after the chunk holding the first bad line"


def test_readers_follow_the_cpus_this_process_may_use(tmp_path: Path):
    import subprocess
    import sys

    from llmobs.read.plan import usable_cpus

    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert usable_cpus(str(v2)) == min(2, len(__import__("os").sched_getaffinity(0)))  # 1.5 CPUs: 2 readers at most
    (v2 / "cpu.max").write_text("50000 100000\n")
    assert usable_cpus(str(v2)) == 1
    (v2 / "cpu.max").write_text("max 100000\n")
    assert usable_cpus(str(v2)) == len(__import__("os").sched_getaffinity(0))
    v1 = tmp_path / "v1" / "cpu"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert usable_cpus(str(tmp_path / "v1")) == 1
    pinned = subprocess.run([sys.executable, "-c", "import os; os.sched_setaffinity(0, {0}); from llmobs.read.plan import usable_cpus; print(usable_cpus())"],
                            capture_output=True, text=True, check=True)
    assert pinned.stdout.strip() == "1"  # taskset -c 0: one reader, not one per host CPU


def test_a_failure_inside_the_native_decoder_is_named_not_a_traceback(tmp_path: Path, monkeypatch):
    """The decoder refuses nothing itself; should it ever fail (a bug: a caught panic, an error),
    the run stops with a message naming the input rather than a wrong answer or a traceback."""
    from llmobs.read import decode

    class FailingDecoder:
        def __init__(self, group_attrs: list[str]) -> None:
            pass

        def feed(self, data: bytes, chunks: list[tuple[int, int]], threads: int) -> tuple[list[int], list]:
            raise RuntimeError("the native decoder failed on chunk 0: index out of bounds")

    path = tmp_path / "packed.jsonl.gz"
    _log_with_bad_lines(path, 10, ())
    monkeypatch.setattr(decode.native, "StreamDecoder", FailingDecoder)
    with pytest.raises(LlmobsError, match=r"packed\.jsonl\.gz: the native decoder failed \(RuntimeError: .*index out of bounds\); please report"):
        load([str(path)])


def test_strict_answers_a_pipe_whose_writer_falls_silent(tmp_path: Path):
    """A pipe is read a block at a time (ahead, on a thread left blocked on the silent pipe when the
    answer is in): --strict gives its answer once the first bad line has arrived, while the writer
    still holds the pipe open, and the process exits cleanly."""
    import subprocess
    import sys

    writer_code = (
        "import sys, time\n"
        "sys.stdout.write('not json\\n' + ('{\"type\": \"metric\", \"pad\": \"' + 'p' * 200 + '\"}\\n') * 16_000)\n"
        "sys.stdout.flush()\n"
        "time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", writer_code], stdout=subprocess.PIPE)
    try:
        done = subprocess.run([sys.executable, "-m", "llmobs", "report", "-", "--strict"], stdin=writer.stdout, capture_output=True, text=True, timeout=30)
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert done.returncode == 2
    assert "-:1: not valid JSON (--strict)" in done.stderr


def test_a_file_whose_name_is_not_utf8_is_read(tmp_path: Path):
    """Linux names are bytes; one that is not UTF-8 reaches Python with surrogates, which the
    native decoder cannot take as a path: such a file is read as a stream, with the same result."""
    import os

    name = os.path.join(os.fsencode(tmp_path), b"odd-\xff.jsonl")
    with open(name, "wb") as handle:
        handle.write((json.dumps(root("t1", 5)) + "\nnot json\n").encode())
    data = load([os.fsdecode(name)])
    assert (data.stats.records, data.stats.bad_lines) == (1, 1)
    assert data.stats.bad_line_samples == [f"{os.fsdecode(name)}:2: not valid JSON"]

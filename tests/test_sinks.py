from __future__ import annotations

import asyncio
import atexit
import json
import multiprocessing
import signal
import subprocess
import sys
import threading
from pathlib import Path

from helpers import read_jsonl

import llmobs
from llmobs._clean import REDACTION_FAILED
from llmobs.records import RECORD_ADAPTER
from llmobs.sinks import JsonlFileSink

PROCESSES, THREADS, TASKS, STEPS = 3, 4, 5, 6


class Planned(Exception):
    """Raised on purpose by every third task."""


def _worker(path: str, process: int) -> None:
    llmobs.configure(path)

    async def task(thread: int, index: int) -> None:
        request = f"p{process}-t{thread}-a{index}"
        try:
            async with llmobs.TraceContext(request):
                for step in range(STEPS):
                    async with llmobs.trace_span(f"step{step}", request=request):
                        await asyncio.sleep(0)
                        llmobs.record_usage("gpt-4o", step, 1)
                if index % 3 == 0:
                    raise Planned(request)
        except Planned:
            pass
        else:
            assert index % 3 != 0, "the exception must propagate out of the trace"

    def thread_main(thread: int) -> None:
        async def all_tasks() -> None:
            await asyncio.gather(*(task(thread, i) for i in range(TASKS)))

        asyncio.run(all_tasks())

    threads = [threading.Thread(target=thread_main, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_processes_threads_and_tasks_share_one_file(tmp_path: Path):
    path = tmp_path / "shared.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(path), p)) for p in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0

    records = read_jsonl(path)  # validates every line
    requests = PROCESSES * THREADS * TASKS
    spans = [r for r in records if r["type"] == "span"]
    usage = [r for r in records if r["type"] == "usage"]
    assert len(spans) == requests * (STEPS + 1)
    assert len(usage) == requests * STEPS
    roots = {r["trace_id"]: r for r in spans if r["parent_id"] is None}
    assert len(roots) == requests
    span_ids = {r["span_id"]: r for r in spans}
    for span in spans:
        if span["parent_id"] is not None:
            root = roots[span["trace_id"]]
            assert span["parent_id"] == root["span_id"]
            assert span["attrs"]["request"] == root["attrs"]["request.id"]
    for u in usage:
        assert span_ids[u["span_id"]]["trace_id"] == u["trace_id"]
    failed = {r["attrs"]["request.id"] for r in roots.values() if r["status"] == "error"}
    assert failed == {f"p{p}-t{t}-a{i}" for p in range(PROCESSES) for t in range(THREADS) for i in range(TASKS) if i % 3 == 0}
    assert all(r["error"]["type"] == "Planned" for r in roots.values() if r["status"] == "error")


def test_unwritable_file_warns_once_and_the_app_keeps_running(tmp_path: Path, capsys):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    sink = JsonlFileSink(blocker / "traces.jsonl")
    llmobs.configure(sink=sink)
    try:
        for _ in range(3):
            with llmobs.TraceContext():
                with llmobs.trace_span("step"):
                    pass
    finally:
        llmobs._config._reset()
    err = capsys.readouterr().err
    assert err.count("llmobs: cannot write trace records to") == 1
    assert str(blocker / "traces.jsonl") in err
    assert sink.dropped == 6
    atexit.unregister(sink._report_dropped)  # already checked; keep the test run's output clean


def test_lines_are_appended_never_truncated(tmp_path: Path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"existing": true}\n')
    sink = JsonlFileSink(path)
    sink.write({"a": "é", "n": 1})
    sink.close()
    assert path.read_bytes() == b'{"existing": true}\n{"a":"\xc3\xa9","n":1}\n'


def test_default_path_comes_from_env(tmp_path: Path, monkeypatch):
    target = tmp_path / "from_env.jsonl"
    monkeypatch.setenv("LLMOBS_PATH", str(target))
    llmobs._config._reset()
    try:
        with llmobs.trace_span("job"):
            pass
    finally:
        llmobs._config._reset()
    assert [r["name"] for r in read_jsonl(target)] == ["job"]


def test_import_llmobs_stays_light():
    code = "import sys, llmobs, llmobs.testing; print(sorted(m for m in ('typer','rich','numpy','pydantic','genai_prices','asyncio') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    # nor, until the first record or decorator needs them, what costs a start most of its time
    code = "import sys, llmobs; print(sorted(m for m in ('typing', 're', 'dataclasses', 'inspect', 'orjson', 'uuid') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_dropped_records_are_counted_at_exit(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = (
        "import llmobs\n"
        f"llmobs.configure({str(blocker / 'x.jsonl')!r})\n"
        "for _ in range(4):\n"
        "    with llmobs.trace_span('step'):\n"
        "        pass\n"
        "print('app finished')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout == "app finished\n"
    assert result.stderr.count("cannot write trace records") == 1
    assert "llmobs: 4 trace records could not be written to" in result.stderr


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)


_WRITE_TRACES = """
import sys, llmobs
llmobs.configure(sys.argv[1])
def traces(tag, n):
    for i in range(n):
        with llmobs.TraceContext(f"{tag}-{i}", name="request", padding="x" * 300):
            with llmobs.trace_span("step"):
                pass
"""


def _lines(path: Path) -> tuple[list[dict], list[bytes]]:
    """The valid records of a log and its bad lines, judged by the record models."""
    good, bad = [], []
    for line in path.read_bytes().split(b"\n")[:-1]:
        try:
            RECORD_ADAPTER.validate_json(line)
            good.append(json.loads(line))
        except ValueError:
            bad.append(line)
    return good, bad


def _request_ids(records: list[dict]) -> list[str]:
    return [r["attrs"]["request.id"] for r in records if r["type"] == "span" and r["parent_id"] is None]


def test_a_full_disk_costs_the_torn_record_only(tmp_path: Path):
    """A file-size limit cuts a write mid-record; records after the space comes back, from the same
    process and from a new one, each start on a fresh line and are all intact."""
    path = tmp_path / "full.jsonl"
    code = _WRITE_TRACES + """
import resource
traces("before", 5)
size = __import__("os").path.getsize(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 250, hard))  # the next record is ~450 bytes
traces("full", 3)          # the first is torn, the rest fail outright
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
traces("after", 10)
"""
    result = _run(code, str(path))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("cannot write trace records") == 1
    _run(_WRITE_TRACES + "traces('new-process', 10)\n", str(path))

    good, bad = _lines(path)
    assert len(bad) == 1 and bad[0].startswith(b'{"v":1,"type":"span"')
    ids = _request_ids(good)
    assert ids == [f"before-{i}" for i in range(5)] + [f"after-{i}" for i in range(10)] + [f"new-process-{i}" for i in range(10)]
    traces = {r["trace_id"] for r in good if r["type"] == "span" and r["parent_id"] is None}
    assert sum(r["trace_id"] in traces for r in good) == 2 * len(ids)  # every later trace whole: its step and its root


def test_a_log_ending_mid_line_gets_a_fresh_line(tmp_path: Path):
    path = tmp_path / "torn.jsonl"
    path.write_bytes(b'{"v":1,"type":"span","trace_id":"t')  # a process was killed mid-write
    _run(_WRITE_TRACES + "traces('later', 2)\n", str(path))
    good, bad = _lines(path)
    assert bad == [b'{"v":1,"type":"span","trace_id":"t']
    assert _request_ids(good) == ["later-0", "later-1"]


def test_a_killed_process_loses_only_what_it_had_not_finished(tmp_path: Path):
    path = tmp_path / "killed.jsonl"
    code = _WRITE_TRACES + "import itertools\nfor i in itertools.count():\n    traces(f'run{i}', 1)\n    print(i, flush=True)\n"
    with subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        finished = [int(proc.stdout.readline()) for _ in range(20)]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    _run(_WRITE_TRACES + "traces('restarted', 1)\n", str(path))
    good, bad = _lines(path)
    ids = _request_ids(good)
    assert len(bad) <= 1  # a record being written when the kill came, at most
    assert ids[: len(finished)] == [f"run{i}-0" for i in finished]
    assert ids[-1] == "restarted-0"


def test_forked_workers_share_the_parents_file(tmp_path: Path):
    path = tmp_path / "forked.jsonl"
    code = _WRITE_TRACES + """
import os
traces("parent-before", 2)
children = []
for worker in range(3):
    pid = os.fork()
    if pid == 0:
        traces(f"child{worker}", 20)
        os._exit(0)
    children.append(pid)
traces("parent-after", 20)
assert all(os.waitpid(pid, 0)[1] == 0 for pid in children)
"""
    result = _run(code, str(path))
    assert result.returncode == 0, result.stderr
    good, bad = _lines(path)
    assert bad == []
    expected = {f"parent-before-{i}" for i in range(2)} | {f"parent-after-{i}" for i in range(20)}
    expected |= {f"child{w}-{i}" for w in range(3) for i in range(20)}
    assert sorted(_request_ids(good)) == sorted(expected)


def test_a_raising_redaction_hook_leaks_nothing_and_drops_nothing(capsys):
    def redact(key: str, value: object) -> object:
        if "secret" in str(value):
            raise ValueError("cannot redact this")
        return value

    sink = llmobs.sinks.MemorySink()
    llmobs.configure(sink=sink, redact=redact)
    try:
        for i in range(3):
            with llmobs.TraceContext(f"r{i}", input=f"secret question {i}", plain="kept") as ctx:
                try:
                    with llmobs.trace_span("llm", tags=["secret tag"]):
                        raise TimeoutError("secret in the message")
                except TimeoutError:
                    pass
            llmobs.record_eval("correctness", passed=False, query="secret query", comment="secret comment", trace_id=ctx.trace_id)
    finally:
        llmobs._config._reset()
    assert [r["type"] for r in sink.records] == ["span", "span", "eval"] * 3
    assert "secret" not in json.dumps(sink.records)
    for root in (r for r in sink.records if r["type"] == "span" and r["parent_id"] is None):
        assert root["attrs"] == {"input": REDACTION_FAILED, "plain": "kept", "request.id": root["attrs"]["request.id"]}
    llm = [r for r in sink.records if r.get("name") == "llm"]
    assert all(r["error"] == {"type": "TimeoutError", "message": REDACTION_FAILED} and r["attrs"] == {"tags": REDACTION_FAILED} for r in llm)
    evals = [r for r in sink.records if r["type"] == "eval"]
    assert all(e["query"] == e["comment"] == REDACTION_FAILED for e in evals)
    err = capsys.readouterr().err
    for key in ("input", "tags", "error.message", "query", "comment"):
        assert err.count(f"the redaction hook raised ValueError for {key!r}") == 1

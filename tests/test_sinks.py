from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import subprocess
import sys
import threading
from pathlib import Path

from helpers import read_jsonl

import llmobs
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

"""Time `llmobs report` against DuckDB computing the same core figures on the same log, in one run.

Generates (once, cached under benchmarks/out/) a ~3-million-record, ~0.75 GB log by running the
llmobs logger over the simulated agent of sample_traces/generate.py, then runs, each in a fresh
process: `llmobs report LOG --format json`, and DuckDB (`read_json` into a table, then request
percentiles with `quantile_cont`, per-step percentiles, error types, token sums, failed evals).
Wall time (best of the timed runs) and peak memory (summed PSS of the process and its children,
sampled every 20 ms in separate runs; the median) are printed side by side, and the two tools'
figures are checked against each other.

    pip install -e '.[bench]' && python benchmarks/report_vs_duckdb.py [--requests-per-month 70000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"

DUCKDB_SCRIPT = r"""
import duckdb, json, sys
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("CREATE TABLE r AS SELECT * FROM read_json(?, format='newline_delimited', union_by_name=true)", [sys.argv[1]])
q = lambda sql: con.execute(sql).fetchall()
out = {
    "requests": q("SELECT count(*), quantile_cont(duration_ms, [0.5, 0.95, 0.99]), avg((status = 'error')::int) FROM r WHERE type = 'span' AND parent_id IS NULL")[0],
    "steps": q("SELECT name, count(*), quantile_cont(duration_ms, [0.5, 0.95, 0.99]) AS qs, sum(duration_ms), avg((status = 'error')::int) FROM r WHERE type = 'span' AND parent_id IS NOT NULL GROUP BY name ORDER BY qs[2] DESC"),
    "errors": q("SELECT error.type, count(*) AS c FROM r WHERE type = 'span' AND status = 'error' GROUP BY 1 ORDER BY c DESC"),
    "tokens": q("SELECT sum(input_tokens), sum(output_tokens), count(*) FILTER (WHERE input_tokens IS NULL) FROM r WHERE type = 'usage'")[0],
    "evals": q("SELECT count(*), count(*) FILTER (WHERE passed = false) FROM r WHERE type = 'eval'")[0],
}
print(json.dumps(out, default=float))
"""


def _tree_pss_kib(pid: int) -> int:
    """Proportional set size of `pid` and all its descendants, in KiB: resident memory with pages
    shared between a forked worker and its parent counted once, so a process tree is not flattered
    nor double-counted."""
    total, stack, seen = 0, [pid], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run(command: list[str], *, sample_memory: bool) -> tuple[float, float, str]:
    """(wall seconds, peak PSS MiB summed over the process tree or 0, stdout) of one command.

    Reading /proc every 20 ms takes CPU from the two cores being measured (about 0.4 s a run for
    either tool), so wall time comes from runs without sampling and memory from runs with it."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_pss_kib(process.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    if sample_memory:
        sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    done.set()
    if sample_memory:
        sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({process.returncode}):\n{stderr}")
    return wall, peak / 1024, stdout


LOG_GENERATION = 2  # raise when sample_traces/generate.py changes what it writes: a cached log is then remade


def ensure_log(requests_per_month: int) -> Path:
    """The benchmark log, generated once and cached under benchmarks/out/."""
    path = OUT / f"agent_{requests_per_month}_g{LOG_GENERATION}.jsonl"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        print(f"generating {path} …", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE.parent / "sample_traces" / "generate.py"), str(path), "--requests", str(requests_per_month)], check=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-month", type=int, default=70_000, help="70,000 × 5 months ≈ 3 million records")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    log = ensure_log(args.requests_per_month)
    size_mb = log.stat().st_size / 1e6

    commands = {
        "llmobs": [sys.executable, "-m", "llmobs", "report", str(log), "--format", "json"],
        "duckdb": [sys.executable, "-c", DUCKDB_SCRIPT, str(log)],
    }
    walls: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, list[float]] = {name: [] for name in commands}
    outputs: dict[str, str] = {}
    for _ in range(args.repeat):
        for name, command in commands.items():
            wall, _, outputs[name] = run(command, sample_memory=False)
            walls[name].append(wall)
            peaks[name].append(run(command, sample_memory=True)[1])

    report = json.loads(outputs["llmobs"])
    duck = json.loads(outputs["duckdb"].strip().splitlines()[-1])
    count, quantiles, _error_rate = duck["requests"]
    assert report["requests"]["count"] == count
    for ours_q, theirs_q in zip(report["requests"]["latency_ms"].values(), quantiles, strict=True):
        assert abs(ours_q - theirs_q) <= 1e-6 * max(1.0, abs(theirs_q)), (ours_q, theirs_q)
    assert [s["name"] for s in report["steps"]] == [row[0] for row in duck["steps"]]
    assert [(e["type"], e["count"]) for e in report["errors"]["top"]] == [tuple(row) for row in duck["errors"]]

    records = report["input"]["records"]
    best = {name: min(values) for name, values in walls.items()}
    typical = {name: statistics.median(values) for name, values in peaks.items()}
    print(f"log: {log.name}, {size_mb:,.0f} MB, {records:,} records; {args.repeat} timed and {args.repeat} memory-sampled runs each")
    print(f"{'':10}{'best wall s':>12}{'median peak MiB':>17}   {'wall range':>14}{'peak range':>16}")
    for name in commands:
        print(f"{name:10}{best[name]:12.2f}{typical[name]:17.0f}   {min(walls[name]):6.2f}–{max(walls[name]):<7.2f}{min(peaks[name]):8.0f}–{max(peaks[name]):<7.0f}")
    print(f"ratio     {best['llmobs'] / best['duckdb']:11.2f}× {typical['llmobs'] / typical['duckdb']:15.2f}×   (goals: ≤ 0.5× time, ≤ 0.5× memory)")
    print(f"memory, worst case (llmobs's highest peak / DuckDB's lowest): {max(peaks['llmobs']) / min(peaks['duckdb']):.2f}×")
    print("figures agree: request count and p50/p95/p99, step order, error types and counts")


if __name__ == "__main__":
    main()

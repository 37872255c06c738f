"""Time `llmobs report` against DuckDB computing the same core figures on the same log, in one run.

Generates (once, cached under benchmarks/out/) a ~3-million-record, ~0.75 GB log by running the
llmobs logger over the simulated agent of sample_traces/generate.py, then runs, each in a fresh
process: `llmobs report LOG --format json`, and DuckDB (`read_json` into a table, then request
percentiles with `quantile_cont`, per-step percentiles, error types, token sums, failed evals).
Wall time (best of the timed runs) and peak memory (summed PSS of the process and its children,
sampled every 20 ms in separate runs; the median) are printed side by side, and the two tools'
figures are checked against each other.

`--variant` measures the same log as other writers write it (made once from it, cached too):
`offset` (timestamps ending `+00:00`, as Python's `isoformat()` writes them, instead of `Z`),
`uuid` (trace and span ids as UUIDs: `550e8400-e29b-41d4-…`), `invalid` (every 28th line that is a span
of a first attempt, given `attempt: 2` and no `retry_of`, which the models refuse; about 3 %). llmobs's answers on a
variant are checked equal to its answers on the log itself (ids aside, for `uuid`; the refused
lines aside, for `invalid`).

    pip install -e '.[bench]' && python benchmarks/report_vs_duckdb.py [--requests-per-month 70000] [--variant offset]
"""

from __future__ import annotations

import argparse
import json
import os
import re
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


VARIANTS = ("z", "offset", "uuid", "invalid")
ID_FIELD = re.compile(rb'"(trace_id|span_id|parent_id|retry_of)":"([0-9a-f]{16}|[0-9a-f]{32})"')
TIME_FIELD = re.compile(rb'"(start|time)":"([0-9T:.-]+)Z"')


def _as_uuid(match: re.Match[bytes]) -> bytes:
    hexid = match.group(2).rjust(32, b"0") if len(match.group(2)) == 16 else match.group(2)
    text = b"-".join((hexid[:8], hexid[8:12], hexid[12:16], hexid[16:20], hexid[20:]))
    return b'"' + match.group(1) + b'":"' + text + b'"'


def variant_log(log: Path, variant: str) -> Path:
    """`log` rewritten as `variant` (made once, beside it)."""
    if variant == "z":
        return log
    path = log.with_name(f"{log.stem}_{variant}.jsonl")
    if path.exists():
        return path
    print(f"writing {path} …", file=sys.stderr)
    with log.open("rb") as source, open(f"{path}.part", "wb") as target:
        for number, line in enumerate(source):
            if variant == "offset":
                line = TIME_FIELD.sub(rb'"\1":"\2+00:00"', line)
            elif variant == "uuid":
                line = ID_FIELD.sub(_as_uuid, line)
            elif number % 28 == 27 and line.startswith(b'{"v":1,"type":"span"') and b'"attempt"' not in line:
                line = line.replace(b'"status":', b'"attempt":2,"status":', 1)
            target.write(line)
    os.replace(f"{path}.part", path)
    return path


def same_answers(ours: dict, theirs: dict, variant: str) -> None:
    """llmobs's report on a variant against its report on the log itself."""
    keep = ("requests", "steps", "errors", "retries", "tokens", "cost")
    if variant == "invalid":  # the refused spans are left out: the counts differ, by design
        assert ours["input"]["bad_lines"] > 0
        return
    for key in keep:
        assert ours[key] == theirs[key], key
    assert ours["quality"]["failed"] == theirs["quality"]["failed"]
    assert ours["input"]["bad_lines"] == theirs["input"]["bad_lines"] == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-month", type=int, default=70_000, help="70,000 × 5 months ≈ 3 million records")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--variant", choices=VARIANTS, default="z", help="the log as another writer writes it (see above)")
    args = parser.parse_args()
    plain = ensure_log(args.requests_per_month)
    log = variant_log(plain, args.variant)
    size_mb = log.stat().st_size / 1e6

    commands = {
        "llmobs": [sys.executable, "-m", "llmobs", "report", str(log), "--format", "json", "--no-cache"],
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
    if args.variant != "z":
        same_answers(report, json.loads(run([*commands["llmobs"][:4], str(plain), *commands["llmobs"][5:]], sample_memory=False)[2]), args.variant)
    duck = json.loads(outputs["duckdb"].strip().splitlines()[-1])
    if args.variant != "invalid":  # with refused lines, DuckDB counts what llmobs does not: nothing to compare
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
    if args.variant != "invalid":
        print("figures agree: request count and p50/p95/p99, step order, error types and counts")
    if args.variant != "z":
        print(f"llmobs's answers on the {args.variant} log equal its answers on the log itself" + (" (ids aside)" if args.variant == "uuid" else "")
              if args.variant != "invalid" else f"{report['input']['bad_lines']:,} lines refused, each counted as a bad line")


if __name__ == "__main__":
    main()

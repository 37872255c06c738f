"""The cache, measured: `llmobs report` from a warm cache against DuckDB answering the same figures
from its own native table (each a whole fresh process, in one run), a run after the log grew by
1 % against a cold run (and one more run right after it), and what filling the cache costs a cold
run.

Uses the 3-million-record log of report_vs_duckdb.py (made once under benchmarks/out/), a copy of
it that the appends go to, and a DuckDB database file holding the log as a table (made once; its
making is not timed: the comparison is with a team that already imported its logs). The reports
of every llmobs run are checked equal to a run without the cache.

    pip install -e '.[bench]' && python benchmarks/cache_vs_duckdb.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "sample_traces"))

from generate import generate  # noqa: E402
from report_vs_duckdb import DUCKDB_SCRIPT, OUT, ensure_log  # noqa: E402

DUCKDB_IMPORT = r"""
import duckdb, sys
con = duckdb.connect(sys.argv[2])
con.execute("CREATE TABLE r AS SELECT * FROM read_json(?, format='newline_delimited', union_by_name=true)", [sys.argv[1]])
"""
# The report's queries, against the table in the database file instead of a table made from the log.
DUCKDB_NATIVE = DUCKDB_SCRIPT.replace("con = duckdb.connect()", "con = duckdb.connect(sys.argv[2], read_only=True)").replace(
    'con.execute("CREATE TABLE r AS SELECT * FROM read_json(?, format=\'newline_delimited\', union_by_name=true)", [sys.argv[1]])\n', "")


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command} failed ({done.returncode}):\n{done.stderr}")
    return wall, done.stdout


def age(path: Path) -> None:
    """An mtime well in the past, as a log has when it was last written a while ago."""
    past = time.time_ns() - 60 * 10**9
    os.utime(path, ns=(past, past))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-month", type=int, default=70_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    log = ensure_log(args.requests_per_month)
    database = OUT / f"{log.stem}.duckdb"
    if not database.exists():
        print(f"importing {log.name} into {database.name} …", file=sys.stderr)
        subprocess.run([sys.executable, "-c", DUCKDB_IMPORT, str(log), str(database)], check=True)

    with tempfile.TemporaryDirectory(dir=OUT) as scratch:
        work, extra, cache = Path(scratch) / "work.jsonl", Path(scratch) / "extra.jsonl", Path(scratch) / "cache"
        shutil.copyfile(log, work)
        age(work)
        generate(str(extra), max(1, args.requests_per_month // 100), seed=7)  # new requests, about 1 % of the log's records
        appended = extra.read_bytes()
        env = {"LLMOBS_CACHE_DIR": str(cache)}
        report = [sys.executable, "-m", "llmobs", "report", str(work), "--format", "json"]
        walls: dict[str, list[float]] = {name: [] for name in ("duckdb", "warm", "no_cache", "cold_fill", "append", "after_append", "no_cache_appended")}
        for _ in range(args.repeat):
            walls["duckdb"].append(timed([sys.executable, "-c", DUCKDB_NATIVE, str(log), str(database)])[0])
            wall, expected = timed([*report, "--no-cache"], env)
            walls["no_cache"].append(wall)
            shutil.rmtree(cache, ignore_errors=True)
            wall, filled = timed(report, env)
            walls["cold_fill"].append(wall)
            wall, warm = timed(report, env)
            walls["warm"].append(wall)
            assert filled == warm == expected, "a cached report differs from the uncached one"
            with open(work, "ab") as out:
                out.write(appended)
            wall, grown = timed(report, env)
            walls["append"].append(wall)
            wall, again = timed(report, env)  # the log unchanged since, but written within the last seconds
            walls["after_append"].append(wall)
            assert again == grown
            wall, grown_expected = timed([*report, "--no-cache"], env)
            walls["no_cache_appended"].append(wall)
            assert grown == grown_expected, "the report after an append differs from the uncached one"
            os.truncate(work, log.stat().st_size)
            age(work)

    records = json.loads(expected)["input"]["records"]
    added = json.loads(grown)["input"]["records"] - records
    best = {name: min(values) for name, values in walls.items()}
    print(f"log: {log.name}, {log.stat().st_size / 1e6:,.0f} MB, {records:,} records; +{added:,} records ({added / records:.1%}) appended; "
          f"best of {args.repeat} runs, each a whole process")
    rows = [
        ("duckdb, its own table", "duckdb", None),
        ("llmobs, warm cache", "warm", ("duckdb", "goal ≤ 1.0×")),
        ("llmobs, no cache", "no_cache", None),
        ("llmobs, cold, filling the cache", "cold_fill", ("no_cache", "")),
        ("llmobs, after a 1 % append", "append", ("no_cache_appended", "vs the same log without cache")),
        ("llmobs, once more after it", "after_append", ("duckdb", "")),
    ]
    for label, name, versus in rows:
        ratio = f"{best[name] / best[versus[0]]:6.2f}× {versus[1]}" if versus else ""
        print(f"{label:34}{best[name]:7.2f} s  {ratio}")
    print("every llmobs report equals the report read without the cache")


if __name__ == "__main__":
    main()

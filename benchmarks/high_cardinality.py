"""`llmobs report` on 100,000 requests whose step names carry ids (`GET /users/{n}`): the table
against the JSON form, with step names grouped (the default) and as written (--raw-names).

    python benchmarks/high_cardinality.py [--requests 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_log(path: Path, requests: int) -> None:
    with path.open("w") as out:
        for i in range(requests):
            trace = f"{i:032x}"
            start = f"2026-11-{1 + i % 28:02d}T10:00:00.000000Z"
            out.write(json.dumps({"type": "span", "trace_id": trace, "span_id": f"{i:016x}", "parent_id": None, "name": "request",
                                  "start": start, "duration_ms": 50.0 + i % 97, "status": "ok"}) + "\n")
            out.write(json.dumps({"type": "span", "trace_id": trace, "span_id": f"{i + 1:016x}"[::-1], "parent_id": f"{i:016x}",
                                  "name": f"GET /users/{i}", "start": start, "duration_ms": 20.0 + i % 31, "status": "ok"}) + "\n")


def timed(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "llmobs", *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "routes.jsonl"
        write_log(log, options.requests)
        for extra in ([], ["--raw-names"]):
            table = min(timed("report", str(log), *extra) for _ in range(3))
            as_json = min(timed("report", str(log), "--format", "json", *extra) for _ in range(3))
            label = " ".join(extra) or "grouped names"
            print(f"{label:>14}: table {table:.2f} s, json {as_json:.2f} s ({options.requests:,} requests, best of 3)")


if __name__ == "__main__":
    main()

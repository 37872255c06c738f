"""The reader on one thread against two: `load()` of the benchmark log (plain, and gzip), each run
in a fresh process, best of `--repeat`, and the speed-up.

    python benchmarks/reader_threads.py [--requests-per-month 70000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_vs_duckdb import OUT, ensure_log

# As the command line runs it: numpy's BLAS on one thread (its idle threads spin on the reader's CPUs).
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
TIMED_LOAD = r"""
import sys, time
from llmobs.read import load
started = time.perf_counter()
data = load([sys.argv[1]], threads=int(sys.argv[2]))
print(time.perf_counter() - started, data.stats.records)
"""


def timed(path: Path, threads: int, repeat: int) -> tuple[float, int]:
    """The best wall time of `load()` over `repeat` fresh processes, and the records read."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", TIMED_LOAD, str(path), str(threads)], capture_output=True, text=True, check=True, env=ENV).stdout.split()
        runs.append((float(out[0]), int(out[1])))
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-month", type=int, default=70_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    log = ensure_log(args.requests_per_month)
    packed = OUT / (log.name + ".gz")
    if not packed.exists():
        with log.open("rb") as source, gzip.open(packed, "wb", compresslevel=1) as target:
            shutil.copyfileobj(source, target, 1 << 22)
    print(f"{'input':<28}{'1 thread s':>12}{'2 threads s':>13}{'speed-up':>10}")
    for path in (log, packed):
        one, records = timed(path, 1, args.repeat)
        two, again = timed(path, 2, args.repeat)
        assert records == again, "both runs read the same records"
        print(f"{path.name:<28}{one:>12.2f}{two:>13.2f}{one / two:>9.2f}×")


if __name__ == "__main__":
    main()

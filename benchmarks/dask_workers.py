"""`llmobs report --engine dask` on the 3-million-record log with one and then two `dask worker`
processes (one thread each) on this machine, against the local engine, in one run; each report is
checked equal to the local engine's (sums of durations to 1e-12: the parts add them in another
order; everything else exactly).

Starts its own `dask scheduler` and workers on loopback and stops them at the end.

    pip install -e '.[dask,bench]' && python benchmarks/dask_workers.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from report_vs_duckdb import ensure_log  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


SUMS_OF_DURATIONS = ("total_ms", "share_of_request_time", "self_total_ms", "self_share")


def agrees(ours: object, theirs: object, key: str = "") -> bool:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return list(ours) == list(theirs) and all(agrees(ours[k], theirs[k], k) for k in ours)
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(agrees(a, b, key) for a, b in zip(ours, theirs, strict=True))
    if key in SUMS_OF_DURATIONS and isinstance(ours, float) and isinstance(theirs, float):
        return math.isclose(ours, theirs, rel_tol=1e-12)
    return ours == theirs


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{command} failed:\n{done.stderr}")
    return time.perf_counter() - start, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests-per-month", type=int, default=70_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    log = ensure_log(args.requests_per_month)
    from dask.distributed import Client

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        time.sleep(2)
        local = [sys.executable, "-m", "llmobs", "report", str(log), "--format", "json", "--no-cache"]
        on_cluster = [sys.executable, "-m", "llmobs", "report", str(log), "--format", "json", "--engine", "dask", "--scheduler", address]
        walls: dict[str, list[float]] = {"local": [], "1 worker": [], "2 workers": []}
        expected = ""
        for _ in range(args.repeat):
            wall, expected = timed(local)
            walls["local"].append(wall)
        for count in (1, 2):
            while len(workers) < count:
                workers.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard"],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            with Client(address, timeout="30s") as client:
                client.wait_for_workers(count, timeout=60)
            for _ in range(args.repeat):
                wall, output = timed(on_cluster)
                assert agrees(json.loads(output), json.loads(expected)), "the cluster's report differs from the local engine's"
                walls[f"{count} worker{'s' if count > 1 else ''}"].append(wall)
    finally:
        for process in [*workers, scheduler]:
            process.terminate()
            process.wait(timeout=30)
    best = {name: min(values) for name, values in walls.items()}
    print(f"log: {log.name}, {log.stat().st_size / 1e6:,.0f} MB; best of {args.repeat} runs of `llmobs report`, each a whole process")
    for name, wall in best.items():
        print(f"{name:12}{wall:7.2f} s" + ("" if name == "local" else f"   {best['1 worker'] / wall:.2f}× the speed of 1 worker"))
    print("every report on the cluster equals the local engine's")


if __name__ == "__main__":
    main()

"""Instructions per line of reading, counted by callgrind (repeatable, whatever else the machine
does): `load()` of the first 5 MB of the benchmark log on one thread, minus the same process
importing the reader without reading. With `--revision REV` the same is counted for another git
revision too (checked out in a temporary worktree; its dependencies must be installed, e.g.
msgspec for revisions before the native decoder).

    python benchmarks/instructions_per_line.py [--revision 6509888]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_vs_duckdb import ensure_log

ROOT = Path(__file__).resolve().parent.parent
SLICE_BYTES = 5_000_000
# Revisions before the native decoder took `workers`, later ones `threads`: one thread either way.
READ = r"""
import inspect, sys
from llmobs.read import load
one = {"threads": 1} if "threads" in inspect.signature(load).parameters else {"workers": 1}
if len(sys.argv) > 1:
    data = load([sys.argv[1]], **one)
    print(data.stats.lines)
"""


def instructions(code_root: Path, *args: str) -> int:
    """Instructions callgrind counts for the reading script run against `code_root`'s llmobs."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        env = {**os.environ, "PYTHONPATH": str(code_root), "OPENBLAS_NUM_THREADS": "1"}
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c", READ, *args],
                              capture_output=True, text=True, env=env, check=True, cwd=scratch)  # not the repository: `-c` puts the cwd first on the path
        found = re.search(r"refs:\s+([\d,]+)", done.stderr)
        if found is None:
            raise SystemExit(f"callgrind printed no count:\n{done.stderr[-2000:]}")
        return int(found.group(1).replace(",", ""))


def per_line(code_root: Path, sample: Path, lines: int) -> float:
    return (instructions(code_root, str(sample)) - instructions(code_root)) / lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revision", help="another git revision to count, e.g. the one before the native decoder")
    parser.add_argument("--requests-per-month", type=int, default=70_000)
    args = parser.parse_args()
    log = ensure_log(args.requests_per_month)
    with tempfile.TemporaryDirectory() as scratch:
        sample = Path(scratch) / "sample.jsonl"
        with log.open("rb") as source:
            data = source.read(SLICE_BYTES)
        sample.write_bytes(data[: data.rfind(b"\n") + 1])
        lines = sample.read_bytes().count(b"\n")
        print(f"{lines:,} lines ({sample.stat().st_size:,} bytes), one thread")
        rows = [("this tree", ROOT)]
        if args.revision:
            worktree = Path(scratch) / "revision"
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.revision], check=True, capture_output=True)
            rows.insert(0, (args.revision, worktree))
        try:
            for label, code_root in rows:
                print(f"{label:<12} {per_line(code_root, sample, lines):>10,.0f} instructions per line")
        finally:
            if args.revision:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False, capture_output=True)


if __name__ == "__main__":
    main()

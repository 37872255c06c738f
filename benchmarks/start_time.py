"""How long llmobs takes to start: `import llmobs` (the logger), `llmobs --version`, `llmobs report
--help` and `llmobs report` on an empty log, each a whole fresh process, against a bare Python
start (`python -c pass`) in the same run. Best and median of `--repeat` runs.

    pip install -e . && python benchmarks/start_time.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    script = shutil.which("llmobs") or "llmobs"
    with tempfile.TemporaryDirectory() as scratch:
        empty = Path(scratch) / "empty.jsonl"
        empty.write_text("")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "import llmobs": [sys.executable, "-c", "import llmobs"],
            "llmobs --version": [script, "--version"],
            "llmobs report --help": [script, "report", "--help"],
            "llmobs report EMPTY": [script, "report", str(empty), "--no-cache"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):  # interleaved, so a busy moment of the machine falls on every command alike
            for name, command in commands.items():
                times[name].append(timed(command))
    print(f"{'':24}{'best ms':>9}{'median ms':>11}")
    for name, values in times.items():
        print(f"{name:24}{min(values) * 1000:9.0f}{statistics.median(values) * 1000:11.0f}")


if __name__ == "__main__":
    main()

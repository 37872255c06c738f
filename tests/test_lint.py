"""The code base passes its own ruff configuration (pyproject.toml [tool.ruff])."""

from __future__ import annotations

import subprocess
import sys


def test_ruff_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "llmobs", "tests", "benchmarks", "sample_traces", "--output-format", "concise"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr

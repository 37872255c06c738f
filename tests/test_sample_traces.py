from __future__ import annotations

import importlib.util
from pathlib import Path

import llmobs

SAMPLE = Path("sample_traces/agent_traces.jsonl")


def test_sample_traces_are_what_the_generator_writes(tmp_path: Path):
    spec = importlib.util.spec_from_file_location("generate", "sample_traces/generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        module.generate(str(tmp_path / "again.jsonl"), requests_per_month=120)
    finally:
        llmobs._config._reset()
    assert (tmp_path / "again.jsonl").read_bytes() == SAMPLE.read_bytes()

"""Small builders of FORMAT.md lines for tests, so expected values can be computed by hand."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmobs.records import RECORD_ADAPTER


def span(trace: str, span_id: str, name: str, duration: float, *, parent: str | None = "root", status: str = "ok",
         start: str = "2026-03-01T10:00:00Z", error: str | None = None, attempt: int = 1, retry_of: str | None = None,
         **attrs: object) -> dict:
    record = {"type": "span", "trace_id": trace, "span_id": span_id, "parent_id": None if parent is None else f"{trace}-{parent}",
              "name": name, "start": start, "duration_ms": duration, "status": status}
    if error:
        record["error"] = {"type": error, "message": "boom"}
    if attempt > 1:
        record["attempt"] = attempt
        record["retry_of"] = retry_of
    if attrs:
        record["attrs"] = attrs
    return record


def root(trace: str, duration: float, *, status: str = "ok", start: str = "2026-03-01T10:00:00Z", **attrs: object) -> dict:
    record = span(trace, f"{trace}-root", "request", duration, parent=None, status=status, start=start, **attrs)
    if status == "error":
        record["error"] = {"type": "AgentFailed", "message": "x"}
    return record


def usage(trace: str, model: str, tokens_in: int | None, tokens_out: int | None, *, time: str = "2026-03-01T10:00:01Z",
          provider: str | None = None, cost: float | None = None, span_id: str | None = None, **extra: object) -> dict:
    record = {"type": "usage", "trace_id": trace, "span_id": span_id, "time": time, "provider": provider, "model": model,
              "input_tokens": tokens_in, "output_tokens": tokens_out, **extra}
    if cost is not None:
        record["cost_usd"] = cost
    return record


def evaluation(trace: str, passed: bool | None, *, name: str = "correctness", query: str | None = None,
               time: str = "2026-03-01T11:00:00Z") -> dict:
    return {"type": "eval", "trace_id": trace, "time": time, "name": name, "passed": passed, "score": None, "query": query}


def write_jsonl(path: Path, records: list[dict], extra_lines: list[str] = ()) -> Path:
    lines = [json.dumps(r) for r in records] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, object]]:
    """Every line of a JSONL file, each checked against the record models."""
    records = []
    for line in path.read_bytes().splitlines():
        RECORD_ADAPTER.validate_json(line)
        records.append(json.loads(line))
    return records


def canonical(data) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Everything a loaded data set says, independent of the order rows were read in."""
    c = data.columns

    def rows(table, strings: dict[str, str], skip: tuple[str, ...] = ()) -> list[str]:  # type: ignore[no-untyped-def]
        names = [f.name for f in dataclasses.fields(table) if f.name not in ("group", "query", *skip)]
        out = []
        for row in range(len(table.trace)):
            values = []
            for name in names:
                value = getattr(table, name)[row].item()
                if name in strings:
                    value = getattr(c, strings[name]).lookup(int(value))
                values.append("nan" if isinstance(value, float) and math.isnan(value) else repr(value))
            if table is c.spans:  # each group attribute's value, by name
                values += [f"{group}={c.attr_values.lookup(int(codes[row]))!r}" for group, codes in sorted(table.group.items())]
            out.append("|".join(values))
        return sorted(out)

    span_strings = {"trace": "trace_ids", "name": "names", "kind": "kinds", "error_type": "error_types", "model": "models"}
    usage_strings = {"trace": "trace_ids", "provider": "providers", "model": "models"}
    evals = sorted(f"{c.trace_ids.lookup(int(t))}|{c.eval_names.lookup(int(n))}|{p}|{q!r}" for t, n, p, q in zip(c.evals.trace, c.evals.name, c.evals.passed, c.evals.query, strict=True))
    texts = {c.trace_ids.values[code]: (c.root_input.get(code), c.root_request_id.get(code)) for code in range(len(c.trace_ids))}
    stats = dataclasses.asdict(data.stats)
    stats["bad_samples"] = [(bad["source"], bad["line"], bad["reason"]) for bad in stats["bad_samples"]]
    return {
        "spans": rows(c.spans, span_strings),
        "usage": rows(c.usage, usage_strings),
        "evals": evals,
        "texts": texts,
        "weights": None if c.trace_weight is None else sorted(zip(c.trace_ids.values, c.trace_weight.tolist(), strict=True)),
        "stats": stats,
    }


SUMS_OF_DURATIONS = ("total_ms", "share_of_request_time", "self_total_ms", "self_share")


def same(ours: object, theirs: object, where: str = "", *, weighted: bool = False) -> None:
    """Equal: costs and (unsampled) counts and rates bit for bit; sums of durations, and with
    `weighted` every weighted sum but costs, to 1e-12 relative (added in another order)."""
    if isinstance(ours, float) and isinstance(theirs, float) and (where.rsplit(".", 1)[-1] in SUMS_OF_DURATIONS or (weighted and not where.startswith(".cost"))):
        assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12), where
    elif isinstance(ours, dict) and isinstance(theirs, dict):
        assert list(ours) == list(theirs), where
        for key in ours:
            same(ours[key], theirs[key], f"{where}.{key}", weighted=weighted)
    elif isinstance(ours, list) and isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            same(a, b, f"{where}[{index}]", weighted=weighted)
    else:
        assert ours == theirs, where


def mixed_requests(count: int) -> list[dict]:
    """Requests with a bit of everything: some sampled (a quarter kept), errors, a retry each, usage
    rolled up by the root, an unpriced model, a `team` attribute, evals failing for a third."""
    records = []
    for i in range(count):
        t = f"t{i}"
        records += [
            {**root(t, 100.0 + i, start=f"2026-0{1 + i % 3}-05T00:00:00Z", input=f"q{i}"), "sample_rate": 0.25 if i % 4 == 0 else 1.0},
            span(t, f"{t}-a", "tool", 10.0 + i % 7, status="error" if i % 5 == 0 else "ok", error="Boom" if i % 5 == 0 else None, team=f"team{i % 3}"),
            span(t, f"{t}-b", "llm", 30.0 + i % 11, attempt=2, retry_of=f"{t}-a", status="ok" if i % 2 else "error", error=None if i % 2 else "Again"),
            usage(t, "gpt-4o", 100, 20, provider="openai", span_id=f"{t}-b"),
            usage(t, "gpt-4o", 150, 30, provider="openai", span_id=f"{t}-root", scope="span"),
            usage(t, "mystery-model", 5, 5),
            evaluation(t, i % 3 != 0, query=None, time=f"2026-03-01T11:00:0{i % 3}Z"),
        ]
    return records


def llmobs(*args: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The real `llmobs` command run in a process of its own, `env` added to this one's environment."""
    return subprocess.run([sys.executable, "-m", "llmobs", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)

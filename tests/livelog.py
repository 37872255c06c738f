"""Lines of requests as an agent writes them while it runs, timed around a given moment, for the
tests of `llmobs watch` (which counts a request by when it ended)."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path


def rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def request(trace: str, latency_ms: float, *, end: float | None = None, error: str | None = None, model: str = "gpt-4o-mini",
            tokens: tuple[int, int] = (100, 20), cost: float | None = None, eval_passed: bool | None = None, retried: bool = False) -> list[dict]:
    """One request's records: a child `llm_call` span with its usage, an optional retry of it, the
    root span last (as a logger that writes each span when it ends does), then an optional eval."""
    end = time.time() if end is None else end
    start = end - latency_ms / 1000
    root_id, call_id = f"{trace}-root", f"{trace}-call"
    records: list[dict] = []
    usage = {"type": "usage", "trace_id": trace, "span_id": call_id, "time": rfc3339(start + 0.001), "provider": "openai", "model": model,
             "input_tokens": tokens[0], "output_tokens": tokens[1]}
    if cost is not None:
        usage["cost_usd"] = cost
    records.append(usage)
    call = {"type": "span", "trace_id": trace, "span_id": call_id, "parent_id": root_id, "name": "llm_call", "start": rfc3339(start),
            "duration_ms": latency_ms / 2, "status": "error" if error else "ok", "kind": "llm"}
    if error:
        call["error"] = {"type": error, "message": "failed"}
    records.append(call)
    if retried:
        records.append({"type": "span", "trace_id": trace, "span_id": f"{trace}-retry", "parent_id": root_id, "name": "llm_call",
                        "start": rfc3339(start + latency_ms / 2000), "duration_ms": latency_ms / 4, "status": "ok", "kind": "llm",
                        "attempt": 2, "retry_of": call_id})
    records.append({"type": "span", "trace_id": trace, "span_id": root_id, "name": "request", "start": rfc3339(start), "duration_ms": latency_ms,
                    "status": "ok"})
    if eval_passed is not None:
        records.append({"type": "eval", "trace_id": trace, "time": rfc3339(end), "name": "correctness", "passed": eval_passed,
                        "query": f"question {trace}"})
    return records


def lines(records: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def append(path: Path, text: str) -> None:
    """Append as a writer does: one write, flushed."""
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, text.encode("utf-8"))
    finally:
        os.close(descriptor)

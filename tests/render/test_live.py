"""The watch's view, its one-line form and an alert's text, on a status made from real records."""

from __future__ import annotations

import io
from pathlib import Path

from livelog import append, lines, request
from rich.console import Console

from llmobs.analysis.alerts import AlertsConfig, rule_specs
from llmobs.live.notify import Notifier
from llmobs.live.watcher import Watcher, WatchSettings
from llmobs.pricing import Pricer
from llmobs.render.live import live_line, render_live

NOW = 1_800_000_000.0


def status(tmp_path: Path):  # type: ignore[no-untyped-def]
    log = tmp_path / "t.jsonl"
    log.write_text("")
    at = [NOW]
    rules = rule_specs(AlertsConfig.model_validate({"for": 0, "p95_ms": 1000, "failed_eval_rate": 0.5, "error_types": {"\x1b[31mBad": 0.5}}))
    watch = Watcher(WatchSettings(targets=[str(log)], window=60.0), rules, Pricer(), None, Notifier(), clock=lambda: at[0])
    append(log, lines(request("a", 500, end=NOW - 1)) + lines(request("b", 3000, end=NOW - 1, error="Timeout")))
    watch.poll()
    at[0] += 3
    watch.poll()
    return watch.evaluate()


def test_the_view_shows_the_window_beside_since_the_start_and_each_rule(tmp_path: Path) -> None:
    shown, alerts = status(tmp_path)
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(render_live(shown))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "last 1 min" in text and "since start" in text
    row = next(line for line in text.splitlines() if "p50 / p95 / p99" in line)
    assert row.count("1,750 ms / 2,875 ms / 2,975 ms") == 2  # type-7 of 500 and 3000, the same in both columns
    assert "Timeout ×1" in text
    rules = {line.split()[1]: line for line in text.splitlines() if line.strip().startswith(("│ p95_ms", "│ failed_eval_rate", "│ error_types"))}
    assert "firing" in rules["p95_ms"] and "2,875 ms" in rules["p95_ms"] and "≤ 1,000 ms" in rules["p95_ms"]
    assert "no data" in rules["failed_eval_rate"] and "no evals in the window" in rules["failed_eval_rate"]
    assert "\x1b" not in text and "\\x1b[31mBad" in text  # a hostile name stays text
    assert [a.text for a in alerts] == ["[FIRING] llmobs p95_ms: 2,875 ms, over its ceiling of 1,000 ms (2 requests in the last 1 min)"]


def test_the_line_form_names_what_fires(tmp_path: Path) -> None:
    """Two requests in the 3 s watched so far: 40 a minute."""
    shown, _ = status(tmp_path)
    assert live_line(shown) == (f"{shown.at} last 1 min: 2 requests (40.0/min), p95 2,875 ms, errors 25.0%, cost $0.0000540; "
                                "since start 2 requests, cost $0.0000540; firing: p95_ms")

"""The watch's counting against `llmobs report` on the same records: however the lines arrive (cut
anywhere, a trace's records across many looks, rotated on the way), the since-start figures are
the report's; the window holds what ended within it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from livelog import append, lines, request

from llmobs.analysis.report import build_report
from llmobs.live.notify import Notifier
from llmobs.live.watcher import Watcher, WatchSettings
from llmobs.pricing import Pricer
from llmobs.read import load
from llmobs.read.cache import Cache

NOW = 1_800_000_000.0


class Clock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def watcher(targets: list[str], clock: Clock, window: float = 300.0, **options: object) -> Watcher:
    return Watcher(WatchSettings(targets=targets, window=window, **options), [], Pricer(), None, Notifier(), clock=clock)  # type: ignore[arg-type]


def same_figures(watched, reported) -> None:  # type: ignore[no-untyped-def]
    assert watched.requests.count == reported.requests.count
    assert watched.requests.latency_ms == reported.requests.latency_ms
    assert watched.errors.rate == reported.errors.rate
    assert watched.errors.top == reported.errors.top
    assert watched.retries == reported.retries
    assert watched.tokens.totals == reported.tokens.totals
    assert watched.cost.total_usd is not None and reported.cost.total_usd is not None
    assert abs(watched.cost.total_usd - reported.cost.total_usd) <= 1e-12 * max(1.0, reported.cost.total_usd)
    assert watched.quality.evaluated == reported.quality.evaluated
    assert watched.quality.failed == reported.quality.failed
    assert [(s.name, s.count, s.p95_ms, s.error_rate) for s in watched.steps] == [(s.name, s.count, s.p95_ms, s.error_rate) for s in reported.steps]


requests = st.lists(st.tuples(st.floats(1, 60_000), st.sampled_from([None, "RateLimitError", "Timeout"]), st.booleans(), st.sampled_from([None, True, False])),
                    min_size=1, max_size=25)


@settings(max_examples=40)
@given(requests, st.lists(st.integers(1, 10_000), max_size=12), st.integers(0, 3))
def test_since_start_equals_the_report_however_the_lines_arrive(tmp_path_factory, made, cuts, rotate_after) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("watched")
    log = folder / "t.jsonl"
    log.write_text("")
    clock = Clock(NOW)
    watch = watcher([str(folder)], clock)
    text = "".join(lines(request(f"t{i}", latency, end=NOW - 10 + i * 0.01, error=error, retried=retried, eval_passed=passed))
                   for i, (latency, error, retried, passed) in enumerate(made))
    pieces, at = [], 0
    for cut in [*sorted({c % (len(text) + 1) for c in cuts}), len(text)]:
        pieces.append(text[at:cut])
        at = cut
    everything = []
    for index, piece in enumerate(pieces):
        if index == rotate_after and log.stat().st_size and log.read_bytes().endswith(b"\n"):  # a writer rotates between lines
            rotated = folder / f"t.{index}.jsonl"
            os.rename(log, rotated)
            everything.append(rotated)
            log.write_text("")
        append(log, piece)
        clock.at += 0.5
        watch.poll()
    everything.append(log)
    clock.at += 1000
    watch.poll()
    status = watch.stop()
    data = load([str(p) for p in everything])
    reported = build_report(data.columns, data.stats, Pricer())
    same_figures(status.total, reported)
    assert status.total.input.bad_lines == 0
    assert status.total.input.lines == text.count("\n")


def test_a_trace_waits_for_its_root_and_counts_in_the_window_of_its_end(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text("")
    clock = Clock(NOW)
    watch = watcher([str(log)], clock, window=60.0)
    records = request("a", 2000, end=NOW)
    append(log, lines(records[:-1]))  # everything but the root
    clock.at += 5
    watch.poll()
    assert watch.pending.traces == 1 and watch.windows.total.rows == 0
    append(log, lines(records[-1:]))
    watch.poll()
    clock.at += 1.9
    watch.poll()
    assert watch.pending.traces == 1  # not quiet for `settle` yet
    clock.at += 0.2
    watch.poll()
    status, _ = watch.evaluate()
    assert watch.pending.traces == 0
    assert status.window.requests.count == 1 and status.window.requests.latency_ms.p95 == 2000
    clock.at = NOW + 61  # the request ended 61 s ago: out of the 60 s window, still since the start
    status, _ = watch.evaluate()
    assert status.window.requests.count == 0 and status.window.no_data == "no records in the window"
    assert status.total.requests.count == 1


@pytest.mark.parametrize("through_cache", [False, True])
def test_from_the_start_old_records_count_since_the_start_and_in_no_window(tmp_path: Path, through_cache: bool) -> None:
    log = tmp_path / "t.jsonl"
    newest = request("new", 300, end=NOW - 5)
    log.write_text(lines(request("old", 100, end=NOW - 3600)) + lines(newest[:-1]))  # the newest request's root not written yet
    cache = Cache(tmp_path / "cache") if through_cache else None
    for run in range(2 if through_cache else 1):
        clock = Clock(NOW)
        watch = Watcher(WatchSettings(targets=[str(log)], from_start=True), [], Pricer(), None, Notifier(), cache=cache, clock=clock)
        watch.poll()
        if run == 0:
            append(log, lines(newest[-1:]))
        clock.at += 1
        watch.poll()
        clock.at += 3
        watch.poll()
        status, _ = watch.evaluate()
        assert (status.total.requests.count, status.window.requests.count) == (2, 1)
        assert status.window.requests.latency_ms.p50 == 300
        assert status.total.steps[0].count == 2 and status.total.requests.incomplete == 0
        assert status.total.input.lines == 6
        watch.stop()
    if cache is not None:
        cache.wait()
        assert len(cache.folders()) == 1  # what was there was read through the cache, and kept in it


def test_a_trace_whose_root_never_comes_counts_after_max_wait(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text("")
    clock = Clock(NOW)
    watch = watcher([str(log)], clock, max_wait=30.0)
    append(log, lines(request("a", 500, end=NOW)[:-1]))
    watch.poll()
    clock.at += 29
    watch.poll()
    assert watch.pending.traces == 1
    clock.at += 2
    watch.poll()
    assert watch.pending.traces == 0 and watch.windows.total.spans == 1 and watch.windows.total.roots == 0


def test_bad_lines_are_counted_with_their_file_and_line(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text("")
    clock = Clock(NOW)
    watch = watcher([str(log)], clock)
    append(log, lines(request("a", 500, end=NOW)))
    watch.poll()
    append(log, lines(request("b", 500, end=NOW)) + "{not json\n")
    watch.poll()
    assert watch.stats.bad_lines == 1
    assert watch.stats.bad_line_samples == [f"{log}:7: not valid JSON"]


def test_a_killed_watch_restarted_loses_nothing_and_counts_nothing_twice(tmp_path: Path) -> None:
    log = tmp_path / "t.jsonl"
    log.write_text("")
    state = tmp_path / "state.json"
    clock = Clock(NOW)
    first = Watcher(WatchSettings(targets=[str(log)]), [], Pricer(), None, Notifier(), state_file=state, clock=clock)
    append(log, lines(request("a", 100, end=NOW)))
    first.poll()
    clock.at += 3
    first.poll()  # a: whole, counted
    b = request("b", 100, end=clock.at)
    append(log, lines(b[:-1]))  # b: waiting for its root
    clock.at += 1
    first.poll()
    first.save()  # and then the watch is killed: no stop
    assert (first.windows.total.roots, first.pending.traces) == (1, 1)
    append(log, lines(b[-1:]))
    second = Watcher(WatchSettings(targets=[str(log)]), [], Pricer(), None, Notifier(), state_file=state, clock=clock)
    second.poll()
    clock.at += 3
    second.poll()
    status = second.stop()
    assert status.total.requests.count == 1 and status.total.steps[0].count == 1  # b, whole; a not again

"""Self time against a brute-force computation, over nested traces with parallel children."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmobs.analysis.selftime import self_times
from llmobs.analysis.slowest import slowest
from llmobs.analysis.steps import analyze_steps
from llmobs.read.columns import ColumnBuilder
from llmobs.read.settle import settle
from llmobs.records import Span

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def _span(trace: str, span_id: str, parent: str | None, name: str, start_ms: int, duration: float) -> Span:
    return Span(type="span", trace_id=trace, span_id=span_id, parent_id=parent, name=name,
                start=T0 + timedelta(milliseconds=start_ms), duration_ms=duration, status="ok")


@st.composite
def traces(draw) -> list[Span]:
    """Traces of up to 8 spans, each child anywhere (inside, overlapping or outside its parent, in
    parallel with its siblings), some parents missing from the data."""
    spans = []
    for t in range(draw(st.integers(1, 4))):
        ids = [f"{t}-{i}" for i in range(draw(st.integers(1, 8)))]
        for i, span_id in enumerate(ids):
            parent = None if i == 0 else draw(st.sampled_from([*ids[:i], "missing"]))
            spans.append(_span(f"t{t}", span_id, parent, draw(st.sampled_from(["agent", "llm", "tool"])),
                               draw(st.integers(0, 200)), float(draw(st.integers(0, 200)))))
    return draw(st.permutations(spans))


def brute_force(spans: list[Span]) -> list[float]:
    def window(s: Span) -> tuple[float, float]:
        start = (s.start - T0).total_seconds() * 1000
        return start, start + s.duration_ms

    out = []
    for s in spans:
        low, high = window(s)
        covered = np.zeros(int(high - low) + 1, dtype=bool)  # 1 ms cells: the data is in whole ms
        for c in spans:
            if c.trace_id == s.trace_id and c.parent_id == s.span_id:
                a, b = window(c)
                covered[int(max(a, low) - low): int(max(min(b, high), low) - low)] = True
        out.append(s.duration_ms - float(covered[: int(high - low)].sum()))
    return out


def _columns(spans: list[Span]):
    builder = ColumnBuilder()
    for s in spans:
        builder.add(s)
    return settle(builder.finish())[0]


@settings(max_examples=300, deadline=None)
@given(traces())
def test_self_time_matches_a_brute_force_union(spans):
    assert self_times(_columns(spans)) == pytest.approx(brute_force(spans))


@settings(max_examples=100, deadline=None)
@given(traces())
def test_step_self_figures_and_shares(spans):
    columns = _columns(spans)
    expected = brute_force(spans)
    steps = {s.name: s for s in analyze_steps(columns)}
    for name, step in steps.items():
        mine = [e for s, e in zip(spans, expected, strict=True) if s.name == name and s.parent_id is not None]
        assert step.self_total_ms == pytest.approx(sum(mine))
        assert step.self_p95_ms == pytest.approx(float(np.percentile(mine, 95)))
    assert sum(s.self_share or 0 for s in steps.values()) <= 1 + 1e-9  # shares of self time never add past 100 %


def test_parallel_children_counted_once_and_wrappers_lose_their_lead():
    spans = [_span("t", "root", None, "request", 0, 100), _span("t", "w", "root", "workflow", 0, 100),
             _span("t", "a", "w", "llm", 0, 60), _span("t", "b", "w", "tool", 30, 60), _span("t", "c", "w", "tool", 95, 20)]
    columns = _columns(spans)
    assert list(self_times(columns)) == [0.0, 5.0, 60.0, 60.0, 20.0]  # a and b cover 0-90 once, c 95-100 inside the workflow
    ranked = slowest(columns, top=5, min_count=1)
    assert [s.name for s in ranked.steps][:1] == ["workflow"]  # by p95 of total time the wrapper looks slowest
    by_self = slowest(columns, top=5, min_count=1, rank_by="self_p95_ms")
    assert [s.name for s in by_self.steps] == ["llm", "tool", "workflow"] and by_self.ranked_by == "self_p95_ms"  # 60, 58, 5 ms


def test_steps_with_too_few_spans_are_listed_apart():
    spans = [_span(f"t{i}", "r", None, "request", 0, 100) for i in range(6)]
    spans += [_span(f"t{i}", "a", "r", "search", 0, 10 + i) for i in range(6)]
    spans += [_span("t0", "b", "r", "rare_export", 0, 90)]
    result = slowest(_columns(spans), top=5)
    assert [s.name for s in result.steps] == ["search"] and [s.name for s in result.few] == ["rare_export"]
    assert result.min_count == 5


def test_a_parent_longer_than_71_minutes_takes_the_two_key_path():
    hours = 2 * 3_600_000  # 2 h in ms: its offsets do not fit beside the row in one integer
    spans = [_span("t", "r", None, "request", 0, hours), _span("t", "a", "r", "llm", 1_000, 3_000_000), _span("t", "b", "r", "tool", 2_000_000, 2_000_000),
             _span("u", "r", None, "request", 0, 100), _span("u", "c", "r", "tool", 10, 20)]
    assert self_times(_columns(spans)) == pytest.approx(brute_force(spans))

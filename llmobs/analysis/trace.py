"""`llmobs trace`: one request as a tree, with tokens and cost per span.

It streams the inputs again keeping only lines that mention the id, so looking at one request of a
large log costs one fast scan and no columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from llmobs.analysis.results import TraceSpanView, TraceView
from llmobs.errors import InputError
from llmobs.pricing import Pricer
from llmobs.read import InputStats, iter_records
from llmobs.read.settle import TOKEN_COLUMNS, count_rollups_once, counted_once
from llmobs.read.sources import expand
from llmobs.records import Eval, Span, Usage

MIN_PREFIX = 8  # a shorter prefix of a trace id is too likely to match another id's middle


def _records_mentioning(paths: Sequence[str], needle: str, strict: bool) -> list[Span | Usage | Eval]:
    sources, _ = expand(list(paths))
    stats = InputStats()
    records = list(iter_records(sources, stats, mentioning=needle.encode()))
    if strict and stats.first_bad is not None:
        raise InputError(f"{stats.first_bad} (--strict)")
    return records


def build_trace_view(paths: Sequence[str], wanted: str, pricer: Pricer, *, strict: bool = False) -> TraceView:
    """The trace whose id, unique id prefix (as tables shorten ids) or root `request.id` is `wanted`;
    InputError when there is none or the prefix is ambiguous. With `strict`, a bad line is fatal
    (only lines mentioning `wanted` are decoded)."""
    records = _records_mentioning(paths, wanted, strict)
    trace_ids = {r.trace_id for r in records if r.trace_id == wanted}
    if not trace_ids and len(wanted) >= MIN_PREFIX:
        trace_ids = {r.trace_id for r in records if r.trace_id.startswith(wanted)}
        if len(trace_ids) > 1:
            shown = ", ".join(sorted(trace_ids)[:3])
            raise InputError(f"{len(trace_ids):,} traces start with {wanted!r} ({shown}…): give more of the id")
        if trace_ids:
            wanted = next(iter(trace_ids))
            records = [r for r in records if r.trace_id == wanted]
    if not trace_ids:
        roots = [r for r in records if isinstance(r, Span) and r.parent_id is None and (r.attrs or {}).get("request.id") == wanted]
        if not roots:
            short = (f"; a prefix of a trace id needs {MIN_PREFIX} characters or more ({len(wanted)} given)"
                     if len(wanted) < MIN_PREFIX and all(c in "0123456789abcdef" for c in wanted.lower()) else "")
            raise InputError(f"no trace with id or request.id {wanted!r} in the input{short}")
        trace_id = roots[0].trace_id
        records = [r for r in _records_mentioning(paths, trace_id, strict) if r.trace_id == trace_id]
    else:
        trace_id = wanted
        records = [r for r in records if r.trace_id == trace_id]
    spans, usage, evals, columns = counted_once(records)  # the same records the report counts
    spans = sorted(spans, key=lambda s: (s.start, s.span_id))
    reported = {name: getattr(columns.usage, name).copy() for name in TOKEN_COLUMNS}
    count_rollups_once(columns)
    rolled_up = np.zeros(len(usage), dtype=bool)
    for name, before in reported.items():
        rolled_up |= getattr(columns.usage, name) != before

    costs = pricer.price(columns).cost_usd if usage else np.empty(0)
    tokens: dict[str | None, list[int | None]] = {}
    cost_by_span: dict[str | None, float] = {}
    rollups: set[str | None] = set()
    for row, (u, cost) in enumerate(zip(usage, costs, strict=True)):
        entry = tokens.setdefault(u.span_id, [None, None])
        for slot, value in enumerate((int(columns.usage.input_tokens[row]), int(columns.usage.output_tokens[row]))):
            if value >= 0:
                entry[slot] = (entry[slot] or 0) + value
        if rolled_up[row]:
            rollups.add(u.span_id)
        if not np.isnan(cost):
            cost_by_span[u.span_id] = cost_by_span.get(u.span_id, 0.0) + float(cost)

    ids = {s.span_id for s in spans}
    children: dict[str | None, list[Span]] = {}
    orphans = 0
    for s in spans:
        parent = s.parent_id if s.parent_id in ids else None
        if s.parent_id is not None and parent is None:
            orphans += 1
        children.setdefault(parent, []).append(s)
    origin: datetime | None = spans[0].start if spans else None
    views: list[TraceSpanView] = []
    visited: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        for s in children.get(parent, []):
            if s.span_id in visited:
                continue
            visited.add(s.span_id)
            in_out = tokens.get(s.span_id, [None, None])
            views.append(
                TraceSpanView(
                    span_id=s.span_id,
                    parent_id=s.parent_id,
                    name=s.name,
                    kind=s.kind,
                    start=s.start.isoformat(),
                    offset_ms=(s.start - origin).total_seconds() * 1000 if origin else 0.0,
                    duration_ms=s.duration_ms,
                    status=s.status,
                    error=f"{s.error.type}: {s.error.message or ''}".rstrip(": ") if s.error else None,
                    attempt=s.attempt,
                    input_tokens=in_out[0],
                    output_tokens=in_out[1],
                    cost_usd=cost_by_span.get(s.span_id),
                    rollup=s.span_id in rollups,
                    depth=depth,
                )
            )
            walk(s.span_id, depth + 1)

    walk(None, 0)
    for s in spans:  # spans in a parent cycle are reachable from no root: show them, never drop them
        if s.span_id not in visited:
            orphans += 1
            children[f"cycle:{s.span_id}"] = [s]
            walk(f"cycle:{s.span_id}", 0)
    root = next((s for s in spans if s.parent_id is None), None)
    known_costs = [c for c in costs if not np.isnan(c)]
    return TraceView(
        trace_id=trace_id,
        request_id=str((root.attrs or {}).get("request.id")) if root and (root.attrs or {}).get("request.id") else None,
        spans=views,
        orphans=orphans,
        total_cost_usd=float(sum(known_costs)) if known_costs else None,
        evals=[f"eval {e.name}: {'passed' if e.passed else 'failed' if e.passed is False else 'no verdict'}" + (f" (score {e.score})" if e.score is not None else "") for e in evals],
    )

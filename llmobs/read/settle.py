"""Settled once on the merged columns, before any analysis runs, so every analysis and every output
form agrees: records read more than once count once, usage that parent spans roll up from their
children counts once, and each trace gets the weight its sampling probability gives it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np

from llmobs.read.columns import ColumnBuilder, Columns, EvalColumns, SpanColumns, UsageColumns
from llmobs.read.native import repeated_rows

TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens")
MAX_DEPTH = 10_000  # a parent chain longer than this is a cycle


def settle(columns: Columns) -> tuple[Columns, int, int]:
    """(columns, duplicates dropped, spans whose rolled-up usage was reduced to their own part)."""
    columns, duplicates = drop_duplicates(columns)
    rollups = count_rollups_once(columns)
    columns.trace_weight = trace_weights(columns)
    return columns, duplicates, rollups


def take_rows(columns: Columns, spans: np.ndarray | None = None, usage: np.ndarray | None = None, evals: np.ndarray | None = None) -> Columns:
    """The columns keeping only the rows selected by each boolean mask (None keeps them all)."""
    s, u, e = columns.spans, columns.usage, columns.evals
    if spans is not None:
        s = SpanColumns(**{k: v[spans] for k, v in vars(s).items() if k != "group"}, group={k: v[spans] for k, v in s.group.items()})
    if usage is not None:
        u = UsageColumns(**{k: v[usage] for k, v in vars(u).items()})
    if evals is not None:
        e = EvalColumns(**{k: v[evals] for k, v in vars(e).items() if k != "query"}, query=[q for q, kept in zip(e.query, evals, strict=True) if kept])
    return replace(columns, spans=s, usage=u, evals=e)


def _later_copies(rows: np.ndarray, keys: Iterable[tuple[object, ...]], size: int) -> np.ndarray:
    """A mask of `size` rows, False at every row (of `rows`, in order) whose full key was seen before."""
    keep = np.ones(size, dtype=bool)
    seen: set[tuple[object, ...]] = set()
    for row, key in zip(rows.tolist(), keys, strict=True):
        if key in seen:
            keep[row] = False
        else:
            seen.add(key)
    return keep


def _one_copy_of_each_span(columns: Columns, rows: np.ndarray) -> np.ndarray:
    """A mask keeping one span of each (trace, span id) among `rows`: of copies that differ, the one
    that ran longest (a span re-sent once it ended carries its whole duration), then an error over
    an ok, then by its other fields, so the choice never depends on the order lines were read."""
    s = columns.spans
    best: dict[tuple[int, int], tuple[tuple[object, ...], int]] = {}
    for row in rows.tolist():
        rank = (-float(s.duration_ms[row]), not s.is_error[row], int(s.start_us[row]), columns.names.lookup(int(s.name[row])),
                columns.kinds.lookup(int(s.kind[row])) or "", columns.error_types.lookup(int(s.error_type[row])) or "", int(s.attempt[row]),
                int(s.retry_of[row]), int(s.parent[row]), columns.models.lookup(int(s.model[row])) or "", float(s.sample_rate[row]),
                tuple(columns.attr_values.lookup(int(values[row])) or "" for values in s.group.values()), row)
        key = (int(s.trace[row]), int(s.span_id[row]))
        if key not in best or rank < best[key][0]:
            best[key] = (rank, row)
    keep = np.ones(len(s.trace), dtype=bool)
    keep[rows] = False
    keep[[row for _, row in best.values()]] = True
    return keep


def _value(x: float) -> float | None:
    return None if x != x else x  # NaN equals nothing, not even itself; as a key it must equal NaN


def drop_duplicates(columns: Columns) -> tuple[Columns, int]:
    """A span read more than once (same trace and span id) counts once, as does a usage or eval
    record identical to another."""
    span_keep, usage_keep, eval_keep = duplicate_masks(columns)
    dropped = sum(int((~keep).sum()) for keep in (span_keep, usage_keep, eval_keep) if keep is not None)
    if not dropped:
        return columns, 0
    return take_rows(columns, span_keep, usage_keep, eval_keep), dropped


Mask = np.ndarray | None


def duplicate_masks(columns: Columns) -> tuple[Mask, Mask, Mask]:
    """Masks of the span, usage and eval rows to keep (None: keep all) so each is counted once."""
    s, u, e = columns.spans, columns.usage, columns.evals
    rows = repeated_rows(s.trace, s.span_id)
    span_keep = _one_copy_of_each_span(columns, rows) if len(rows) else None

    rows = repeated_rows(u.trace, u.time_us)
    usage_keep = None
    if len(rows):
        usage_keys = zip(*(getattr(u, name)[rows].tolist() for name in ("trace", "time_us", "span", "provider", "model", *TOKEN_COLUMNS, "span_scope", "sample_rate")),
                         map(_value, u.cost_usd[rows].tolist()), strict=True)
        usage_keep = _later_copies(rows, usage_keys, len(u.trace))

    rows = repeated_rows(e.trace, e.time_us)
    eval_keep = None
    if len(rows):
        eval_keys = zip(e.trace[rows].tolist(), e.time_us[rows].tolist(), e.name[rows].tolist(), e.passed[rows].tolist(),
                        map(_value, e.score[rows].tolist()), (e.query[i] for i in rows.tolist()), strict=True)
        eval_keep = _later_copies(rows, eval_keys, len(e.trace))
    return span_keep, usage_keep, eval_keep


def counted_once(records: Iterable[Any]) -> tuple[list[Any], list[Any], list[Any], Columns]:
    """Whole records (spans, usage, evals) with the copies the report sets aside left out, by the
    same rule (`duplicate_masks`): the kept spans, usage and evals, and their columns."""
    from llmobs.records import Eval, Span, Usage

    records = list(records)
    spans = [r for r in records if isinstance(r, Span)]
    usage = [r for r in records if isinstance(r, Usage)]
    evals = [r for r in records if isinstance(r, Eval)]
    builder = ColumnBuilder()
    for record in (*spans, *usage, *evals):  # rows in this order, so the masks index these lists
        builder.add(record)
    columns = builder.finish()
    span_keep, usage_keep, eval_keep = duplicate_masks(columns)

    def kept(found: list[Any], keep: np.ndarray | None) -> list[Any]:
        return found if keep is None else [r for r, k in zip(found, keep, strict=True) if k]

    return kept(spans, span_keep), kept(usage, usage_keep), kept(evals, eval_keep), take_rows(columns, span_keep, usage_keep, eval_keep)


def count_rollups_once(columns: Columns) -> int:
    """Usage a span reports for itself and its descendants (`scope: span`) counts only for what
    exceeds the total of its nearest descendants that carry usage, per token type, so each token
    counts once, at the deepest span reporting it. Replaces the usage token and cost columns with
    reduced copies; returns how many spans were reduced."""
    u, s = columns.usage, columns.spans
    rolled = u.span_scope & (u.span != 0)
    if not rolled.any():
        return 0
    traces = np.unique(u.trace[rolled])
    in_traces = np.isin(s.trace, traces)
    parent_of = dict(zip(zip(s.trace[in_traces].tolist(), s.span_id[in_traces].tolist(), strict=True), s.parent[in_traces].tolist(), strict=True))
    usage_rows = np.flatnonzero(np.isin(u.trace, traces) & (u.span != 0))
    carriers: dict[tuple[int, int], list[int]] = {}
    for row, trace, span in zip(usage_rows.tolist(), u.trace[usage_rows].tolist(), u.span[usage_rows].tolist(), strict=True):
        carriers.setdefault((trace, span), []).append(row)

    tokens = np.stack([np.maximum(getattr(u, name), 0) for name in TOKEN_COLUMNS], axis=1)  # missing counts as none below a parent
    below: dict[tuple[int, int], list[int]] = {}  # carrier -> rows of its nearest carrying descendants
    for key, rows in carriers.items():
        trace, span = key
        ancestor = parent_of.get(key, 0)
        for _ in range(MAX_DEPTH):
            if ancestor == 0 or (trace, ancestor) in carriers:
                break
            ancestor = parent_of.get((trace, ancestor), 0)
        if ancestor != 0 and (trace, ancestor) in carriers and (trace, ancestor) != key:
            below.setdefault((trace, ancestor), []).extend(rows)

    reduced = 0
    updates: list[tuple[int, np.ndarray, float]] = []
    for key, child_rows in below.items():
        own = [row for row in carriers[key] if u.span_scope[row]]
        if not own:
            continue
        children = tokens[child_rows].sum(axis=0)
        reported = tokens[own].sum(axis=0)
        excess = np.maximum(reported - children, 0)
        child_costs = u.cost_usd[child_rows]
        parent_cost = float(np.nansum(u.cost_usd[own])) if not np.isnan(u.cost_usd[own]).all() else float("nan")
        if parent_cost != parent_cost:
            cost = float("nan")  # priced later, from the excess tokens
        elif not np.isnan(child_costs).any():
            cost = max(parent_cost - float(child_costs.sum()), 0.0)
        else:
            cost = 0.0 if not excess.any() else float("nan")  # cannot be split exactly: price the excess instead
        updates.append((own[0], excess, cost))
        for row in own[1:]:
            updates.append((row, np.zeros(len(TOKEN_COLUMNS), dtype=np.int64), 0.0 if cost == cost else float("nan")))
        reduced += bool((excess != reported).any())
    if updates:  # new arrays, not writes into the read ones: those may be a cache's mapped file, or being written to one
        for name in (*TOKEN_COLUMNS, "cost_usd"):
            setattr(u, name, getattr(u, name).copy())
    for row, values, cost in updates:
        for name, value in zip(TOKEN_COLUMNS, values.tolist(), strict=True):
            column = getattr(u, name)
            if column[row] >= 0:  # a token count the parent did not report stays not reported
                column[row] = value
        u.cost_usd[row] = cost
    return reduced


def trace_weights(columns: Columns) -> np.ndarray | None:
    """Per trace, 1 / the probability it was kept with (Horvitz–Thompson): the smallest probability
    any of its spans or usage records states. None when nothing was sampled."""
    s, u = columns.spans, columns.usage
    if (s.sample_rate == 1).all() and (u.sample_rate == 1).all():
        return None
    rates = np.ones(len(columns.trace_ids), dtype=np.float64)
    np.minimum.at(rates, s.trace, s.sample_rate)
    np.minimum.at(rates, u.trace, u.sample_rate)
    return 1.0 / rates

"""Columns built apart (by the native decoder, from the models' records, from several sources)
joined into one `Columns`, string codes unified."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from llmobs.read.columns import NONE_CODE, STRING_TABLES, ColumnBuilder, Columns, EvalColumns, SpanColumns, UsageColumns


def _remap(codes: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """Translate codes through `mapping`, keeping -1 as -1."""
    return np.append(mapping, NONE_CODE).astype(np.int32)[codes]


def merge_columns(parts: list[Columns]) -> Columns:
    """One `Columns` from several built independently, codes unified.

    Consumes `parts` (the list is emptied) and keeps no other reference to them, so each part's
    arrays are freed as they are joined."""
    if len(parts) == 1:
        return parts.pop()
    builder = ColumnBuilder(tuple(parts[0].spans.group))
    for name in (*STRING_TABLES, "root_input", "root_request_id"):  # the first part's grow into the merged ones: its codes stay as they are
        setattr(builder, name, getattr(parts[0], name))
    _add_part(builder, parts.pop(0), first=True)
    while parts:
        _add_part(builder, parts.pop(0), first=False)
    return builder.finish()


def _add_part(builder: ColumnBuilder, part: Columns, *, first: bool) -> None:
    """Queue one part's columns in `builder`, its codes translated into the builder's tables (the
    first part's tables and root texts are the builder's: its codes are kept as they are, not copied)."""
    maps = {} if first else {name: getattr(builder, name).code_all(getattr(part, name).values) for name in STRING_TABLES}

    def translated(codes: np.ndarray, table: str) -> np.ndarray:
        return codes if first else _remap(codes, maps[table])

    s, u, e = part.spans, part.usage, part.evals
    span_chunk = {f.name: getattr(s, f.name) for f in fields(SpanColumns) if f.name != "group"}
    for column, table in (("trace", "trace_ids"), ("name", "names"), ("kind", "kinds"), ("error_type", "error_types"), ("model", "models")):
        span_chunk[column] = translated(span_chunk[column], table)
    for name, values in s.group.items():
        span_chunk["group:" + name] = translated(values, "attr_values")
    builder.span_chunks.append(span_chunk)
    usage_chunk = {f.name: getattr(u, f.name) for f in fields(UsageColumns)}
    for column, table in (("trace", "trace_ids"), ("provider", "providers"), ("model", "models")):
        usage_chunk[column] = translated(usage_chunk[column], table)
    builder.usage_chunks.append(usage_chunk)
    eval_chunk = {f.name: getattr(e, f.name) for f in fields(EvalColumns) if f.name != "query"}
    for column, table in (("trace", "trace_ids"), ("name", "eval_names")):
        eval_chunk[column] = translated(eval_chunk[column], table)
    builder.eval_chunks.append(eval_chunk)
    builder.eval_queries.extend(e.query)
    if not first:
        builder.root_input.extend(part.root_input, maps["trace_ids"])
        builder.root_request_id.extend(part.root_request_id, maps["trace_ids"])

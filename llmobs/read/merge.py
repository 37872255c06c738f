"""Columns built apart (by the native decoder, from the models' records, from several sources)
joined into one `Columns`, string codes unified; and one `Columns` cut into parts by trace (for a
cluster, which gives every trace's records to one task)."""

from __future__ import annotations

import zlib
from dataclasses import fields, replace

import numpy as np

from llmobs.read.columns import NONE_CODE, STRING_TABLES, ColumnBuilder, Columns, EvalColumns, SpanColumns, Strings, TraceTexts, UsageColumns


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


def split_by_trace(columns: Columns, count: int) -> list[Columns]:
    """`columns` cut into `count` parts by trace, every record of a trace in the same part: the
    part is the CRC-32 of the trace id modulo `count`, the same in every process (so parts of
    different inputs with the same number join trace for trace). Each part's string tables hold only
    its own values."""
    from llmobs.read.settle import take_rows

    part_of_trace = np.array([zlib.crc32(trace.encode("utf-8", "surrogatepass")) % count for trace in columns.trace_ids.values], dtype=np.int64)
    parts = []
    for part in range(count):
        keep = part_of_trace == part
        parts.append(compact(take_rows(columns, keep[columns.spans.trace], keep[columns.usage.trace], keep[columns.evals.trace])))
    return parts


def compact(columns: Columns) -> Columns:
    """`columns` with string tables (and root texts, trace weights) holding only the values its
    rows use, codes renumbered in the order of the old ones."""
    s, u, e = columns.spans, columns.usage, columns.evals
    uses = {
        "trace_ids": (s.trace, u.trace, e.trace), "names": (s.name,), "kinds": (s.kind,), "error_types": (s.error_type,),
        "models": (s.model, u.model), "providers": (u.provider,), "eval_names": (e.name,), "attr_values": tuple(s.group.values()),
    }
    maps: dict[str, np.ndarray] = {}
    tables: dict[str, Strings] = {}
    kept_codes: dict[str, np.ndarray] = {}
    for name, arrays in uses.items():
        table = getattr(columns, name)
        used = np.unique(np.concatenate([np.asarray(a, dtype=np.int64) for a in arrays])) if arrays else np.empty(0, dtype=np.int64)
        used = used[used >= 0]
        mapping = np.full(len(table), NONE_CODE, dtype=np.int32)
        mapping[used] = np.arange(len(used), dtype=np.int32)
        values = table.values
        maps[name], tables[name], kept_codes[name] = mapping, Strings.of([values[code] for code in used.tolist()]), used

    def remap(codes: np.ndarray, table: str) -> np.ndarray:
        return _remap(codes, maps[table]) if len(codes) else codes

    spans = replace(s, trace=remap(s.trace, "trace_ids"), name=remap(s.name, "names"), kind=remap(s.kind, "kinds"),
                    error_type=remap(s.error_type, "error_types"), model=remap(s.model, "models"),
                    group={name: remap(values, "attr_values") for name, values in s.group.items()})
    usage = replace(u, trace=remap(u.trace, "trace_ids"), provider=remap(u.provider, "providers"), model=remap(u.model, "models"))
    evals = replace(e, trace=remap(e.trace, "trace_ids"), name=remap(e.name, "eval_names"))
    texts = {name: _kept_texts(getattr(columns, name), maps["trace_ids"]) for name in ("root_input", "root_request_id")}
    weights = None if columns.trace_weight is None else columns.trace_weight[kept_codes["trace_ids"]]
    return Columns(spans=spans, usage=usage, evals=evals, **tables, **texts, trace_weight=weights)  # type: ignore[arg-type]


def _kept_texts(texts: TraceTexts, trace_map: np.ndarray) -> TraceTexts:
    """The texts of the traces `trace_map` keeps (maps to a code), under their new codes."""
    state = texts.__getstate__()
    codes, offsets, buffer = state["codes"], state["offsets"], state["buffer"]
    new_codes = trace_map[codes] if len(codes) else np.empty(0, dtype=np.int32)
    kept = new_codes >= 0
    lengths = np.diff(offsets)
    out = TraceTexts()
    out.add_encoded(new_codes[kept].astype(np.int32), lengths[kept], np.frombuffer(buffer, dtype=np.uint8)[np.repeat(kept, lengths)].tobytes())
    return out

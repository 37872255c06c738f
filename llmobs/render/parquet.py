"""The loaded columns as Parquet files, for DuckDB, polars and Spark to take over: `spans.parquet`,
`usage.parquet` and `evals.parquet`, one row per record as the analyses count them (duplicates
once; `weight` is the trace's sampling weight). Strings are dictionary-encoded, missing values are
nulls, times are UTC microsecond timestamps. Needs pyarrow (`pip install 'llmobs[parquet]'`).

Ids: `trace_id` is the id as logged; `span_id64`, `parent_id64` and `retry_of64` are the 64-bit
integers the analyses join on (a W3C span id's own value, read as signed; a stable hash of any
other id), so spans, parents and usage join exactly as llmobs joins them.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from llmobs.errors import ConfigError
from llmobs.read.columns import MISSING_TOKENS, NONE_CODE, Columns, Strings

FILES = ("spans", "usage", "evals")


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ConfigError("--parquet needs pyarrow: pip install 'llmobs[parquet]'") from None
    return pyarrow


def _strings(pa: Any, codes: np.ndarray, table: Strings) -> Any:
    """Codes into `table` as a dictionary array; -1 is null."""
    values = pa.array(table.values, type=pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(codes, type=pa.int32(), mask=codes == NONE_CODE), values)


def _micros(pa: Any, values: np.ndarray) -> Any:
    return pa.array(values.astype("datetime64[us]"), type=pa.timestamp("us", tz="UTC"))


def _nullable(pa: Any, values: np.ndarray, missing: np.ndarray) -> Any:
    return pa.array(values, mask=missing)


def tables(columns: Columns) -> dict[str, Any]:
    """The three Arrow tables of `columns`."""
    pa = _pyarrow()
    s, u, e = columns.spans, columns.usage, columns.evals
    span_weight = columns.span_weights()
    usage_weight = columns.usage_weights()
    spans = {
        "trace_id": _strings(pa, s.trace, columns.trace_ids),
        "span_id64": pa.array(s.span_id),
        "parent_id64": _nullable(pa, s.parent, s.is_root),
        "name": _strings(pa, s.name, columns.names),
        "kind": _strings(pa, s.kind, columns.kinds),
        "start": _micros(pa, s.start_us),
        "duration_ms": pa.array(s.duration_ms),
        "status": pa.array(np.where(s.is_error, "error", "ok")),
        "error_type": _strings(pa, s.error_type, columns.error_types),
        "attempt": pa.array(s.attempt),
        "retry_of64": _nullable(pa, s.retry_of, s.retry_of == 0),
        "model": _strings(pa, s.model, columns.models),
        "sample_rate": pa.array(s.sample_rate),
        "weight": pa.array(np.ones(len(s.trace)) if span_weight is None else span_weight),
        **{f"attr.{name}": _strings(pa, values, columns.attr_values) for name, values in s.group.items()},
    }
    usage = {
        "trace_id": _strings(pa, u.trace, columns.trace_ids),
        "span_id64": _nullable(pa, u.span, u.span == 0),
        "time": _micros(pa, u.time_us),
        "provider": _strings(pa, u.provider, columns.providers),
        "model": _strings(pa, u.model, columns.models),
        **{name: _nullable(pa, getattr(u, name), getattr(u, name) == MISSING_TOKENS)
           for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens")},
        "cost_usd": _nullable(pa, u.cost_usd, np.isnan(u.cost_usd)),
        "scope": pa.array(np.where(u.span_scope, "span", "call")),
        "sample_rate": pa.array(u.sample_rate),
        "weight": pa.array(np.ones(len(u.trace)) if usage_weight is None else usage_weight),
    }
    evals = {
        "trace_id": _strings(pa, e.trace, columns.trace_ids),
        "time": _micros(pa, e.time_us),
        "name": _strings(pa, e.name, columns.eval_names),
        "passed": pa.array(e.passed == 1, mask=e.passed < 0),
        "score": _nullable(pa, e.score, np.isnan(e.score)),
        "query": pa.array(e.query, type=pa.string()),  # kept for failed evals only
    }
    return {name: pa.table(table) for name, table in zip(FILES, (spans, usage, evals), strict=True)}


def write_parquet(columns: Columns, folder: str) -> dict[str, int]:
    """Write `spans.parquet`, `usage.parquet` and `evals.parquet` into `folder` (made if missing),
    each under a temporary name renamed into place when whole; the rows written per file."""
    pa = _pyarrow()
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--parquet {folder}: cannot make the folder ({exc.strerror or exc})") from None
    rows = {}
    for name, table in tables(columns).items():
        final = target / f"{name}.parquet"
        temporary = target / f".{name}.parquet.{uuid.uuid4().hex}"
        try:
            pa.parquet.write_table(table, temporary)
            os.replace(temporary, final)
        except OSError as exc:
            raise ConfigError(f"--parquet {folder}: cannot write {final.name} ({exc.strerror or exc})") from None
        finally:
            temporary.unlink(missing_ok=True)
        rows[name] = table.num_rows
    return rows

"""One cache segment: the columns read from a stretch of one log file, and the accounting of that
stretch, in one file that is memory-mapped back (`read.cache` keeps them).

Layout: 8 magic bytes, the header's CRC-32 and length, the header (JSON: each array's dtype, offset
and length, the CRC-32 of the data, and the segment's own facts), then the arrays, each aligned to
64 bytes. Everything is checked before a segment is used, its data's CRC-32 included (ISA-L: 0.1 s
per GB), so a damaged or foreign file is refused with a reason instead of giving a wrong answer.
Arrays come back as read-only views of the mapping: nothing copies them, and nothing can write
through them.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import orjson
from isal import isal_zlib

from llmobs.read.columns import (
    EVAL_DTYPES,
    SPAN_DTYPES,
    STRING_TABLES,
    USAGE_DTYPES,
    Columns,
    EvalColumns,
    SpanColumns,
    Strings,
    TraceTexts,
    UsageColumns,
)
from llmobs.read.stats import BadLine, InputStats

MAGIC = b"LLMOBS\x01S"
_PREAMBLE = struct.Struct("<8sIQ")  # magic, header CRC-32, header length
ALIGN = 64
# Map every page at once (Linux): faulting 4 KiB pages in one by one as numpy reads them cost 7× as
# much, measured on 250 MB of columns (benchmarks/cache_vs_duckdb.py).
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)


class DamagedSegment(Exception):
    """A segment file that is not one this version wrote whole; the message says what is wrong."""


@dataclass
class Segment:
    """What a segment holds: the columns of a stretch of a file, and how reading it went."""

    columns: Columns
    stats: InputStats  # its lines, records and bad lines; a single file's samples name no file (the reader names it), a batch's do


@dataclass(frozen=True)
class Frozen:
    """What a segment will hold, taken from its columns at once: the string tables and texts are
    copied (the run goes on adding to them as it joins other files' columns), the arrays, which
    nothing changes, are not. Packing and writing it can then go on in another thread."""

    arrays: dict[str, np.ndarray]
    tables: dict[str, list[str]]
    texts: dict[str, dict[str, Any]]
    queries: list[str | None]
    group_attrs: list[str]
    stats: dict[str, Any]


def freeze(segment: Segment) -> Frozen:
    """`segment` as it is now, for `write_segment` to write later (on another thread)."""
    columns = segment.columns
    arrays: dict[str, np.ndarray] = {}
    for prefix, table, excluded in (("span.", columns.spans, {"group"}), ("usage.", columns.usage, set()), ("eval.", columns.evals, {"query"})):
        for item in fields(table):
            if item.name not in excluded:
                arrays[prefix + item.name] = getattr(table, item.name)
    for name, values in columns.spans.group.items():
        arrays["group." + name] = values
    return Frozen(
        arrays=arrays,
        tables={name: list(getattr(columns, name).values) for name in STRING_TABLES},
        texts={name: getattr(columns, name).__getstate__() for name in ("root_input", "root_request_id")},
        queries=list(columns.evals.query),
        group_attrs=list(columns.spans.group),
        stats=_stats_state(segment.stats),
    )


def write_segment(path: str, frozen: Frozen) -> None:
    """Write a frozen segment to `path` (a new file; the caller renames it into place)."""
    arrays = _arrays_of(frozen)
    entries: list[list[Any]] = []
    offset = 0
    for name, values in arrays.items():
        offset = -(-offset // ALIGN) * ALIGN
        entries.append([name, values.dtype.str, offset, len(values)])
        offset += values.nbytes
    data_size = offset
    crc = 0
    position = 0
    for (_, _, start, _), values in zip(entries, arrays.values(), strict=True):
        crc = isal_zlib.crc32(bytes(start - position), crc)
        crc = isal_zlib.crc32(memoryview(np.ascontiguousarray(values)).cast("B"), crc)
        position = start + values.nbytes
    header = orjson.dumps({
        "arrays": entries,
        "data_size": data_size,
        "data_crc": crc,
        "group_attrs": frozen.group_attrs,
        "stats": frozen.stats,
    })
    data_start = -(-(_PREAMBLE.size + len(header)) // ALIGN) * ALIGN
    with open(path, "wb") as out:
        out.write(_PREAMBLE.pack(MAGIC, isal_zlib.crc32(header), len(header)))
        out.write(header)
        out.write(bytes(data_start - _PREAMBLE.size - len(header)))
        position = 0
        for (_, _, start, _), values in zip(entries, arrays.values(), strict=True):
            out.write(bytes(start - position))
            out.write(memoryview(np.ascontiguousarray(values)).cast("B"))
            position = start + values.nbytes


def read_segment(path: str, group_attrs: tuple[str, ...]) -> Segment:
    """The segment at `path`, its arrays views of the file mapped into memory. DamagedSegment when
    the file is not whole, not one of ours, or was written for other `group_attrs`; OSError when it
    cannot be opened (a concurrent run may have just replaced it)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < _PREAMBLE.size:
            raise DamagedSegment(f"{size} bytes, shorter than a segment's preamble")
        view = mmap.mmap(handle.fileno(), 0, flags=mmap.MAP_SHARED | _POPULATE, prot=mmap.PROT_READ)
    try:
        return _segment_in(view, size, group_attrs)
    except (KeyError, IndexError, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise DamagedSegment(f"its contents do not make columns ({type(exc).__name__}: {exc})") from None


def segment_stats(path: str) -> InputStats:
    """The accounting a segment holds, read from its header alone (its data is not checked)."""
    with open(path, "rb") as handle:
        preamble = handle.read(_PREAMBLE.size)
        if len(preamble) != _PREAMBLE.size:
            raise DamagedSegment("shorter than a segment's preamble")
        magic, header_crc, header_length = _PREAMBLE.unpack(preamble)
        header_bytes = handle.read(header_length)
    if magic != MAGIC or len(header_bytes) != header_length or isal_zlib.crc32(header_bytes) != header_crc:
        raise DamagedSegment("not a whole llmobs cache segment")
    try:
        return _stats_from(orjson.loads(header_bytes)["stats"])
    except (KeyError, ValueError, TypeError) as exc:
        raise DamagedSegment(f"its header does not hold its accounting ({exc})") from None


def _segment_in(view: mmap.mmap, size: int, group_attrs: tuple[str, ...]) -> Segment:
    magic, header_crc, header_length = _PREAMBLE.unpack_from(view, 0)
    if magic != MAGIC:
        raise DamagedSegment("not an llmobs cache segment (wrong magic bytes)")
    header_bytes = view[_PREAMBLE.size : _PREAMBLE.size + header_length]
    if len(header_bytes) != header_length or isal_zlib.crc32(header_bytes) != header_crc:
        raise DamagedSegment("its header is cut short or altered (CRC-32 mismatch)")
    header = orjson.loads(header_bytes)
    data_start = -(-(_PREAMBLE.size + header_length) // ALIGN) * ALIGN
    if any(view[_PREAMBLE.size + header_length : data_start]):
        raise DamagedSegment("the padding after its header was altered")
    if size != data_start + header["data_size"]:
        raise DamagedSegment(f"{size} bytes where its header promises {data_start + header['data_size']}")
    if isal_zlib.crc32(memoryview(view)[data_start:]) != header["data_crc"]:
        raise DamagedSegment("its data was altered (CRC-32 mismatch)")
    if tuple(header["group_attrs"]) != group_attrs:
        raise DamagedSegment(f"written for group attributes {header['group_attrs']}, not {list(group_attrs)}")
    arrays = {name: np.frombuffer(view, dtype=np.dtype(dtype), count=count, offset=data_start + offset) for name, dtype, offset, count in header["arrays"]}
    return Segment(columns=_columns_of(arrays, group_attrs), stats=_stats_from(header["stats"]))


def _pack_texts(values: list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Texts (None allowed) as (UTF-8 byte lengths, -1 for None; the texts joined, as uint8)."""
    encoded = [None if value is None else value.encode("utf-8", "surrogatepass") for value in values]
    lengths = np.array([-1 if raw is None else len(raw) for raw in encoded], dtype=np.int64)
    return lengths, np.frombuffer(b"".join(raw for raw in encoded if raw is not None), dtype=np.uint8)


def _unpack_texts(lengths: np.ndarray, buffer: np.ndarray) -> list[str | None]:
    """The texts `_pack_texts` packed. ASCII (ids, names) is decoded once and sliced: byte offsets
    are then character offsets."""
    if int(lengths[lengths > 0].sum()) != len(buffer):
        raise ValueError("text lengths do not add up to the text buffer")
    raw = buffer.tobytes()
    ends = np.cumsum(np.maximum(lengths, 0)).tolist()
    starts = [0, *ends[:-1]] if ends else []
    if not raw.isascii():
        return [None if length < 0 else raw[start:end].decode("utf-8", "surrogatepass") for start, end, length in zip(starts, ends, lengths.tolist(), strict=True)]
    text = raw.decode("ascii")
    if len(lengths) and int(lengths.min()) == int(lengths.max()) > 0:  # ids of one length
        step = int(lengths[0])
        return [text[start : start + step] for start in range(0, len(text), step)]
    return [None if length < 0 else text[start:end] for start, end, length in zip(starts, ends, lengths.tolist(), strict=True)]


def _arrays_of(frozen: Frozen) -> dict[str, np.ndarray]:
    """Every array and text of a frozen segment under a name of its own."""
    arrays = dict(frozen.arrays)
    arrays["eval_query.lengths"], arrays["eval_query.text"] = _pack_texts(frozen.queries)
    for name, values in frozen.tables.items():
        arrays[f"table.{name}.lengths"], arrays[f"table.{name}.text"] = _pack_texts(values)  # type: ignore[arg-type]
    for name, state in frozen.texts.items():
        arrays[f"{name}.codes"], arrays[f"{name}.offsets"] = state["codes"], state["offsets"]
        arrays[f"{name}.text"] = np.frombuffer(state["buffer"], dtype=np.uint8)
    return arrays


def _columns_of(arrays: dict[str, np.ndarray], group_attrs: tuple[str, ...]) -> Columns:
    """`Columns` over the arrays `_arrays_of` named, after checking each has the dtype and length
    the analyses expect."""

    def table(prefix: str, dtypes: dict[str, Any]) -> dict[str, np.ndarray]:
        out = {name: arrays[prefix + name] for name in dtypes}
        for name, values in out.items():
            if values.dtype != np.dtype(dtypes[name]) or len(values) != len(out["trace"]):
                raise ValueError(f"column {prefix}{name} is {len(values)} × {values.dtype}")
        return out

    spans = table("span.", SPAN_DTYPES)
    group = {name: arrays["group." + name] for name in group_attrs}
    if any(values.dtype != np.int32 or len(values) != len(spans["trace"]) for values in group.values()):
        raise ValueError("a group column does not match the spans")
    evals = table("eval.", EVAL_DTYPES)
    queries = _unpack_texts(arrays["eval_query.lengths"], arrays["eval_query.text"])
    if len(queries) != len(evals["trace"]):
        raise ValueError("eval queries do not match the evals")
    tables = {name: Strings.of(_unpack_texts(arrays[f"table.{name}.lengths"], arrays[f"table.{name}.text"])) for name in STRING_TABLES}
    texts = {}
    for name in ("root_input", "root_request_id"):
        texts[name] = TraceTexts()
        offsets = arrays[f"{name}.offsets"]
        if len(offsets) != len(arrays[f"{name}.codes"]) + 1 or int(offsets[-1]) != len(arrays[f"{name}.text"]):
            raise ValueError(f"{name} offsets do not match its texts")
        texts[name].__setstate__({"codes": arrays[f"{name}.codes"], "offsets": offsets, "buffer": arrays[f"{name}.text"].tobytes()})
    columns = Columns(
        spans=SpanColumns(**spans, group=group),
        usage=UsageColumns(**table("usage.", USAGE_DTYPES)),
        evals=EvalColumns(**evals, query=queries),
        **tables,
        **texts,
    )
    _check_codes(columns)
    return columns


def _check_codes(columns: Columns) -> None:
    """Every string code points into its table (-1 allowed where a value may be missing)."""
    checks = [
        (columns.spans.trace, "trace_ids", 0), (columns.spans.name, "names", 0), (columns.spans.kind, "kinds", -1),
        (columns.spans.error_type, "error_types", -1), (columns.spans.model, "models", -1),
        (columns.usage.trace, "trace_ids", 0), (columns.usage.provider, "providers", -1), (columns.usage.model, "models", -1),
        (columns.evals.trace, "trace_ids", 0), (columns.evals.name, "eval_names", 0),
        (columns.root_input._codes, "trace_ids", 0), (columns.root_request_id._codes, "trace_ids", 0),
        *((values, "attr_values", -1) for values in columns.spans.group.values()),
    ]
    for codes, table, lowest in checks:
        if len(codes) and (int(codes.min()) < lowest or int(codes.max()) >= len(getattr(columns, table))):
            raise ValueError(f"codes outside the {table} table")


def _stats_state(stats: InputStats) -> dict[str, Any]:
    return {
        "lines": stats.lines, "records": stats.records, "bad_lines": stats.bad_lines, "skipped_unknown": stats.skipped_unknown,
        "spans": stats.spans, "usage": stats.usage, "evals": stats.evals, "duplicates": stats.duplicates,
        "bad_samples": [[bad.source, bad.line, bad.reason] for bad in stats.bad_samples],
        "unknown_types": stats.unknown_types, "newer_versions": sorted(stats.newer_versions),
        "unused_usage_attrs": sorted(stats.unused_usage_attrs), "notes": stats.notes, "note_count": stats.note_count,
        "agent_lines": stats.agent_lines,
    }


def _stats_from(state: dict[str, Any]) -> InputStats:
    counts = {name: int(state[name]) for name in ("lines", "records", "bad_lines", "skipped_unknown", "spans", "usage", "evals", "duplicates", "note_count")}
    return InputStats(
        **counts,
        bad_samples=[BadLine(str(source), int(line), str(reason)) for source, line, reason in state["bad_samples"]],
        unknown_types={str(kind): int(count) for kind, count in state["unknown_types"].items()},
        newer_versions={int(version) for version in state["newer_versions"]},
        unused_usage_attrs={str(name) for name in state["unused_usage_attrs"]},
        notes=[str(note) for note in state["notes"]],
        agent_lines={str(name): {str(agent): int(count) for agent, count in counts.items()} for name, counts in state["agent_lines"].items()},
    )

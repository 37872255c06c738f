"""The models' verdict: one line (or one whole document) of input to validated records, or the
reason it holds none.

The pydantic models in `llmobs.records` decide; this module only explains their verdict in the
words of FORMAT.md (bad line, unknown type) without echoing the line's content, and counts it.
The native decoder sends here every line it is unsure of.
"""

from __future__ import annotations

import json
import re
from typing import Any, BinaryIO, Union

from pydantic import ValidationError

from llmobs.agents import Converted, agent_line_type
from llmobs.read.sources import STREAM_ERRORS, is_otlp
from llmobs.read.stats import InputStats
from llmobs.records import FORMAT_VERSION, RECORD_ADAPTER, Eval, Span, Usage

AnyRecord = Union[Span, Usage, Eval]


class UnknownType:
    """A valid JSON object whose `type` is a string this reader does not know: skipped, counted."""

    __slots__ = ("type",)

    def __init__(self, type_: str) -> None:
        self.type = type_


def decode_line(line: bytes) -> AnyRecord | UnknownType | str:
    """The record on `line`, an UnknownType, or a short reason why the line is bad."""
    try:
        return RECORD_ADAPTER.validate_json(line)
    except ValidationError as exc:
        return _explain(line, exc)


def _explain(line: bytes, exc: ValidationError) -> UnknownType | str:
    errors = exc.errors(include_input=False, include_url=False)
    first = errors[0]
    kind = first["type"]
    if kind == "json_invalid":
        return "not valid JSON" + ("" if line.strip() else " (empty line)")
    if kind in ("dict_type", "model_type"):
        return "not a JSON object"
    if kind == "union_tag_not_found":
        return "missing field 'type'"
    if kind == "union_tag_invalid":
        found = json.loads(line).get("type")
        if isinstance(found, str):
            return UnknownType(found)
        return "field 'type' must be a string"
    parts = []
    for error in errors[:3]:
        loc = ".".join(str(p) for p in error["loc"][1:]) or "record"
        parts.append(f"{loc}: {error['msg']}")
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    version = _version_of(line)
    newer = f"a version {version} record, written by a newer llmobs than this one (upgrade llmobs to read it); as version 1 it is " if version else ""
    return f"{newer}invalid {first['loc'][0]} record: " + "; ".join(parts) + more


def _version_of(line: bytes) -> int | None:
    """The format version a rejected line claims, when it is newer than the one this reader knows."""
    try:
        version = json.loads(line).get("v")
    except (ValueError, AttributeError):
        return None
    return version if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION else None


def decode_otlp(text: bytes, unused_usage_attrs: set[str] | None = None, notes: list[str] | None = None) -> tuple[list[AnyRecord], str | None, int]:
    """The records of one OTLP/JSON document, a reason when some or all of it was rejected, and the
    line of the document where the first rejected span is written (1 when none, or not found);
    usage-like attributes no mapping reads are named in `unused_usage_attrs`.

    Each converted record is validated by the models; a span that fails is left out and counted in
    the reason, with its JSON path, so one bad span does not cost the rest of the document.
    """
    from llmobs.otlp.decode import OtlpError, records_from_otlp, span_line

    try:
        document = json.loads(text)
        candidates, rejected = records_from_otlp(document, unused_usage_attrs, notes)
    except (ValueError, OtlpError, AttributeError, TypeError) as exc:
        return [], f"not valid OTLP/JSON: {exc}", 1
    records: list[AnyRecord] = []
    total = len(candidates) + len(rejected)
    for candidate in candidates:
        try:
            records.append(RECORD_ADAPTER.validate_python(candidate, strict=False))
        except ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            rejected.append(f"span {candidate.get('span_id')}: {'.'.join(str(p) for p in first['loc'][1:])}: {first['msg']}")
    if not rejected:
        return records, None, 1
    found = re.search(r"span ([^\s):]+)", rejected[0])
    line = (span_line(text, found.group(1)) if found else None) or 1
    return records, f"OTLP document: {len(rejected)} of {total} spans or records rejected (first: {rejected[0]})", line


def decode_document(text: bytes) -> AnyRecord | UnknownType | str:
    """A multi-line JSON document that is not OTLP: one record pretty-printed, or a reason naming
    what the document is instead (one message, not one per line)."""
    result = decode_line(text)
    if not isinstance(result, str):
        return result
    try:
        document = json.loads(text)
    except ValueError:
        return result
    from llmobs.otlp.decode import describe

    return f"{describe(document)}: neither llmobs records (one JSON object per line) nor OTLP/JSON trace data (resourceSpans)"


def judge_line(line: bytes, name: str, line_no: int, stats: InputStats, *, torn: bool, document: bool = False) -> list[AnyRecord]:
    """The models' verdict on one line (or one whole OTLP/JSON document): its valid records, with
    bad lines, unknown types and newer format versions accounted in `stats` (records are not)."""
    if is_otlp(line):
        notes: list[str] = []
        records, problem, at = decode_otlp(line, stats.unused_usage_attrs, notes)
        if problem is not None:
            stats.bad_line(name, line_no + at - 1, problem)
        for note in notes:
            stats.note(f"{name}:{line_no}: {note}")
    else:
        result = decode_document(line) if document else decode_line(line)
        if isinstance(result, str):
            stats.bad_line(name, line_no, f"torn last line (no newline): {result}" if torn else result)
            return []
        if isinstance(result, UnknownType):
            stats.skipped_unknown += 1
            stats.unknown_types[result.type] = stats.unknown_types.get(result.type, 0) + 1
            agent = agent_line_type(json.loads(line))
            if agent is not None:
                stats.agent_line(name, agent)
            return []
        records = [result]
    for record in records:
        if record.v != 1:
            stats.newer_versions.add(record.v)
    return records


def agent_records(agent: str, files: list[tuple[str, bytes]], stats: InputStats) -> list[AnyRecord]:
    """The records of coding agents' session logs `files` (name, bytes) of one `agent`, judged by
    the models, with their lines, bad lines, skipped line types and notes accounted in `stats`
    (records are not)."""
    from llmobs.agents import convert

    candidates, accounts = convert(agent, files)
    account_session_logs([name for name, _ in files], accounts, stats)
    return [record for candidate in candidates if (record := judge_converted(agent, candidate, [name for name, _ in files], stats)) is not None]


def account_session_logs(names: list[str], accounts: list[Converted], stats: InputStats) -> None:
    """Each session log's lines, bad lines, skipped line types, notes and copies, in `stats`."""
    for name, account in zip(names, accounts, strict=True):
        stats.lines += account.lines
        for number, reason in account.bad:
            stats.bad_line(name, number, reason)
        for kind, count in account.skipped.items():
            stats.skipped_unknown += count
            stats.unknown_types[kind] = stats.unknown_types.get(kind, 0) + count
        for note in account.notes:
            stats.note(f"{name}: {note}")
        stats.duplicates += account.copies


def judge_converted(agent: str, candidate: dict[str, Any], names: list[str], stats: InputStats) -> AnyRecord | None:
    """A converted record as the models read it; None, named as a bad line, for a value the log
    holds that the format cannot (never dropped silently)."""
    try:
        return RECORD_ADAPTER.validate_python(candidate, strict=False)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = names[0] if len(names) == 1 else f"{agent} session logs"
        stats.bad_line(where, 0, f"{agent} {candidate.get('type')} of trace {candidate.get('trace_id')}: {'.'.join(map(str, first['loc'][1:]))}: {first['msg']}")
        return None


def read_whole(name: str, stream: BinaryIO, stats: InputStats) -> bytes | None:
    """All of `stream`'s bytes; None, counted as one bad line, when it breaks part way (a part of a
    document is not a document)."""
    try:
        return stream.read()
    except STREAM_ERRORS as exc:
        stats.bad_line(name, 1, f"stream broken, the document cannot be read whole ({exc})")
        stats.lines += 1
        return None


def lines_not_a_document(text: bytes) -> bool:
    """Whether what began like a multi-line document is lines after all: a later line is a JSON
    object on its own (a broken first line, then records) and the whole is not one JSON value, so
    each line is judged, none lost with the first. The lines are looked at first: the whole is
    parsed only when one of them is an object."""
    for line in text.split(b"\n")[1:]:
        if line.strip()[:1] == b"{":
            try:
                if isinstance(json.loads(line), dict):
                    break
            except ValueError:
                continue
    else:
        return False
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def whole_source_records(name: str, stream: BinaryIO, agent: str | None, stats: InputStats) -> tuple[list[AnyRecord], int]:
    """The records of a source read whole, and its bytes read: a coding agent's session log
    (`agent`), or else one multi-line JSON document, as line 1. A stream that breaks part way is
    one bad line (a part of a document is not a document). Lines, bad lines and unknown types are
    accounted in `stats` (records are not)."""
    document = read_whole(name, stream, stats)
    if document is None:
        return [], 0
    if agent is not None:
        return agent_records(agent, [(name, document)], stats), len(document)
    stats.lines += 1
    return judge_line(document, name, 1, stats, torn=False, document=True), len(document)

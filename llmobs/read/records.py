"""Every record as a validated model, for the commands that need whole records rather than
columns (`export`, `trace`): the models judge each line, with the same accounting as `load`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from llmobs.agents import detect as detect_agent
from llmobs.errors import InputError
from llmobs.read.judge import AnyRecord, judge_line, whole_source_records
from llmobs.read.sources import STREAM_ERRORS, Source, expand, head, is_multiline_document, is_otlp, open_binary, session_log_of
from llmobs.read.stats import InputStats, broken_stream
from llmobs.read.stream import session_logs_records


def iter_records(sources: list[Source], stats: InputStats, mentioning: bytes | None = None) -> Iterator[AnyRecord]:
    """Every record of the sources as a validated model, accounting in `stats` as `load` does.

    With `mentioning`, lines that do not contain those bytes are counted but not decoded: a fast
    scan for one trace. A multi-line OTLP/JSON document is always decoded whole.
    """

    def counted(found: list[AnyRecord]) -> list[AnyRecord]:
        stats.count_records(*(sum(record.type == kind for record in found) for kind in ("span", "usage", "eval")))
        return found

    by_agent: dict[str, list[Source]] = {}
    for source in sources:
        agent = session_log_of(source)
        if agent is not None:
            by_agent.setdefault(agent, []).append(source)
    for agent, logs in by_agent.items():  # each agent's converted together, as `load` does
        found = session_logs_records(agent, logs, stats)
        yield from counted(found if mentioning is None else [r for r in found if mentioning in r.trace_id.encode()])
    session_logs = {source for logs in by_agent.values() for source in logs}
    for source in sources:
        if source in session_logs:
            continue
        stream, close = open_binary(source)  # one stream per source: stdin cannot be opened twice
        try:
            yield from _records_of_stream(source.name, stream, stats, counted, mentioning)
        finally:
            close()


def _records_of_stream(name: str, stream: BinaryIO, stats: InputStats, counted: Callable[[list[AnyRecord]], list[AnyRecord]],
                       mentioning: bytes | None) -> Iterator[AnyRecord]:
    start = head(stream)
    agent = detect_agent(start, name)
    if agent is not None or is_multiline_document(start):
        records, _ = whole_source_records(name, stream, agent, stats)
        if agent is not None and mentioning is not None:  # a document is decoded whole, as it must be
            records = [r for r in records if mentioning in r.trace_id.encode()]
        yield from counted(records)
        return
    line_no = 0
    try:
        for line in stream:
            line_no += 1
            if mentioning is None or mentioning in line or is_otlp(line):  # OTLP may write the id in base64
                yield from counted(judge_line(line.removesuffix(b"\n"), name, line_no, stats, torn=not line.endswith(b"\n")))
    except STREAM_ERRORS as exc:
        stats.bad_line(name, line_no, broken_stream(exc))
    stats.lines += line_no


def load_records(paths: Sequence[str], *, strict: bool = False) -> tuple[list[AnyRecord], InputStats]:
    """Every record as a validated model, with the same accounting as `load`: for commands that
    need whole records (export) rather than columns. Holds them all in memory."""
    sources, ignored = expand(list(paths))
    stats = InputStats(files=len(sources), ignored_files=ignored)
    records = list(iter_records(sources, stats))
    if strict and stats.first_bad is not None:
        raise InputError(f"{stats.first_bad} (--strict)")
    return records, stats

"""Reading one source that is not cut into byte ranges: a stream of lines (gzip, stdin) fed to the
native decoder as it comes, or a document read whole (an OTLP/JSON file, a coding agent's session
log) and judged by the models."""

from __future__ import annotations

import io

from llmobs.agents import CLAUDE_CODE
from llmobs.agents import detect as detect_agent
from llmobs.read.columns import Columns
from llmobs.read.decode import ProgressCallback, decode_stream, judged_columns
from llmobs.read.judge import AnyRecord, agent_records, lines_not_a_document, read_whole, whole_source_records
from llmobs.read.session_logs import claude_code_columns
from llmobs.read.sources import Source, head, is_multiline_document, open_binary, readable_whole_natively
from llmobs.read.stats import InputStats


def read_source(source: Source, group_attrs: tuple[str, ...], stats: InputStats, on_progress: ProgressCallback | None = None,
                *, strict: bool = False, threads: int = 1) -> list[Columns]:
    """The columns of one source read as a stream (gzip, stdin) or, for a multi-line JSON document
    (an OTLP/JSON file as the spec shows them) or an agent's session log, read whole as line 1."""
    stream, close = open_binary(source)
    try:
        start = head(stream)
        agent = detect_agent(start, None if source.is_stdin else source.name)
        if agent is None and not is_multiline_document(start):
            return decode_stream(source.name, stream, group_attrs, stats, on_progress, strict=strict, threads=threads, pipe=source.is_stdin)
        if agent is None:
            document = read_whole(source.name, stream, stats)
            if document is None:
                return []  # broken part way: one bad line, already counted
            if lines_not_a_document(document):
                return decode_stream(source.name, io.BytesIO(document), group_attrs, stats, on_progress, strict=strict, threads=threads)
            stream = io.BytesIO(document)
        records, read = whole_source_records(source.name, stream, agent, stats)
        if on_progress is not None:
            on_progress(source.size() or read)  # the file's bytes, compressed or not
        return judged_columns(records, group_attrs, stats)
    finally:
        close()


def session_logs_records(agent: str, sources: list[Source], stats: InputStats, on_progress: ProgressCallback | None = None) -> list[AnyRecord]:
    """The records of `agent`'s session logs `sources`, read whole and converted together."""
    files = _whole_files(sources, stats, on_progress)
    return agent_records(agent, files, stats) if files else []


def _whole_files(sources: list[Source], stats: InputStats, on_progress: ProgressCallback | None) -> list[tuple[str, bytes]]:
    """Each source's name and bytes (one that breaks part way is a bad line, and left out)."""
    files: list[tuple[str, bytes]] = []
    for source in sources:
        stream, close = open_binary(source)
        try:
            data = read_whole(source.name, stream, stats)
        finally:
            close()
        if data is not None:
            files.append((source.name, data))
        if on_progress is not None:
            on_progress(source.size() or 0)
    return files


def read_session_logs(agent: str, sources: list[Source], group_attrs: tuple[str, ...], stats: InputStats,
                      on_progress: ProgressCallback | None = None, threads: int = 1) -> list[Columns]:
    """The columns of `agent`'s session logs `sources`, converted together: Claude Code's by the
    compiled core unless it hands them back, the rest by Python."""
    if agent == CLAUDE_CODE and sources and all(readable_whole_natively(source) for source in sources):
        columns = claude_code_columns([(source.name, source.name) for source in sources], group_attrs, stats, threads)
        if columns is not None:
            if on_progress is not None:
                on_progress(sum(source.size() or 0 for source in sources))
            return columns
    files = _whole_files(sources, stats, on_progress)
    if not files:
        return []
    if agent == CLAUDE_CODE:
        columns = claude_code_columns(list(files), group_attrs, stats, threads)
        if columns is not None:
            return columns
    return judged_columns(agent_records(agent, files, stats), group_attrs, stats)

"""Reading one source that is not cut into byte ranges: a stream of lines (gzip, stdin) fed to the
native decoder as it comes, or a document read whole (an OTLP/JSON file, a coding agent's session
log) and judged by the models."""

from __future__ import annotations

from llmobs.agents import detect as detect_agent
from llmobs.read.columns import Columns
from llmobs.read.decode import ProgressCallback, decode_stream, judged_columns
from llmobs.read.judge import AnyRecord, agent_records, read_whole, whole_source_records
from llmobs.read.sources import Source, head, is_multiline_document, open_binary
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
        records, read = whole_source_records(source.name, stream, agent, stats)
        if on_progress is not None:
            on_progress(source.size() or read)  # the file's bytes, compressed or not
        return judged_columns(records, group_attrs, stats)
    finally:
        close()


def session_logs_records(agent: str, sources: list[Source], stats: InputStats, on_progress: ProgressCallback | None = None) -> list[AnyRecord]:
    """The records of `agent`'s session logs `sources`, read whole and converted together."""
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
    return agent_records(agent, files, stats) if files else []


def read_session_logs(agent: str, sources: list[Source], group_attrs: tuple[str, ...], stats: InputStats,
                      on_progress: ProgressCallback | None = None) -> list[Columns]:
    """The columns of `agent`'s session logs `sources`, converted together."""
    return judged_columns(session_logs_records(agent, sources, stats, on_progress), group_attrs, stats)

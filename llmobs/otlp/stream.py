"""Export without holding the whole log: records are grouped by trace in a bounded window and each
trace is encoded (`encode.otlp_spans`) when it leaves the window.

The logger writes a trace's spans and usage together, so a window of a few thousand traces sees each
trace whole. Evals often come later, even from another file, so when the inputs can be read twice a
first pass collects every eval and each trace takes its own when it is encoded. A record whose
trace has no span left to carry it is counted, never dropped silently. A record read more than once
is exported once, as the report counts it: copies within a trace by the report's own rule, and a
span, usage or eval record met again after its trace left the window by a 64-bit hash of it kept
for the rest of the export (16 bytes or so a record).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from llmobs.errors import InputError
from llmobs.otlp.encode import otlp_spans, split_records
from llmobs.read import InputStats, iter_records
from llmobs.read.settle import counted_once
from llmobs.read.sources import Source
from llmobs.records import Eval, Span, Usage

WINDOW_TRACES = 2000


class TraceWindow:
    """Records in, OTLP spans out, a trace at a time."""

    def __init__(self, evals_by_trace: dict[str, list[Eval]] | None, window: int) -> None:
        self.evals_by_trace = evals_by_trace
        self.window = window
        self.pending: dict[str, list[Span | Usage | Eval]] = {}  # insertion order: oldest trace first
        self.homeless = 0
        self.duplicates = 0  # records read more than once, exported once
        self.written: set[int] = set()  # hashes of what was exported: a later copy is not exported again

    def add(self, record: Span | Usage | Eval) -> Iterator[dict[str, Any]]:
        if isinstance(record, Eval) and self.evals_by_trace is not None:
            return  # collected by the first pass; attached when its trace is encoded
        self.pending.setdefault(record.trace_id, []).append(record)
        while len(self.pending) > self.window:
            yield from self._encode(next(iter(self.pending)))

    def finish(self) -> Iterator[dict[str, Any]]:
        while self.pending:
            yield from self._encode(next(iter(self.pending)))
        if self.evals_by_trace:
            self.homeless += sum(len(evals) for evals in self.evals_by_trace.values())
            self.evals_by_trace.clear()

    def _encode(self, trace_id: str) -> Iterator[dict[str, Any]]:
        records = self.pending.pop(trace_id)
        if self.evals_by_trace is not None:
            records.extend(self.evals_by_trace.pop(trace_id, []))
        spans, usage, evals, _ = counted_once(records)
        fresh = [record for record in (*spans, *usage, *evals) if self._first_time(record)]
        self.duplicates += len(records) - len(fresh)
        spans, homeless = otlp_spans(*split_records(fresh))
        self.homeless += homeless
        yield from spans


    def _first_time(self, record: Span | Usage | Eval) -> bool:
        """Whether `record` was not exported before (a span by its trace and id, others whole)."""
        key = f"{record.trace_id}\0{record.span_id}" if isinstance(record, Span) else record.model_dump_json()
        digest = int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
        if digest in self.written:
            return False
        self.written.add(digest)
        return True


def otlp_span_stream(sources: list[Source], stats: InputStats, *, strict: bool = False,
                     keep_traces: set[str] | None = None) -> tuple[Iterator[dict[str, Any]], TraceWindow]:
    """OTLP spans of all the sources, and the window (whose `homeless` is final once exhausted);
    with `keep_traces`, only the records of those traces.

    With `strict`, a bad line raises InputError: before anything is produced when the inputs can be
    read twice, else (stdin) once the input is exhausted.
    """
    evals: dict[str, list[Eval]] | None = None
    if all(not source.is_stdin for source in sources):
        evals = {}
        first_pass = InputStats()
        for record in iter_records(sources, first_pass):
            if isinstance(record, Eval) and (keep_traces is None or record.trace_id in keep_traces):
                evals.setdefault(record.trace_id, []).append(record)
        if strict and first_pass.first_bad is not None:
            raise InputError(f"{first_pass.first_bad} (--strict)")
    window = TraceWindow(evals, WINDOW_TRACES)

    def spans() -> Iterator[dict[str, Any]]:
        for record in iter_records(sources, stats):
            if keep_traces is None or record.trace_id in keep_traces:
                yield from window.add(record)
        yield from window.finish()
        if strict and stats.first_bad is not None:
            raise InputError(f"{stats.first_bad} (--strict)")

    return spans(), window

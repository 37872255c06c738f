"""An OpenTelemetry `SpanExporter` that writes llmobs JSONL (extra `llmobs[otel]`).

An app already instrumented with the OTel SDK (OpenLLMetry, OpenInference, vendor SDKs) adds one
span processor and gets llmobs logs, with the same GenAI/OpenInference mapping as OTLP import:

    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from llmobs.otel import LlmobsSpanExporter
    provider.add_span_processor(BatchSpanProcessor(LlmobsSpanExporter("traces/agent.jsonl")))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

try:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("llmobs.otel needs the OpenTelemetry SDK: pip install 'llmobs[otel]'") from exc

from llmobs._config import DEFAULT_PATH
from llmobs._internal import warn_once
from llmobs.otlp.decode import OtlpError, records_from_otlp
from llmobs.otlp.encode import key_values
from llmobs.records import RECORD_ADAPTER
from llmobs.sinks import JsonlFileSink, Sink


def otlp_json_span(span: ReadableSpan) -> dict[str, Any]:
    """One SDK span in the OTLP/JSON shape (hex ids, nanosecond strings, typed attributes)."""
    context = span.get_span_context()
    out: dict[str, Any] = {
        "traceId": f"{context.trace_id:032x}",
        "spanId": f"{context.span_id:016x}",
        "name": span.name,
        "kind": span.kind.value + 1,  # the SDK counts from INTERNAL = 0, OTLP from UNSPECIFIED = 0
        "startTimeUnixNano": str(span.start_time or 0),
        "endTimeUnixNano": str(span.end_time or span.start_time or 0),
        "attributes": key_values(dict(span.attributes or {})),
        "status": {"code": span.status.status_code.value},
        "events": [
            {"name": event.name, "timeUnixNano": str(event.timestamp), "attributes": key_values(dict(event.attributes or {}))}
            for event in span.events
        ],
        "links": [
            {"traceId": f"{link.context.trace_id:032x}", "spanId": f"{link.context.span_id:016x}", "attributes": key_values(dict(link.attributes or {}))}
            for link in span.links
        ],
    }
    if span.parent is not None:
        out["parentSpanId"] = f"{span.parent.span_id:016x}"
    if span.status.description:
        out["status"]["message"] = span.status.description
    return out


class LlmobsSpanExporter(SpanExporter):
    """Writes each finished OTel span as llmobs records (a span, plus usage when it has tokens)."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, sink: Sink | None = None) -> None:
        self.sink = sink if sink is not None else JsonlFileSink(path or os.environ.get("LLMOBS_PATH") or DEFAULT_PATH)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        document = {"resourceSpans": [{"scopeSpans": [{"spans": [otlp_json_span(span) for span in spans]}]}]}
        try:
            records, problems = records_from_otlp(document)
        except OtlpError:
            return SpanExportResult.FAILURE
        if problems:
            warn_once("otel:problems", f"{len(problems)} span(s) could not be converted to llmobs records: {problems[0]}")
        for record in records:
            RECORD_ADAPTER.validate_python(record, strict=False)  # the public contract, checked
            self.sink.write(record)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        close = getattr(self.sink, "close", None)
        if close is not None:
            close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # every record is written by the time export returns

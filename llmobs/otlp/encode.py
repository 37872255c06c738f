"""llmobs records into OTLP/JSON trace documents that other tools read and that read back exactly.

Spans keep their ids, times, status and attributes. Usage goes where OpenTelemetry's GenAI
conventions put it, as `gen_ai.usage.*` attributes of the span that made the call; a second usage
record of the same span, usage without reported tokens, and evals become span events
(`llmobs.usage`, `llmobs.eval`). llmobs's own fields travel as `llmobs.*` attributes, and a retry is
also a span link to its first attempt, so `import(export(x))` gives `x` back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

from llmobs.otlp import decode as d
from llmobs.read.columns import to_micros
from llmobs.records import Eval, Span, Usage

SPAN_KIND_INTERNAL, SPAN_KIND_CLIENT = 1, 3
STATUS_UNSET, STATUS_ERROR = 0, 2
CLIENT_KINDS = {"llm", "embedding"}


def any_value(value: Any) -> dict[str, Any]:
    """An OTLP AnyValue; null becomes the empty value `{}`."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):  # the protobuf JSON mapping spells these as strings
            return {"doubleValue": "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")}
        return {"doubleValue": value}
    if isinstance(value, (list, tuple)):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    return {"stringValue": str(value)}


def key_values(attrs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "value": any_value(value)} for key, value in attrs.items()]


MAX_UNIX_NANO = 2**64 - 1  # OTLP times are fixed64 nanoseconds since the epoch


def _ns(moment_us: int) -> int:
    return moment_us * 1000


def _usage_attributes(usage: Usage) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        d.LLMOBS_USAGE_TIME: usage.time.isoformat().replace("+00:00", "Z"),
    }
    for key, value in (
        ("gen_ai.usage.cache_read.input_tokens", usage.cache_read_tokens),
        ("gen_ai.usage.cache_creation.input_tokens", usage.cache_write_tokens),
        ("gen_ai.usage.reasoning.output_tokens", usage.reasoning_tokens),
        (d.LLMOBS_CACHE_WRITE_1H, usage.cache_write_1h_tokens),
    ):
        if value:
            attrs[key] = value
    if usage.cost_usd is not None:
        attrs[d.LLMOBS_COST] = usage.cost_usd
    if usage.scope != "call":
        attrs[d.LLMOBS_USAGE_SCOPE] = usage.scope
    return attrs


def threshold_of(sample_rate: float) -> str:
    """OpenTelemetry's `th` rejection threshold for a sampling probability (hex, trailing zeros dropped)."""
    threshold = round((1 - sample_rate) * d.THRESHOLD_SCALE)
    return f"{min(threshold, d.THRESHOLD_SCALE - 1):014x}".rstrip("0") or "0"


def _fits_as_attributes(span_attrs: dict[str, Any], usage: Usage, span_sample_rate: float) -> list[str] | None:
    """The model/provider keys to add so that this usage can be the span's GenAI attributes and be
    read back unchanged, or None when it must travel as an event instead."""
    if usage.input_tokens is None and usage.output_tokens is None:
        return None  # unreported tokens cannot be attributes; an event keeps the record
    if usage.sample_rate != span_sample_rate:
        return None
    candidate = dict(span_attrs)
    added = []
    for key, value in (("gen_ai.response.model", usage.model), ("gen_ai.provider.name", usage.provider)):
        if value is not None and key not in candidate:
            candidate[key] = value
            added.append(key)
    if d._first(candidate, d.MODEL_KEYS) != usage.model or d._provider(candidate) != usage.provider:
        return None
    return added


def otlp_spans(spans: list[Span], usage: list[Usage], evals: list[Eval]) -> tuple[list[dict[str, Any]], int]:
    """OTLP span objects for the records, and how many usage/eval records had no span to go on."""
    by_id: dict[tuple[str, str], int] = {}  # first span with that id; a duplicate id is exported too
    rate_of: list[float] = []
    attrs_of: list[dict[str, Any]] = []
    first_of_trace: dict[str, int] = {}
    root_of_trace: dict[str, int] = {}
    out: list[dict[str, Any]] = []
    for index, span in enumerate(spans):
        key = (span.trace_id, span.span_id)
        attrs: dict[str, Any] = dict(span.attrs or {})
        if span.kind is not None:
            attrs[d.LLMOBS_KIND] = span.kind
        start = _ns(to_micros(span.start))
        duration_ns = span.duration_ms * 1e6
        if duration_ns < MAX_UNIX_NANO - start:
            end = start + round(duration_ns)
        else:  # past OTLP's last representable moment (year 2554): the exact duration rides in an attribute
            end = MAX_UNIX_NANO
            attrs[d.LLMOBS_DURATION] = span.duration_ms
        otlp: dict[str, Any] = {
            "traceId": span.trace_id,
            "spanId": span.span_id,
            "name": span.name,
            "kind": SPAN_KIND_CLIENT if span.kind in CLIENT_KINDS else SPAN_KIND_INTERNAL,
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(end),
            "status": {"code": STATUS_UNSET},
            "events": [],
        }
        if span.parent_id is not None:
            otlp["parentSpanId"] = span.parent_id
        if span.sample_rate < 1:
            attrs[d.LLMOBS_SAMPLE_RATE] = span.sample_rate  # exact; the tracestate threshold is for other tools
            otlp["traceState"] = f"ot=th:{threshold_of(span.sample_rate)}"
        if span.status == "error":
            error = span.error
            attrs["error.type"] = error.type if error else "unspecified"
            otlp["status"] = {"code": STATUS_ERROR}
            exception = {"exception.type": attrs["error.type"]}
            if error is not None and error.message is not None:
                otlp["status"]["message"] = error.message
                exception["exception.message"] = error.message
            otlp["events"].append({"timeUnixNano": otlp["endTimeUnixNano"], "name": "exception", "attributes": key_values(exception)})
        if span.attempt > 1:
            attrs[d.LLMOBS_ATTEMPT] = span.attempt
            attrs[d.LLMOBS_RETRY_OF] = span.retry_of
            otlp["links"] = [{"traceId": span.trace_id, "spanId": span.retry_of, "attributes": key_values({"llmobs.link": "retry_of"})}]
        by_id.setdefault(key, index)
        attrs_of.append(attrs)
        rate_of.append(span.sample_rate)
        first_of_trace.setdefault(span.trace_id, index)
        if span.parent_id is None:
            root_of_trace.setdefault(span.trace_id, index)
        out.append(otlp)

    homeless = 0
    with_usage_attrs: set[int] = set()
    for record in usage:
        target = by_id.get((record.trace_id, record.span_id)) if record.span_id is not None else None
        if target is not None and target not in with_usage_attrs:
            added = _fits_as_attributes(attrs_of[target], record, rate_of[target])
            if added is not None:
                attrs = attrs_of[target]
                attrs.update(_usage_attributes(record))
                if "gen_ai.response.model" in added:
                    attrs["gen_ai.response.model"] = record.model
                if "gen_ai.provider.name" in added:
                    attrs["gen_ai.provider.name"] = record.provider
                if added:
                    attrs[d.LLMOBS_ADDED] = added
                with_usage_attrs.add(target)
                continue
        carrier = target if target is not None else root_of_trace.get(record.trace_id, first_of_trace.get(record.trace_id))
        if carrier is None:
            homeless += 1
            continue
        event_attrs = _usage_attributes(record)
        event_attrs.update({"gen_ai.response.model": record.model, "gen_ai.provider.name": record.provider, "llmobs.span_id": record.span_id or ""})
        if record.sample_rate != rate_of[carrier]:
            event_attrs[d.LLMOBS_SAMPLE_RATE] = record.sample_rate
        out[carrier]["events"].append({"timeUnixNano": str(_ns(to_micros(record.time))), "name": d.USAGE_EVENT, "attributes": key_values(event_attrs)})
    for ev in evals:
        carrier = root_of_trace.get(ev.trace_id, first_of_trace.get(ev.trace_id))
        if carrier is None:
            homeless += 1
            continue
        event_attrs = {
            "llmobs.eval.name": ev.name, "llmobs.eval.passed": ev.passed, "llmobs.eval.score": ev.score,
            "llmobs.eval.query": ev.query, "llmobs.eval.comment": ev.comment, "llmobs.span_id": ev.span_id or "",
        }
        out[carrier]["events"].append({"timeUnixNano": str(_ns(to_micros(ev.time))), "name": d.EVAL_EVENT, "attributes": key_values(event_attrs)})
    for otlp, attrs in zip(out, attrs_of, strict=True):
        otlp["attributes"] = key_values(attrs)
        if not otlp["events"]:
            del otlp["events"]
    return out, homeless


def documents(spans: Iterable[dict[str, Any]], batch_size: int, service_name: str = "llmobs") -> Iterator[dict[str, Any]]:
    """ExportTraceServiceRequest documents of at most `batch_size` spans each (spans may stream)."""
    from llmobs import __version__

    def document(batch: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "resourceSpans": [
                {
                    "resource": {"attributes": key_values({"service.name": service_name})},
                    "scopeSpans": [{"scope": {"name": "llmobs", "version": __version__}, "spans": batch}],
                }
            ]
        }

    batch: list[dict[str, Any]] = []
    for span in spans:
        batch.append(span)
        if len(batch) == batch_size:
            yield document(batch)
            batch = []
    if batch:
        yield document(batch)


def split_records(records: Iterable[Span | Usage | Eval]) -> tuple[list[Span], list[Usage], list[Eval]]:
    spans: list[Span] = []
    usage: list[Usage] = []
    evals: list[Eval] = []
    for record in records:
        (spans if isinstance(record, Span) else usage if isinstance(record, Usage) else evals).append(record)  # type: ignore[arg-type]
    return spans, usage, evals



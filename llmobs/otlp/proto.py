"""OTLP protobuf <-> OTLP/JSON, with the `opentelemetry-proto` package (extra `llmobs[otel]`).

Protobuf's own JSON mapping writes ids as base64; OTLP/JSON writes them as hex. These functions
convert between the wire format and the OTLP/JSON that llmobs reads and writes.
"""

from __future__ import annotations

import base64
from typing import Any

from llmobs.errors import LlmobsError

ID_FIELDS = {"traceId", "spanId", "parentSpanId"}


def _request_class() -> Any:
    try:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    except ImportError:
        raise LlmobsError("OTLP protobuf needs the opentelemetry-proto package: pip install 'llmobs[otel]'") from None
    return ExportTraceServiceRequest


def _convert_ids(node: Any, convert: Any) -> Any:
    if isinstance(node, dict):
        return {key: convert(value) if key in ID_FIELDS and isinstance(value, str) else _convert_ids(value, convert) for key, value in node.items()}
    if isinstance(node, list):
        return [_convert_ids(item, convert) for item in node]
    return node


def otlp_json_from_protobuf(data: bytes) -> dict[str, Any]:
    """An ExportTraceServiceRequest in protobuf as an OTLP/JSON document (hex ids)."""
    from google.protobuf.json_format import MessageToDict

    request = _request_class()()
    request.ParseFromString(data)
    document = MessageToDict(request)
    return _convert_ids(document, lambda value: base64.b64decode(value).hex())


def protobuf_from_otlp_json(document: dict[str, Any]) -> bytes:
    """An OTLP/JSON document as protobuf bytes."""
    from google.protobuf.json_format import ParseDict

    converted = _convert_ids(document, lambda value: base64.b64encode(bytes.fromhex(value)).decode())
    return ParseDict(converted, _request_class()()).SerializeToString()

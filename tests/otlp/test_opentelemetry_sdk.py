"""OTLP produced by the OpenTelemetry SDK itself: its OTLP/HTTP exporter sends to a loopback
receiver, and llmobs reads what arrived; and the SDK writing llmobs JSONL through LlmobsSpanExporter."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import read_jsonl
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from typer.testing import CliRunner

from llmobs.cli import app
from llmobs.otel import LlmobsSpanExporter
from llmobs.otlp.proto import otlp_json_from_protobuf


def instrumented_agent(provider: TracerProvider) -> None:
    """What an OTel-instrumented agent emits: an agent span, a GenAI chat span, a failing tool."""
    tracer = provider.get_tracer("agent")
    with tracer.start_as_current_span("invoke_agent", attributes={"gen_ai.operation.name": "invoke_agent", "input.value": "refund?"}):
        with tracer.start_as_current_span("chat gpt-4o", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100,
        }):
            pass
        try:
            with tracer.start_as_current_span("lookup_order", attributes={"gen_ai.operation.name": "execute_tool"}) as span:
                raise TimeoutError("orders API")
        except TimeoutError:
            pass
        assert not span.status.is_ok


def test_sdk_otlp_http_to_loopback_then_report(receiver, tmp_path: Path):
    provider = TracerProvider(resource=Resource.create({"service.name": "agent"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=receiver.url + "/v1/traces")))
    instrumented_agent(provider)
    provider.shutdown()
    assert receiver.requests and all(path == "/v1/traces" and kind == "application/x-protobuf" for path, kind, _ in receiver.requests)
    collected = tmp_path / "collector.jsonl"
    collected.write_text("".join(json.dumps(otlp_json_from_protobuf(body)) + "\n" for _, _, body in receiver.requests))

    result = CliRunner().invoke(app, ["report", str(collected), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["input"]["bad_lines"] == 0 and doc["input"]["spans"] == 3 and doc["input"]["usage"] == 1
    assert doc["requests"]["count"] == 1
    assert {s["name"] for s in doc["steps"]} == {"chat gpt-4o", "lookup_order"}
    assert doc["errors"]["top"] == [{"type": "TimeoutError", "count": 1}]
    assert doc["tokens"]["input_per_request"] == 1000 and doc["cost"]["total_usd"] > 0


def test_span_exporter_writes_llmobs_jsonl(tmp_path: Path):
    path = tmp_path / "from_otel.jsonl"
    exporter = LlmobsSpanExporter(path)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumented_agent(provider)
    with provider.get_tracer("x").start_as_current_span("failing") as span:
        span.set_status(Status(StatusCode.ERROR, "bad answer"))
        span.set_attribute("error.type", "ValidationError")
    provider.shutdown()
    records = read_jsonl(path)  # every line validates
    spans = {r["name"]: r for r in records if r["type"] == "span"}
    root = spans["invoke_agent"]
    assert root["parent_id"] is None and root["kind"] == "agent" and root["attrs"]["input"] == "refund?"
    assert spans["chat gpt-4o"]["parent_id"] == root["span_id"] and spans["chat gpt-4o"]["kind"] == "llm"
    assert spans["lookup_order"]["status"] == "error" and spans["lookup_order"]["error"]["type"] == "TimeoutError"
    assert spans["failing"]["error"] == {"type": "ValidationError", "message": "bad answer"}
    (usage,) = [r for r in records if r["type"] == "usage"]
    assert (usage["model"], usage["provider"], usage["input_tokens"], usage["output_tokens"]) == ("gpt-4o", "openai", 1000, 100)
    assert usage["span_id"] == spans["chat gpt-4o"]["span_id"]

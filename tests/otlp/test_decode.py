"""Hand-written OTLP/JSON documents, as the spec shows them (hex ids, intValue as a string)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmobs.analysis.report import build_report
from llmobs.otlp.decode import OtlpError, records_from_otlp
from llmobs.pricing import Pricer
from llmobs.read import load, load_records

TRACE = "5b8efff798038103d269b633813fc60c"


def attr(key, **value):
    return {"key": key, "value": value}


def genai_document() -> dict:
    return {
        "resourceSpans": [{
            "resource": {"attributes": [attr("service.name", stringValue="support-bot")]},
            "scopeSpans": [{
                "scope": {"name": "openllmetry"},
                "spans": [
                    {
                        "traceId": TRACE, "spanId": "eee19b7ec3c1b174", "name": "invoke_agent support",
                        "kind": 1, "startTimeUnixNano": "1772366400000000000", "endTimeUnixNano": "1772366402500000000",
                        "attributes": [attr("gen_ai.operation.name", stringValue="invoke_agent"), attr("input.value", stringValue="Where is my order?")],
                        "status": {"code": 2, "message": "tool failed"},
                        "events": [{"timeUnixNano": "1772366402400000000", "name": "exception", "attributes": [
                            attr("exception.type", stringValue="ToolError"), attr("exception.message", stringValue="orders API down")]}],
                    },
                    {
                        "traceId": TRACE, "spanId": "eee19b7ec3c1b175", "parentSpanId": "eee19b7ec3c1b174", "name": "chat claude",
                        "kind": "SPAN_KIND_CLIENT", "startTimeUnixNano": 1772366400100000000, "endTimeUnixNano": 1772366401100000000,
                        "attributes": [
                            attr("gen_ai.operation.name", stringValue="chat"),
                            attr("gen_ai.system", stringValue="anthropic"),
                            attr("gen_ai.request.model", stringValue="claude-sonnet-4-5"),
                            attr("gen_ai.response.model", stringValue="claude-sonnet-4-5-20250929"),
                            attr("gen_ai.usage.input_tokens", intValue="1200"),
                            attr("gen_ai.usage.output_tokens", intValue=80),
                            attr("gen_ai.usage.cache_read.input_tokens", intValue="1000"),
                            attr("gen_ai.usage.cache_creation.input_tokens", intValue="100"),
                            attr("gen_ai.request.temperature", doubleValue=0.2),
                            attr("gen_ai.request.stop_sequences", arrayValue={"values": [{"stringValue": "\n\n"}]}),
                        ],
                        "status": {"code": "STATUS_CODE_OK"},
                    },
                    {
                        "traceId": TRACE, "spanId": "eee19b7ec3c1b176", "parentSpanId": "eee19b7ec3c1b174", "name": "orders_api",
                        "kind": 3, "startTimeUnixNano": "1772366401200000000", "endTimeUnixNano": "1772366402300000000",
                        "attributes": [attr("gen_ai.operation.name", stringValue="execute_tool"), attr("error.type", stringValue="ToolError")],
                        "status": {"code": 2},
                    },
                ],
            }],
        }]
    }


def openinference_document() -> dict:
    trace = "0af7651916cd43dd8448eb211c80319c"
    return {"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": trace, "spanId": "b7ad6b7169203331", "name": "agent", "startTimeUnixNano": "1772366400000000000",
         "endTimeUnixNano": "1772366400900000000", "attributes": [attr("openinference.span.kind", stringValue="AGENT"),
                                                                    attr("input.value", stringValue="summarise the ticket")]},
        {"traceId": trace, "spanId": "b7ad6b7169203332", "parentSpanId": "b7ad6b7169203331", "name": "ChatOpenAI",
         "startTimeUnixNano": "1772366400100000000", "endTimeUnixNano": "1772366400800000000",
         "attributes": [attr("openinference.span.kind", stringValue="LLM"), attr("llm.model_name", stringValue="gpt-4o-mini"),
                        attr("llm.provider", stringValue="openai"), attr("llm.token_count.prompt", intValue="300"),
                        attr("llm.token_count.completion", intValue="40"), attr("llm.token_count.prompt_details.cache_read", intValue="128")]},
        {"traceId": trace, "spanId": "b7ad6b7169203333", "parentSpanId": "b7ad6b7169203331", "name": "vector_search",
         "startTimeUnixNano": "1772366400050000000", "endTimeUnixNano": "1772366400090000000",
         "attributes": [attr("openinference.span.kind", stringValue="RETRIEVER")]},
    ]}]}]}


def test_genai_mapping():
    records, problems = records_from_otlp(genai_document())
    assert problems == []
    spans = {r["span_id"]: r for r in records if r["type"] == "span"}
    root = spans["eee19b7ec3c1b174"]
    assert root["parent_id"] is None and root["kind"] == "agent" and root["status"] == "error"
    assert root["error"] == {"type": "ToolError", "message": "tool failed"}
    assert root["start"] == "2026-03-01T12:00:00.000000Z" and root["duration_ms"] == 2500.0
    assert root["attrs"]["input"] == "Where is my order?"
    chat = spans["eee19b7ec3c1b175"]
    assert chat["kind"] == "llm" and chat["status"] == "ok" and chat["duration_ms"] == 1000.0
    assert chat["attrs"]["gen_ai.request.temperature"] == 0.2 and chat["attrs"]["gen_ai.request.stop_sequences"] == ["\n\n"]
    assert "gen_ai.usage.input_tokens" not in chat["attrs"]
    tool = spans["eee19b7ec3c1b176"]
    assert tool["kind"] == "tool" and tool["error"] == {"type": "ToolError", "message": None}
    (usage,) = [r for r in records if r["type"] == "usage"]
    assert usage["span_id"] == "eee19b7ec3c1b175" and usage["provider"] == "anthropic"
    assert usage["model"] == "claude-sonnet-4-5-20250929"  # the response model wins
    assert (usage["input_tokens"], usage["output_tokens"], usage["cache_read_tokens"], usage["cache_write_tokens"]) == (1200, 80, 1000, 100)


def test_openinference_mapping():
    records, _ = records_from_otlp(openinference_document())
    spans = {r["name"]: r for r in records if r["type"] == "span"}
    assert spans["agent"]["kind"] == "agent" and spans["agent"]["attrs"]["input"] == "summarise the ticket"
    assert spans["ChatOpenAI"]["kind"] == "llm" and spans["vector_search"]["kind"] == "retrieval"
    (usage,) = [r for r in records if r["type"] == "usage"]
    assert (usage["model"], usage["provider"], usage["input_tokens"], usage["output_tokens"], usage["cache_read_tokens"]) == ("gpt-4o-mini", "openai", 300, 40, 128)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"resourceSpans": {}}, "resourceSpans must be a list"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": ["x"]}]}]}, "a span must be an object"),
    ],
)
def test_malformed_documents(document, message):
    with pytest.raises(OtlpError, match=message):
        records_from_otlp(document)


@pytest.mark.parametrize(
    ("span", "message"),
    [
        ({"traceId": "W4jv95gDgQPSabYzgT/GD", "spanId": "eee19b7ec3c1b174"}, "neither 32 hex digits (OTLP/JSON) nor 16 bytes in base64"),
        ({"traceId": TRACE, "spanId": "eee19b7ec3c1b174", "startTimeUnixNano": "soon"}, "not a number of nanoseconds"),
        ({"traceId": TRACE, "spanId": "eee19b7ec3c1b174", "startTimeUnixNano": "1", "endTimeUnixNano": "2", "attributes": [{"value": {}}]}, "attribute without a key"),
    ],
)
def test_malformed_spans_are_reported_one_by_one(span, message):
    good = genai_document()["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    records, problems = records_from_otlp({"resourceSpans": [{"scopeSpans": [{"spans": [span, good]}]}]})
    assert len(problems) == 1 and message in problems[0]
    assert [r["type"] for r in records] == ["span", "usage"]


def test_files_of_every_shape_mix_with_jsonl(tmp_path: Path):
    (tmp_path / "pretty.json").write_text(json.dumps(genai_document(), indent=2))  # one document per file
    lines = tmp_path / "collector.jsonl"  # one document per line, as the Collector's file exporter writes
    lines.write_text(json.dumps(openinference_document()) + "\n" + json.dumps(genai_document()) + "\n")
    (tmp_path / "native.jsonl").write_text(
        json.dumps({"type": "span", "trace_id": "t1", "span_id": "s1", "name": "request", "start": "2026-03-01T12:00:00Z", "duration_ms": 10, "status": "ok"}) + "\n"
    )
    data = load([str(tmp_path)])
    assert data.stats.bad_lines == 0 and data.stats.files == 3
    report = build_report(data.columns, data.stats, Pricer())
    # the GenAI document is in two files: its spans and usage are read twice and counted once
    assert report.requests.count == 3 and report.input.usage == 3
    assert report.input.duplicates == len(records_from_otlp(genai_document())[0])
    assert {s.name for s in report.steps} == {"chat claude", "orders_api", "ChatOpenAI", "vector_search"}
    records, stats = load_records([str(tmp_path)])
    assert stats.records == data.stats.records == len(records)


def test_a_bad_span_costs_only_itself(tmp_path: Path):
    document = genai_document()
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["startTimeUnixNano"] = "99999999999999999999999"
    path = tmp_path / "one_bad.jsonl"
    path.write_text(json.dumps(document) + "\n")
    data = load([str(path)])
    assert data.stats.spans == 2 and data.stats.bad_lines == 1
    assert "OTLP document: 1 of 3 spans or records rejected" in data.stats.bad_line_samples[0]


def test_trace_command_reads_otlp_documents(tmp_path: Path):
    from typer.testing import CliRunner

    from llmobs.cli import app

    (tmp_path / "pretty.json").write_text(json.dumps(genai_document(), indent=2))
    result = CliRunner().invoke(app, ["trace", str(tmp_path / "pretty.json"), TRACE, "--format", "json"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert [(s["name"], s["depth"]) for s in view["spans"]] == [("invoke_agent support", 0), ("chat claude", 1), ("orders_api", 1)]
    assert view["spans"][1]["input_tokens"] == 1200 and view["spans"][1]["cost_usd"] > 0


def _openllmetry_chat(prompt: int, completion: int, cache_write: int, total: int | None) -> dict:
    """An `openai.chat` span as OpenLLMetry's older attribute names write it."""
    attrs = [{"key": "gen_ai.system", "value": {"stringValue": "OpenAI"}}, {"key": "llm.request.type", "value": {"stringValue": "chat"}},
             {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
             {"key": "gen_ai.usage.prompt_tokens", "value": {"intValue": str(prompt)}},
             {"key": "gen_ai.usage.completion_tokens", "value": {"intValue": str(completion)}},
             {"key": "gen_ai.usage.cache_creation_input_tokens", "value": {"intValue": str(cache_write)}}]
    if total is not None:
        attrs.append({"key": "llm.usage.total_tokens", "value": {"intValue": str(total)}})
    return {"resourceSpans": [{"scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai.v1"}, "spans": [{
        "traceId": TRACE, "spanId": "eee19b7ec3c1b174", "name": "openai.chat", "kind": 3,
        "startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": "1767225601000000000", "attributes": attrs}]}]}]}


@pytest.mark.parametrize(("total", "expected_input"), [(439, 412), (412 + 1024 + 27, 412 + 1024), (None, 412 + 1024)])
def test_a_stated_total_says_whether_cache_tokens_are_inside_the_input(total, expected_input):
    notes: list[str] = []
    records, _ = records_from_otlp(_openllmetry_chat(412, 27, 1024, total), notes=notes)
    usage = next(r for r in records if r["type"] == "usage")
    assert (usage["input_tokens"], usage["output_tokens"], usage["cache_write_tokens"]) == (expected_input, 27, 1024)
    assert notes == []


def test_a_total_that_agrees_with_no_reading_is_counted_and_named(tmp_path: Path):
    document = tmp_path / "odd.json"
    document.write_text(json.dumps(_openllmetry_chat(412, 27, 1024, 500)) + "\n" + json.dumps(_openllmetry_chat(412, 27, 1024, 439)) + "\n")
    data = load([str(document)])
    assert data.stats.note_count == 1
    assert data.stats.notes == [f"{document}:1: span eee19b7ec3c1b174: total tokens 500 is neither input + output (439) nor that with the cache "
                                "tokens beside the input (1,463); the input counted is 1,436"]
    report = build_report(data.columns, data.stats, Pricer())
    assert report.input.notes == data.stats.notes and report.tokens.totals.input == 1436 + 412

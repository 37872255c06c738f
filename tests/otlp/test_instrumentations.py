"""OTLP/JSON as real instrumentations write it: each one's attribute names, kinds and usage rules.

The documents follow the conventions each instrumentation documents (OpenLLMetry, the Vercel AI
SDK, Sentry, LiteLLM, the current OpenTelemetry GenAI names); they are written here, not copied.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from llmobs.analysis.report import build_report
from llmobs.cli import app
from llmobs.otlp.decode import sample_rate_of
from llmobs.otlp.encode import threshold_of
from llmobs.pricing import Pricer
from llmobs.read import load

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
START_NS = 1_780_000_000 * 10**9


def value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": v}


def hex_id(label: str) -> str:
    return label.encode().hex().ljust(16, "0")


def otlp_span(span_id: str, name: str, attrs: dict[str, Any], *, parent: str | None = None, start_ms: int = 0, duration_ms: int = 100,
              trace: str = TRACE, trace_state: str | None = None) -> dict[str, Any]:
    span = {"traceId": trace, "spanId": hex_id(span_id), "name": name, "kind": 3,
            "startTimeUnixNano": str(START_NS + start_ms * 10**6), "endTimeUnixNano": str(START_NS + (start_ms + duration_ms) * 10**6),
            "attributes": [{"key": k, "value": value(v)} for k, v in attrs.items()], "status": {}}
    if parent:
        span["parentSpanId"] = hex_id(parent)
    if trace_state:
        span["traceState"] = trace_state
    return span


def document(*spans: dict[str, Any], service: str = "agent") -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": value(service)}]},
                               "scopeSpans": [{"scope": {"name": "instrumentation"}, "spans": list(spans)}]}]}


def read(tmp_path: Path, doc: dict[str, Any], name: str = "capture.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))
    data = load([str(path)])
    assert data.stats.bad_lines == 0, data.stats.bad_line_samples
    return data, build_report(data.columns, data.stats, Pricer())


def usage_rows(data) -> list[dict[str, Any]]:
    u, c = data.columns.usage, data.columns
    return [{"model": c.models.lookup(u.model[i]), "provider": c.providers.lookup(u.provider[i]), "input": int(u.input_tokens[i]),
             "output": int(u.output_tokens[i]), "cache_read": int(u.cache_read_tokens[i]), "cache_write": int(u.cache_write_tokens[i]),
             "reasoning": int(u.reasoning_tokens[i])} for i in range(len(u.trace))]


def kinds(data) -> dict[str, str | None]:
    s, c = data.columns.spans, data.columns
    return {c.names.lookup(s.name[i]): c.kinds.lookup(s.kind[i]) for i in range(len(s.trace))}


def openllmetry_anthropic(cache_attrs: bool = True) -> dict[str, Any]:
    """OpenLLMetry: a workflow span around an Anthropic call; prompt_tokens already include the cache."""
    attrs: dict[str, Any] = {"llm.request.type": "chat", "gen_ai.system": "Anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
                             "gen_ai.response.model": "claude-sonnet-4-5", "gen_ai.usage.prompt_tokens": 12_000,
                             "gen_ai.usage.completion_tokens": 800, "llm.usage.total_tokens": 12_800}
    if cache_attrs:
        attrs |= {"gen_ai.usage.cache_read_input_tokens": 9_000, "gen_ai.usage.cache_creation_input_tokens": 1_000}
    return document(otlp_span("a1", "support.workflow", {"traceloop.span.kind": "workflow", "input.value": "where is my order?"}, duration_ms=900),
                    otlp_span("a2", "anthropic.chat", attrs, parent="a1", start_ms=10, duration_ms=800))


def test_openllmetry_legacy_names_and_cache_tokens(tmp_path: Path):
    data, report = read(tmp_path, openllmetry_anthropic())
    assert usage_rows(data) == [{"model": "claude-sonnet-4-5", "provider": "anthropic", "input": 12_000, "output": 800,
                                 "cache_read": 9_000, "cache_write": 1_000, "reasoning": 0}]
    assert kinds(data) == {"support.workflow": "chain", "anthropic.chat": "llm"}
    assert report.tokens.cache_hit_rate == 0.75 and report.tokens.missing_usage == 0
    _, without_cache = read(tmp_path, openllmetry_anthropic(cache_attrs=False), "plain.json")
    # cache reads priced as cache reads: far cheaper than the same tokens priced as plain input
    assert report.cost.total_usd < 0.6 * without_cache.cost.total_usd


def vercel_generate_text() -> dict[str, Any]:
    """The Vercel AI SDK: ai.generateText carries the total of its two provider calls and a tool call between."""
    call = {"ai.model.id": "gpt-4o-mini", "ai.model.provider": "openai.chat", "gen_ai.system": "openai.chat", "gen_ai.request.model": "gpt-4o-mini"}
    return document(
        otlp_span("v1", "ai.generateText", {"ai.operationId": "ai.generateText", "ai.model.id": "gpt-4o-mini", "ai.model.provider": "openai.chat",
                                            "ai.usage.promptTokens": 300, "ai.usage.completionTokens": 50}, duration_ms=2_000),
        otlp_span("v2", "ai.generateText.doGenerate", {**call, "ai.operationId": "ai.generateText.doGenerate", "ai.usage.promptTokens": 100,
                                                       "ai.usage.completionTokens": 20, "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20},
                  parent="v1", duration_ms=700),
        otlp_span("v3", "ai.toolCall", {"ai.operationId": "ai.toolCall", "ai.toolCall.name": "lookup_order"}, parent="v1", start_ms=700, duration_ms=300),
        otlp_span("v4", "ai.generateText.doGenerate", {**call, "ai.operationId": "ai.generateText.doGenerate", "ai.usage.promptTokens": 200,
                                                       "ai.usage.completionTokens": 30}, parent="v1", start_ms=1_000, duration_ms=900),
    )


def test_vercel_ai_sdk_totals_on_the_parent_count_once(tmp_path: Path):
    data, report = read(tmp_path, vercel_generate_text())
    assert kinds(data) == {"ai.generateText": None, "ai.generateText.doGenerate": "llm", "ai.toolCall": "tool"}
    assert report.tokens.totals.input == 300 and report.tokens.totals.output == 50  # not 600 / 100
    assert report.tokens.input_per_request == 300 and report.input.rollups == 1
    assert {row["provider"] for row in usage_rows(data)} == {"openai"}


def test_sentry_and_current_genai_names(tmp_path: Path):
    sentry = otlp_span("s1", "chat gpt-4o", {"gen_ai.operation.name": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o",
                                              "gen_ai.usage.input_tokens": 1_000, "gen_ai.usage.input_tokens.cached": 600,
                                              "gen_ai.usage.output_tokens": 200, "gen_ai.usage.output_tokens.reasoning": 120,
                                              "gen_ai.usage.total_tokens": 1_200})
    current = otlp_span("g1", "chat o4-mini", {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.response.model": "o4-mini",
                                                "gen_ai.usage.input_tokens": 50, "gen_ai.usage.output_tokens": 400,
                                                "gen_ai.usage.reasoning.output_tokens": 300, "gen_ai.usage.cache_read.input_tokens": 20},
                        trace="5" * 32)
    data, report = read(tmp_path, document(sentry, current))
    assert usage_rows(data) == [
        {"model": "gpt-4o", "provider": "openai", "input": 1_000, "output": 200, "cache_read": 600, "cache_write": 0, "reasoning": 120},
        {"model": "o4-mini", "provider": "openai", "input": 50, "output": 400, "cache_read": 20, "cache_write": 0, "reasoning": 300},
    ]
    assert report.tokens.totals.reasoning == 420


def test_litellm_spans_and_a_logged_cost(tmp_path: Path):
    litellm = otlp_span("l1", "acompletion", {"gen_ai.request.model": "gpt-4o", "gen_ai.system": "openai", "gen_ai.usage.prompt_tokens": 10,
                                               "gen_ai.usage.completion_tokens": 5, "gen_ai.usage.cost": 0.25})
    data, report = read(tmp_path, document(litellm))
    assert kinds(data) == {"acompletion": "llm"}
    assert report.cost.total_usd == 0.25


def test_an_llm_span_without_usage_counts_as_missing_and_unread_attributes_are_named(tmp_path: Path):
    silent = otlp_span("m1", "chat llama", {"gen_ai.operation.name": "chat", "gen_ai.request.model": "llama3.1:8b", "gen_ai.system": "ollama",
                                             "acme.usage.prompt_tokens_billed": 77, "gen_ai.request.max_tokens": 512})
    data, report = read(tmp_path, document(silent))
    assert report.tokens.missing_usage == 1 and report.tokens.input_per_request is None
    assert data.stats.unused_usage_attrs == {"acme.usage.prompt_tokens_billed"}
    result = CliRunner().invoke(app, ["report", str(tmp_path / "capture.json"), "--format", "json"])
    assert result.exit_code == 0
    assert "usage-like span attributes that no mapping reads" in result.stderr and "acme.usage.prompt_tokens_billed" in result.stderr


def test_probability_sampling_threshold_weights_the_trace(tmp_path: Path):
    assert sample_rate_of("ot=th:e6;rv:abcdef12345678") == 1 - 0xE6 / 0x100
    assert sample_rate_of("vendor=x,ot=th:0") == 1.0 and sample_rate_of("ot=rv:12") == 1.0 and sample_rate_of(None) == 1.0
    assert abs(sample_rate_of(f"ot=th:{threshold_of(0.1)}") - 0.1) < 1e-15
    spans = [otlp_span("r1", "request", {}, trace_state="ot=th:c"), otlp_span("c1", "llm", {"gen_ai.usage.input_tokens": 40,
             "gen_ai.usage.output_tokens": 4, "gen_ai.request.model": "gpt-4o"}, parent="r1", trace_state="ot=th:c")]
    _, report = read(tmp_path, document(*spans))
    assert report.requests.estimated and report.requests.kept == 1 and report.requests.count == 4  # kept with probability 1/4
    assert report.tokens.totals.input == 160 and report.tokens.input_per_request == 40

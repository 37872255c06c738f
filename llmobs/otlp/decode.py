"""OTLP/JSON traces into llmobs records (FORMAT.md v1): spans, usage and evals as plain dicts.

Follows the OTLP/JSON encoding (hex trace and span ids, nanosecond times as strings or numbers,
typed attribute values with `intValue` as a string, enums as integers or names) and maps the
OpenTelemetry GenAI and OpenInference conventions. The table in the README lists every mapping.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from llmobs.records import MIN_SAMPLE_RATE

ERROR_STATUS = {2, "STATUS_CODE_ERROR", "ERROR"}

OPENINFERENCE_KINDS = {
    "LLM": "llm", "EMBEDDING": "embedding", "RETRIEVER": "retrieval", "RERANKER": "reranker",
    "TOOL": "tool", "AGENT": "agent", "CHAIN": "chain", "GUARDRAIL": "guardrail", "EVALUATOR": "evaluator",
}
GENAI_OPERATION_KINDS = {
    "chat": "llm", "text_completion": "llm", "generate_content": "llm", "embeddings": "embedding",
    "execute_tool": "tool", "invoke_agent": "agent", "create_agent": "agent",
}
# Span names of instrumentations that set no kind attribute: the Vercel AI SDK's provider calls
# (also in `ai.operationId`) and LiteLLM's calls.
NAMED_KINDS = {
    "ai.generateText.doGenerate": "llm", "ai.streamText.doStream": "llm", "ai.generateObject.doGenerate": "llm",
    "ai.streamObject.doStream": "llm", "ai.embed.doEmbed": "embedding", "ai.embedMany.doEmbed": "embedding", "ai.toolCall": "tool",
    "acompletion": "llm", "completion": "llm", "litellm_request": "llm", "atext_completion": "llm", "aembedding": "embedding",
}
LLM_REQUEST_TYPES = {"chat": "llm", "completion": "llm", "embedding": "embedding", "rerank": "reranker"}  # OpenLLMetry's llm.request.type
TRACELOOP_KINDS = {"workflow": "chain", "task": "chain", "agent": "agent", "tool": "tool"}  # OpenLLMetry's traceloop.span.kind
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "ai.response.model", "ai.model.id")
PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system", "ai.model.provider")
# Token counts by kind, the OpenTelemetry GenAI conventions' current names first, then OpenInference's, then
# OpenLLMetry's and Sentry's older or own spellings, then the Vercel AI SDK's (v5, then v4).
INPUT_TOKEN_KEYS = ("gen_ai.usage.input_tokens", "llm.token_count.prompt", "gen_ai.usage.prompt_tokens", "ai.usage.inputTokens", "ai.usage.promptTokens")
OUTPUT_TOKEN_KEYS = ("gen_ai.usage.output_tokens", "llm.token_count.completion", "gen_ai.usage.completion_tokens", "ai.usage.outputTokens", "ai.usage.completionTokens")
CACHE_READ_KEYS = ("gen_ai.usage.cache_read.input_tokens", "llm.token_count.prompt_details.cache_read", "gen_ai.usage.cache_read_input_tokens",
                   "gen_ai.usage.input_tokens.cached", "ai.usage.cachedInputTokens")
CACHE_WRITE_KEYS = ("gen_ai.usage.cache_creation.input_tokens", "llm.token_count.prompt_details.cache_write", "gen_ai.usage.cache_creation_input_tokens",
                    "gen_ai.usage.input_tokens.cache_write")
REASONING_KEYS = ("gen_ai.usage.reasoning.output_tokens", "llmobs.usage.reasoning_tokens", "llm.token_count.completion_details.reasoning",
                  "gen_ai.usage.reasoning_tokens", "gen_ai.usage.output_tokens.reasoning", "ai.usage.reasoningTokens")
TOTAL_TOKEN_KEYS = ("gen_ai.usage.total_tokens", "llm.usage.total_tokens", "llm.token_count.total", "ai.usage.totalTokens",
                    "gen_ai.client.token.usage")  # input + output (the last, OpenLit's): nothing new
# Attributes that carry llmobs's own fields through OTLP (written by `llmobs export`).
LLMOBS_KIND = "llmobs.kind"
LLMOBS_ATTEMPT = "llmobs.attempt"
LLMOBS_RETRY_OF = "llmobs.retry_of"
LLMOBS_COST = "llmobs.usage.cost_usd"
LLMOBS_USAGE_TIME = "llmobs.usage.time"
LLMOBS_USAGE_SCOPE = "llmobs.usage.scope"
LLMOBS_SAMPLE_RATE = "llmobs.sample_rate"
LLMOBS_CACHE_WRITE_1H = "llmobs.usage.cache_write_1h_tokens"
LLMOBS_ADDED = "llmobs.usage.added"  # span attributes export added only to carry usage
LLMOBS_DURATION = "llmobs.duration_ms"  # the exact duration of a span whose end OTLP's fixed64 nanoseconds cannot hold
COST_KEYS = (LLMOBS_COST, "gen_ai.usage.cost", "llm.cost.total")
USAGE_EVENT = "llmobs.usage"
EVAL_EVENT = "llmobs.eval"
CONSUMED = {
    LLMOBS_KIND, LLMOBS_ATTEMPT, LLMOBS_RETRY_OF, LLMOBS_USAGE_TIME, LLMOBS_USAGE_SCOPE, LLMOBS_SAMPLE_RATE, LLMOBS_CACHE_WRITE_1H, LLMOBS_ADDED,
    LLMOBS_DURATION, "error.type",
    *INPUT_TOKEN_KEYS, *OUTPUT_TOKEN_KEYS, *CACHE_READ_KEYS, *CACHE_WRITE_KEYS, *REASONING_KEYS, *TOTAL_TOKEN_KEYS, *COST_KEYS,
}
VERCEL_PROVIDER_APIS = {"chat", "completion", "responses", "embedding", "messages", "text", "image"}  # `openai.chat` names provider and API
# `gen_ai.system` values that name an agent or LLM framework rather than a model provider. OpenLit
# puts them on its framework spans (`chat` over LangChain's model call, …) with its own token
# estimate, while its provider instrumentation writes the real call as a child span.
FRAMEWORK_SYSTEMS = frozenset({"langchain", "langgraph", "llama_index", "haystack", "crewai", "ag2", "autogen", "dspy", "phidata", "agno",
                               "letta", "julep", "mem0", "embedchain", "controlflow", "dynamiq", "multion", "openai_agents", "pydantic_ai",
                               "browser_use", "smolagents", "google_adk", "strands"})
ESTIMATE = "_framework_estimate"  # marks, inside this module only, usage read off such a span
NOT_COUNTED = "llmobs.usage.not_counted"
THRESHOLD_SCALE = 1 << 56  # OpenTelemetry probability sampling: a 56-bit rejection threshold


class OtlpError(ValueError):
    """A document that is not OTLP/JSON trace data as the spec describes it."""


def _field(obj: dict[str, Any], camel: str, snake: str | None = None) -> Any:
    value = obj.get(camel)
    if value is None and snake is not None:
        value = obj.get(snake)
    return value


def any_value(value: Any) -> Any:
    """A Python value from an OTLP AnyValue (`{}` is null; `intValue` may be a string)."""
    if not isinstance(value, dict):
        raise OtlpError("attribute value must be an object like {\"stringValue\": ...}")
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            raise OtlpError(f"intValue {value['intValue']!r} is not an integer") from None
    if "doubleValue" in value:
        number = value["doubleValue"]
        if isinstance(number, str) and number in ("NaN", "Infinity", "-Infinity"):  # the JSON mapping's spelling
            return float(number)
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise OtlpError(f"doubleValue {number!r} is not a number")
        return float(number)
    if "arrayValue" in value:
        return [any_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: any_value(kv.get("value", {})) for kv in (value["kvlistValue"] or {}).get("values", [])}
    if "bytesValue" in value:
        return str(value["bytesValue"])
    return None


def attributes(items: Any) -> dict[str, Any]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise OtlpError("attributes must be a list of {key, value}")
    out = {}
    for item in items:
        if not isinstance(item, dict) or "key" not in item:
            raise OtlpError("attribute without a key")
        out[str(item["key"])] = any_value(item.get("value", {}))
    return out


def _scalarish(value: Any) -> Any:
    """FORMAT.md attrs hold scalars or lists of scalars; maps and nested lists become JSON text."""
    import json

    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, list):
        return [json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for v in value]
    return value


def nanos(value: Any, what: str) -> int:
    if isinstance(value, bool) or value is None:
        raise OtlpError(f"{what} is missing")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OtlpError(f"{what} {value!r} is not a number of nanoseconds") from None


def rfc3339(epoch_ns: int) -> str:
    seconds, rest = divmod(epoch_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1000:06d}Z"


def _hex_id(value: Any, length: int, what: str) -> str | None:
    """An id in hex, as OTLP/JSON writes it, or in base64, as protobuf's standard JSON mapping does
    (24 characters for a trace id, 12 for a span id): the lengths tell the two apart."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise OtlpError(f"{what} must be a hex string")
    text = value.lower()
    if len(text) == length and all(c in "0123456789abcdef" for c in text):
        return text
    if len(value) == -(-length // 2 // 3) * 4:
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raw = b""
        if len(raw) == length // 2:
            return raw.hex()
    raise OtlpError(f"{what} {value!r} is neither {length} hex digits (OTLP/JSON) nor {length // 2} bytes in base64 (protobuf's JSON mapping)")


def _first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if attrs.get(key) is not None:
            return attrs[key]
    return None


def _count(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value >= 0 else None


MAX_NESTING = 8  # how deep an ExportTraceServiceRequest is looked for inside another document


def _requests(document: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ExportTraceServiceRequest in the document, with its JSON path: the document itself, the
    items of a list of them, or ones nested in a capture's own wrapping (`{"trace_requests":
    [{"pbreq": {...}}]}`)."""
    if isinstance(document, dict):
        if "resourceSpans" in document or "resource_spans" in document:
            yield path, document
        elif depth < MAX_NESTING:
            for key, value in document.items():
                yield from _requests(value, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(document, list) and depth < MAX_NESTING:
        for index, item in enumerate(document):
            yield from _requests(item, f"{path}[{index}]", depth + 1)


def describe(document: Any) -> str:
    """What a JSON document that holds no trace data is, in a few words: its top-level keys."""
    if isinstance(document, dict):
        keys = list(document)[:6]
        return f"a JSON object with keys {', '.join(map(repr, keys))}{', …' if len(document) > 6 else ''}" if keys else "an empty JSON object"
    if isinstance(document, list):
        return f"a JSON list of {len(document):,} items"
    return f"a JSON {type(document).__name__}"


def iter_spans(document: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every span object in an ExportTraceServiceRequest (or a list of them, or captures that wrap
    them), with its JSON path (`resourceSpans[0].scopeSpans[1].spans[3]`)."""
    found = False
    for path, request in _requests(document):
        found = True
        resource_spans = _field(request, "resourceSpans", "resource_spans")
        if not isinstance(resource_spans, list):
            raise OtlpError("resourceSpans must be a list")
        prefix = f"{path}." if path else ""
        for r, resource in enumerate(resource_spans):
            scopes = (_field(resource, "scopeSpans", "scope_spans") or []) if isinstance(resource, dict) else []
            for c, scope in enumerate(scopes):
                for i, span in enumerate((scope.get("spans") or []) if isinstance(scope, dict) else []):
                    if not isinstance(span, dict):
                        raise OtlpError("a span must be an object")
                    yield f"{prefix}resourceSpans[{r}].scopeSpans[{c}].spans[{i}]", span
    if not found:
        raise OtlpError(f"no OTLP trace data (resourceSpans) in it: {describe(document)}")


def records_from_otlp(document: Any, unused_usage_attrs: set[str] | None = None, notes: list[str] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The llmobs records of one OTLP/JSON trace document, and why any span was left out.

    A document whose structure is not OTLP raises OtlpError; a single malformed span costs only
    itself (its reason is returned), not the rest of the document. Names of usage-like attributes
    that no mapping reads are added to `unused_usage_attrs`, so the reader can say so; spans whose
    stated total agrees with no reading of their parts are named in `notes`.
    """
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    for path, span in iter_spans(document):
        try:
            records.extend(_records_of_span(span, unused_usage_attrs, notes))
        except (OtlpError, ValueError, OverflowError) as exc:
            problems.append(f"{path} (span {span.get('spanId', '?')!s:.24}): {exc}")
    return _without_estimates(records), problems


def _without_estimates(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records without a framework span's own token estimate wherever a span below it (in the
    same document) carries a model call's usage: those calls are the real ones, counted once each.
    With no such call below, the framework's figure is all there is, and it counts. The span
    says which (`llmobs.usage.not_counted`)."""
    marked = [r for r in records if r.pop(ESTIMATE, False)]
    if not marked:
        return records
    parents = {(r["trace_id"], r["span_id"]): r.get("parent_id") for r in records if r["type"] == "span"}
    above_real: set[tuple[str, str]] = set()  # spans with a real call's usage somewhere below them
    estimates = {id(r) for r in marked}
    for record in records:
        if record["type"] != "usage" or id(record) in estimates or record.get("span_id") is None:
            continue
        key, steps = (record["trace_id"], parents.get((record["trace_id"], record["span_id"]))), 0
        while key[1] is not None and key not in above_real and steps < 10_000:
            above_real.add(key)
            key, steps = (key[0], parents.get(key)), steps + 1
    dropped = {(r["trace_id"], r["span_id"]) for r in marked if (r["trace_id"], r["span_id"]) in above_real}
    kept = []
    for record in records:
        key = (record["trace_id"], record.get("span_id"))
        if key in dropped and record["type"] == "usage":
            continue
        if key in dropped and record["type"] == "span":
            record.setdefault("attrs", {})[NOT_COUNTED] = "a framework's token estimate over the model calls below it"
        kept.append(record)
    return kept


def span_line(text: bytes, span_id: str) -> int | None:
    """The line of a multi-line document on which the span with this (raw) spanId is written."""
    match = re.search(rb'"span_?[iI]d"\s*:\s*"' + re.escape(span_id.encode()) + rb'"', text)
    return text.count(b"\n", 0, match.start()) + 1 if match else None


def sample_rate_of(trace_state: Any) -> float:
    """The probability a span was kept with, from the `th` threshold in the `ot` entry of its W3C
    tracestate (OpenTelemetry probability sampling); 1 when there is none or it cannot be read."""
    if not isinstance(trace_state, str):
        return 1.0
    for member in trace_state.split(","):
        key, _, value = member.strip().partition("=")
        if key != "ot":
            continue
        for part in value.split(";"):
            name, _, threshold = part.partition(":")
            if name == "th" and 0 < len(threshold) <= 14 and all(c in "0123456789abcdef" for c in threshold):
                rate = 1 - int(threshold.ljust(14, "0"), 16) / THRESHOLD_SCALE
                return rate if rate > 0 else 1.0
    return 1.0


def _kind(span_name: str, attrs: dict[str, Any]) -> str | None:
    kind = attrs.get(LLMOBS_KIND)
    if kind is None and attrs.get("openinference.span.kind") is not None:
        kind = OPENINFERENCE_KINDS.get(str(attrs["openinference.span.kind"]).upper(), str(attrs["openinference.span.kind"]).lower())
    if kind is None and attrs.get("gen_ai.operation.name") is not None:
        kind = GENAI_OPERATION_KINDS.get(str(attrs["gen_ai.operation.name"]))
    if kind is None and attrs.get("llm.request.type") is not None:
        kind = LLM_REQUEST_TYPES.get(str(attrs["llm.request.type"]))
    if kind is None and attrs.get("traceloop.span.kind") is not None:
        kind = TRACELOOP_KINDS.get(str(attrs["traceloop.span.kind"]))
    if kind is None:
        kind = NAMED_KINDS.get(str(attrs.get("ai.operationId") or span_name))
    return None if kind is None else str(kind)


REQUEST_SETTINGS = ("gen_ai.request.", "llm.invocation_parameters", "ai.settings.")  # `max_tokens` and the like: asked for, not used


NOT_USAGE = ("time_to_first_token", "time_per_output_token", "tokens_per_second")  # timings that name tokens


def _looks_like_usage(key: str) -> bool:
    lowered = key.lower()
    if lowered.startswith(REQUEST_SETTINGS) or any(part in lowered for part in NOT_USAGE):
        return False
    return "token" in lowered or ".usage." in lowered or lowered.endswith(".cost") or ".cost." in lowered


def _records_of_span(span: dict[str, Any], unused_usage_attrs: set[str] | None = None, notes: list[str] | None = None) -> list[dict[str, Any]]:
    trace_id = _hex_id(_field(span, "traceId", "trace_id"), 32, "traceId")
    span_id = _hex_id(_field(span, "spanId", "span_id"), 16, "spanId")
    if trace_id is None or span_id is None:
        raise OtlpError("a span needs traceId and spanId")
    parent_id = _hex_id(_field(span, "parentSpanId", "parent_span_id"), 16, "parentSpanId")
    start_ns = nanos(_field(span, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano")
    end_ns = nanos(_field(span, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano")
    attrs = attributes(span.get("attributes"))
    events = span.get("events") or []
    status = span.get("status") or {}
    failed = status.get("code") in ERROR_STATUS

    error = None
    exception = next((e for e in events if e.get("name") == "exception"), None)
    exception_attrs = attributes(exception.get("attributes")) if exception else {}
    if failed:
        error_type = attrs.get("error.type") or exception_attrs.get("exception.type") or "unspecified"
        message = status.get("message") or exception_attrs.get("exception.message")
        error = {"type": str(error_type), "message": None if message is None else str(message)}

    name = span.get("name") or "unnamed"
    kind = _kind(name, attrs)
    exact_rate = _number(attrs.get(LLMOBS_SAMPLE_RATE))
    sample_rate = exact_rate if exact_rate is not None and MIN_SAMPLE_RATE <= exact_rate <= 1 else sample_rate_of(_field(span, "traceState", "trace_state"))

    added = attrs.get(LLMOBS_ADDED) or []
    kept = {k: _scalarish(v) for k, v in attrs.items() if k not in CONSUMED and k not in added}
    if unused_usage_attrs is not None:
        unused_usage_attrs.update(k for k in kept if _looks_like_usage(k))
    if parent_id is None and "input" not in kept and isinstance(attrs.get("input.value"), str):
        kept["input"] = attrs["input.value"]
    record: dict[str, Any] = {
        "v": 1,
        "type": "span",
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_id": parent_id,
        "name": name,
        "start": rfc3339(start_ns),
        "duration_ms": _duration_ms(attrs.get(LLMOBS_DURATION), start_ns, end_ns),
        "status": "error" if failed else "ok",
    }
    if kind is not None:
        record["kind"] = str(kind)
    if error is not None:
        record["error"] = error
    attempt = attrs.get(LLMOBS_ATTEMPT)
    retry_of = attrs.get(LLMOBS_RETRY_OF)
    if isinstance(attempt, int) and attempt > 1:
        record["attempt"] = attempt
        record["retry_of"] = retry_of
    if kept:
        record["attrs"] = kept
    if sample_rate < 1:
        record["sample_rate"] = sample_rate
    out = [record]

    tokens_in = _first(attrs, INPUT_TOKEN_KEYS)
    tokens_out = _first(attrs, OUTPUT_TOKEN_KEYS)
    cost = _first(attrs, COST_KEYS)
    # Usage read off a span's attributes may be its descendants' total (agent, chain and workflow
    # spans of several frameworks): `scope: span` lets the reader count it once. What `llmobs
    # export` wrote (it marks usage with its time) is one call's, as it was.
    scope = attrs.get(LLMOBS_USAGE_SCOPE) or ("call" if LLMOBS_USAGE_TIME in attrs else "span")
    from_export = LLMOBS_KIND in attrs or LLMOBS_USAGE_TIME in attrs
    if tokens_in is not None or tokens_out is not None or cost is not None or (kind == "llm" and _first(attrs, MODEL_KEYS) and not from_export):
        out.append(
            _usage(trace_id, span_id, attrs, attrs.get(LLMOBS_USAGE_TIME) or rfc3339(start_ns), tokens_in, tokens_out, scope, sample_rate, notes)
        )
        if any(str(attrs.get(key) or "").lower() in FRAMEWORK_SYSTEMS for key in ("gen_ai.system", "gen_ai.provider.name")):
            out[-1][ESTIMATE] = True
    for event in events:
        event_name = event.get("name")
        if event_name == USAGE_EVENT:
            event_attrs = attributes(event.get("attributes"))
            event_rate = _number(event_attrs.get(LLMOBS_SAMPLE_RATE))
            out.append(
                _usage(
                    trace_id,
                    event_attrs.get("llmobs.span_id", span_id) or None,
                    event_attrs,
                    rfc3339(nanos(_field(event, "timeUnixNano", "time_unix_nano"), "timeUnixNano")),
                    _first(event_attrs, INPUT_TOKEN_KEYS),
                    _first(event_attrs, OUTPUT_TOKEN_KEYS),
                    event_attrs.get(LLMOBS_USAGE_SCOPE) or "call",
                    event_rate if event_rate is not None and MIN_SAMPLE_RATE <= event_rate <= 1 else sample_rate,
                )
            )
        elif event_name == EVAL_EVENT:
            event_attrs = attributes(event.get("attributes"))
            out.append(
                {
                    "v": 1,
                    "type": "eval",
                    "trace_id": trace_id,
                    "time": rfc3339(nanos(_field(event, "timeUnixNano", "time_unix_nano"), "timeUnixNano")),
                    "name": event_attrs.get("llmobs.eval.name") or "unnamed",
                    "passed": event_attrs.get("llmobs.eval.passed"),
                    "score": event_attrs.get("llmobs.eval.score"),
                    "query": event_attrs.get("llmobs.eval.query"),
                    "comment": event_attrs.get("llmobs.eval.comment"),
                    **({"span_id": event_attrs["llmobs.span_id"]} if event_attrs.get("llmobs.span_id") else {}),
                }
            )
    return out


def _provider(attrs: dict[str, Any]) -> str | None:
    """The provider's name; the older `gen_ai.system` (which OpenLLMetry capitalises) and the Vercel
    AI SDK's `ai.model.provider` (`openai.chat`) are brought to the conventions' lowercase id."""
    for key in PROVIDER_KEYS:
        value = attrs.get(key)
        if value is None:
            continue
        if key in ("gen_ai.system", "ai.model.provider"):
            name, _, api = str(value).lower().rpartition(".")
            return name if name and api in VERCEL_PROVIDER_APIS else str(value).lower()
        return str(value)
    return None


def _input_with_cache(input_tokens: int | None, output_tokens: int | None, cache_read: int, cache_write: int, total: int | None,
                      where: str, notes: list[str] | None) -> int | None:
    """FORMAT.md's input (cache reads and writes inside it) from an instrumentation's counts. Some
    count cache tokens inside the prompt (OpenAI's usage, OpenLLMetry's `prompt_tokens`), others
    beside it (Anthropic's usage): a stated total is the evidence, input + output either way. With
    no total, cache tokens beyond the input count can only be beside it. A total that agrees with
    neither reading is named in `notes`, and the parts decide as without one."""
    if input_tokens is None or not cache_read + cache_write:
        return input_tokens
    beside = input_tokens + cache_read + cache_write
    if total is not None and output_tokens is not None:
        if total == input_tokens + output_tokens:
            return input_tokens
        if total == beside + output_tokens:
            return beside
        if notes is not None:
            notes.append(f"{where}: total tokens {total:,} is neither input + output ({input_tokens + output_tokens:,}) nor that with the "
                         f"cache tokens beside the input ({beside + output_tokens:,}); the input counted is "
                         f"{beside if cache_read + cache_write > input_tokens else input_tokens:,}")
    return beside if cache_read + cache_write > input_tokens else input_tokens


def _usage(trace_id: str, span_id: str | None, attrs: dict[str, Any], time: str, tokens_in: Any, tokens_out: Any,
           scope: Any = "call", sample_rate: float = 1.0, notes: list[str] | None = None) -> dict[str, Any]:
    model = _first(attrs, MODEL_KEYS)
    input_tokens = _count(tokens_in)
    cache_read = _count(_first(attrs, CACHE_READ_KEYS)) or 0
    cache_write = _count(_first(attrs, CACHE_WRITE_KEYS)) or 0
    if LLMOBS_USAGE_TIME not in attrs:  # what llmobs exported holds FORMAT.md's input already
        input_tokens = _input_with_cache(input_tokens, _count(tokens_out), cache_read, cache_write, _count(_first(attrs, TOTAL_TOKEN_KEYS)),
                                         f"span {span_id}", notes)
    record = {
        "v": 1,
        "type": "usage",
        "trace_id": trace_id,
        "span_id": span_id,
        "time": time,
        "provider": _provider(attrs),
        "model": str(model) if model else "unknown",
        "input_tokens": input_tokens,
        "output_tokens": _count(tokens_out),
        "cache_read_tokens": cache_read,
        "cache_write_tokens": cache_write,
        "cache_write_1h_tokens": min(_count(attrs.get(LLMOBS_CACHE_WRITE_1H)) or 0, cache_write),
        "reasoning_tokens": _count(_first(attrs, REASONING_KEYS)) or 0,
        "cost_usd": _number(_first(attrs, COST_KEYS)),
        "scope": scope,
    }
    if sample_rate < 1:
        record["sample_rate"] = sample_rate
    return record


def _number(value: Any) -> float | None:
    """An attribute's number as a float; None when it is not one (booleans are not numbers here)."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _duration_ms(exact: Any, start_ns: int, end_ns: int) -> float:
    """The span's duration: the exact one export wrote when the end time could not hold it, else
    end minus start (never negative)."""
    number = _number(exact)
    return number if number is not None else max(end_ns - start_ns, 0) / 1e6

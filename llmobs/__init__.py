"""llmobs: log what your LLM agents do (spans, tokens, errors, retries, evals) as JSONL.

This package is the logger only and stays light to import; the analysis side lives in modules you
import on purpose (`llmobs.read`, `llmobs.analysis`) and in the `llmobs` command line.
"""

from __future__ import annotations

from llmobs._config import configure
from llmobs.providers import ExtractedUsage, extract_usage
from llmobs.retry import retry, retrying
from llmobs.tracing import (
    SpanHandle,
    TraceContext,
    bind_context,
    current_span_id,
    current_trace_id,
    record_eval,
    record_usage,
    trace_span,
)

__version__ = "0.1.0"


def record_usage_from(response: object, *, provider: str | None = None, cost_usd: float | None = None) -> ExtractedUsage:
    """Record the usage of an Anthropic, OpenAI (Chat Completions or Responses) or Ollama response.

    Returns what was recorded. A response that reports no usage is recorded with `None` tokens.
    """
    usage = extract_usage(response, provider)
    record_usage(
        usage.model,
        usage.input_tokens,
        usage.output_tokens,
        provider=usage.provider,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cost_usd=cost_usd,
    )
    return usage


__all__ = [
    "ExtractedUsage",
    "SpanHandle",
    "TraceContext",
    "__version__",
    "bind_context",
    "configure",
    "current_span_id",
    "current_trace_id",
    "record_eval",
    "record_usage",
    "record_usage_from",
    "retry",
    "retrying",
    "trace_span",
]

from __future__ import annotations

from types import SimpleNamespace as NS

import pytest

import llmobs
import llmobs.testing
from llmobs.providers import extract_usage


def test_anthropic_object_adds_cache_tokens_into_input():
    response = NS(
        type="message",
        model="claude-sonnet-4-5-20250929",
        usage=NS(input_tokens=50, output_tokens=20, cache_read_input_tokens=1000, cache_creation_input_tokens=200),
    )
    usage = extract_usage(response)
    assert (usage.provider, usage.model) == ("anthropic", "claude-sonnet-4-5-20250929")
    assert (usage.input_tokens, usage.output_tokens) == (1250, 20)
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (1000, 200)


def test_openai_chat_completion_dict():
    response = {
        "object": "chat.completion",
        "model": "gpt-4o-2024-08-06",
        "usage": {
            "prompt_tokens": 900,
            "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 512},
            "completion_tokens_details": {"reasoning_tokens": 128},
        },
    }
    usage = extract_usage(response)
    assert (usage.provider, usage.input_tokens, usage.output_tokens) == ("openai", 900, 300)
    assert (usage.cache_read_tokens, usage.reasoning_tokens) == (512, 128)


def test_openai_responses_api():
    response = NS(
        object="response",
        model="o4-mini",
        usage=NS(input_tokens=40, output_tokens=500, input_tokens_details=NS(cached_tokens=0), output_tokens_details=NS(reasoning_tokens=448)),
    )
    usage = extract_usage(response)
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (40, 500, 448)


def test_ollama_with_and_without_usage():
    assert extract_usage({"model": "llama3.1", "done": True, "prompt_eval_count": 26, "eval_count": 290}).input_tokens == 26
    missing = extract_usage({"model": "llama3.1", "done": True})
    assert missing.input_tokens is None and missing.output_tokens is None and missing.provider == "ollama"


def test_unknown_shape_is_an_error_not_empty_usage():
    with pytest.raises(ValueError, match="cannot find token usage in a dict"):
        extract_usage({"text": "hello"})


def test_record_usage_from_writes_the_normalised_record():
    with llmobs.testing.capture() as records:
        with llmobs.TraceContext():
            llmobs.record_usage_from({"model": "llama3.1", "done": True}, provider="ollama-local")
    usage = next(r for r in records if r["type"] == "usage")
    assert usage["provider"] == "ollama-local"
    assert usage["input_tokens"] is None and usage["output_tokens"] is None

"""Token usage from provider responses, duck-typed: SDK objects or plain dicts, no SDK imports.

Normalises to FORMAT.md: `input_tokens` includes cache reads and writes (Anthropic reports them
apart, so they are added), reasoning tokens are part of `output_tokens`, and a response that
reports no usage gives `None` tokens, never zero.
"""

from __future__ import annotations

from collections import namedtuple

_FIELDS = ("provider", "model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens")


class ExtractedUsage(namedtuple("ExtractedUsage", _FIELDS, defaults=(0, 0, 0))):  # not typing's: `import llmobs` stays light
    """Usage in FORMAT.md terms, as `record_usage` takes it."""

    __slots__ = ()
    provider: str | None
    model: str
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int  # the last three default to 0
    cache_write_tokens: int
    reasoning_tokens: int


def _get(obj: object, key: str) -> object:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _model(response: object) -> str:
    model = _get(response, "model")
    return model if isinstance(model, str) and model else "unknown"


def _anthropic(response: object) -> ExtractedUsage:
    usage = _get(response, "usage")
    uncached = _int(_get(usage, "input_tokens"))
    cache_read = _int(_get(usage, "cache_read_input_tokens")) or 0
    cache_write = _int(_get(usage, "cache_creation_input_tokens")) or 0
    return ExtractedUsage(
        provider="anthropic",
        model=_model(response),
        input_tokens=None if uncached is None else uncached + cache_read + cache_write,
        output_tokens=_int(_get(usage, "output_tokens")),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


def _openai_chat(response: object) -> ExtractedUsage:
    usage = _get(response, "usage")
    return ExtractedUsage(
        provider="openai",
        model=_model(response),
        input_tokens=_int(_get(usage, "prompt_tokens")),
        output_tokens=_int(_get(usage, "completion_tokens")),
        cache_read_tokens=_int(_get(_get(usage, "prompt_tokens_details"), "cached_tokens")) or 0,
        reasoning_tokens=_int(_get(_get(usage, "completion_tokens_details"), "reasoning_tokens")) or 0,
    )


def _openai_responses(response: object) -> ExtractedUsage:
    usage = _get(response, "usage")
    return ExtractedUsage(
        provider="openai",
        model=_model(response),
        input_tokens=_int(_get(usage, "input_tokens")),
        output_tokens=_int(_get(usage, "output_tokens")),
        cache_read_tokens=_int(_get(_get(usage, "input_tokens_details"), "cached_tokens")) or 0,
        reasoning_tokens=_int(_get(_get(usage, "output_tokens_details"), "reasoning_tokens")) or 0,
    )


def _ollama(response: object) -> ExtractedUsage:
    return ExtractedUsage(
        provider="ollama",
        model=_model(response),
        input_tokens=_int(_get(response, "prompt_eval_count")),
        output_tokens=_int(_get(response, "eval_count")),
    )


def detect_provider(response: object) -> str | None:
    """Which response shape this is: `anthropic`, `openai_chat`, `openai_responses`, `ollama`, or None."""
    kind = _get(response, "type")
    obj = _get(response, "object")
    usage = _get(response, "usage")
    if kind == "message" or _get(usage, "cache_creation_input_tokens") is not None:
        return "anthropic"
    if obj == "chat.completion" or _get(usage, "prompt_tokens") is not None:
        return "openai_chat"
    if obj == "response" or _get(usage, "input_tokens_details") is not None:
        return "openai_responses"
    if any(_get(response, key) is not None for key in ("eval_count", "prompt_eval_count", "done")):
        return "ollama"
    if usage is not None and _get(usage, "input_tokens") is not None:
        return "anthropic"
    return None


_EXTRACTORS = {
    "anthropic": _anthropic,
    "openai_chat": _openai_chat,
    "openai_responses": _openai_responses,
    "ollama": _ollama,
}


def extract_usage(response: object, provider: str | None = None) -> ExtractedUsage:
    """Usage of an Anthropic Messages, OpenAI Chat Completions / Responses or Ollama response.

    Raises ValueError for a shape it does not recognise, so a wrong object is not logged as empty.
    """
    shape = detect_provider(response)
    if shape is None:
        raise ValueError(
            f"cannot find token usage in a {type(response).__name__}: expected an Anthropic Messages, "
            "OpenAI Chat Completions or Responses, or Ollama response; use record_usage() instead"
        )
    usage = _EXTRACTORS[shape](response)
    if provider is not None:
        usage = usage._replace(provider=provider)
    return usage

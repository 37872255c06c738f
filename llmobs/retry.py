"""Retried operations: every attempt is a span carrying `attempt` and `retry_of` (FORMAT.md).

    for attempt in llmobs.retrying("llm_call", attempts=3):
        with attempt:
            answer = call_model()

A failing attempt is recorded as an `error` span and swallowed while attempts remain; the last
failure propagates unchanged. `async for` works the same way and sleeps with `asyncio.sleep`.
"""

from __future__ import annotations

import contextvars
import functools
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping

from llmobs.tracing import SpanHandle, _current_span, _start_span

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (and re): `import llmobs` stays light
if TYPE_CHECKING:
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])


class Attempt:
    """One try of a retried operation; use it as a (sync or async) context manager."""

    def __init__(self, operation: retrying, number: int) -> None:
        self.number = number
        self._operation = operation
        self._span: SpanHandle | None = None
        self._token: contextvars.Token[SpanHandle | None] | None = None

    def __enter__(self) -> SpanHandle:
        op = self._operation
        span = _start_span(op.name, op.kind, dict(op.attrs), attempt=self.number, retry_of=op.first_span_id)
        if self.number == 1:
            op.first_span_id = span.span_id
        self._span = span
        self._token = _current_span.set(span)
        return span

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        assert self._span is not None and self._token is not None
        try:
            _current_span.reset(self._token)
        except ValueError:
            pass
        self._span.finish(exc)
        op = self._operation
        if exc is None:
            op.done = True
            return False
        retryable = isinstance(exc, op.retry_on) and self.number < op.attempts
        return retryable

    async def __aenter__(self) -> SpanHandle:
        return self.__enter__()

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        return self.__exit__(exc_type, exc, tb)


class retrying:
    """Iterate over up to `attempts` tries of the operation `name`, with exponential backoff.

    The delay before try n (n ≥ 2) is `backoff * multiplier**(n-2)`, capped at `max_backoff`, plus up
    to `jitter` of itself at random. Only exceptions of `retry_on` are retried. `sleep` is injectable.
    """

    def __init__(
        self,
        name: str,
        attempts: int = 3,
        *,
        backoff: float = 0.5,
        multiplier: float = 2.0,
        max_backoff: float = 30.0,
        jitter: float = 0.1,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        kind: str | None = None,
        attrs: Mapping[str, object] | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.name = name
        self.attempts = attempts
        self.backoff = backoff
        self.multiplier = multiplier
        self.max_backoff = max_backoff
        self.jitter = jitter
        self.retry_on = retry_on
        self.kind = kind
        self.attrs = dict(attrs or {})
        self.sleep = sleep
        self.first_span_id: str | None = None
        self.done = False

    def delay_before(self, number: int) -> float:
        """Seconds to wait before attempt `number` (≥ 2)."""
        base = min(self.max_backoff, self.backoff * self.multiplier ** (number - 2))
        return base + random.uniform(0, self.jitter * base)

    def __iter__(self) -> Iterator[Attempt]:
        self.first_span_id, self.done = None, False
        sleep = self.sleep or time.sleep
        for number in range(1, self.attempts + 1):
            if number > 1:
                sleep(self.delay_before(number))
            yield Attempt(self, number)
            if self.done:
                return

    async def __aiter__(self) -> AsyncIterator[Attempt]:
        self.first_span_id, self.done = None, False
        for number in range(1, self.attempts + 1):
            if number > 1:
                delay = self.delay_before(number)
                if self.sleep is not None:
                    result = self.sleep(delay)
                    if hasattr(result, "__await__"):
                        await result
                else:
                    import asyncio  # here, not at the top: `import llmobs` stays light, and a running loop has imported it already

                    await asyncio.sleep(delay)
            yield Attempt(self, number)
            if self.done:
                return


def retry(name: str, attempts: int = 3, **options: Any) -> Callable[[F], F]:
    """Decorator form of `retrying`: each call of the function is one retried operation."""

    def decorate(func: F) -> F:
        import inspect  # here, not at the top: `import llmobs` stays light

        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise TypeError(f"retry cannot decorate the generator {func.__qualname__}: it would retry only its creation")
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async for attempt in retrying(name, attempts, **options):
                    async with attempt:
                        return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for attempt in retrying(name, attempts, **options):
                with attempt:
                    return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate

"""Spans, traces and the records tied to them: `TraceContext`, `trace_span`, usage and evals.

The current span lives in a `contextvars.ContextVar`, so parent links follow each thread's own
context and cross `await` boundaries; `bind_context` carries it into a thread pool. Child spans are
written when they end; a trace's records are buffered only when sampling must wait for its end.
"""

from __future__ import annotations

import contextvars
import functools
import random
import threading
from collections.abc import Callable, Mapping

from llmobs import _config
from llmobs._clean import clean_attrs, clean_string
from llmobs._encode import rfc3339_from_ns
from llmobs._internal import internal_error, warn_once

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (and re): `import llmobs` stays light
if TYPE_CHECKING:
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])
_SAMPLING_SCALE = float(1 << 64)
TIMELINE_LIMIT = 1000  # records kept for TraceContext.summary(); a longer timeline is not read by a person


def new_trace_id() -> str:
    """32 lowercase hex characters, a W3C trace id."""
    return f"{random.getrandbits(128):032x}"


def new_span_id() -> str:
    """16 lowercase hex characters, a W3C span id."""
    return f"{random.getrandbits(64):016x}"


class _Trace:
    """One request in flight: its id, the records waiting for a sampling decision, its timeline."""

    __slots__ = ("had_error", "keep_timeline", "kept_with", "lock", "pending", "settings", "timeline", "timeline_dropped", "trace_id")

    def __init__(self, trace_id: str, keep_timeline: bool) -> None:
        self.trace_id = trace_id
        self.settings = _config.current()
        self.pending: list[dict[str, object]] | None = [] if self.settings.sample_rate < 1.0 else None
        self.kept_with: float | None = None  # once sampling decided: the probability kept with, 0.0 when dropped
        self.had_error = False
        self.keep_timeline = keep_timeline
        self.timeline: list[dict[str, object]] = []
        self.timeline_dropped = 0
        self.lock = threading.Lock()

    def emit(self, record: dict[str, object]) -> None:
        if self.keep_timeline:
            if len(self.timeline) < TIMELINE_LIMIT or record.get("parent_id", "") is None:
                self.timeline.append(record)
            else:
                self.timeline_dropped += 1
        if self.pending is None and self.kept_with is None:
            self.settings.sink.write(record)
            return
        with self.lock:
            if self.pending is not None:
                self.pending.append(record)
                return
        if self.kept_with:  # a late record of a trace already kept; one already dropped stays dropped
            record["sample_rate"] = self.kept_with
            self.settings.sink.write(record)

    def end(self) -> None:
        """Decide sampling once the root span is written: errors always kept (probability 1), others
        by trace id with the configured rate, which every kept record states so readers can weight it."""
        if self.pending is None:
            return
        rate = self.settings.sample_rate
        keep = self.had_error or _sampled(self.trace_id, rate)
        with self.lock:
            pending, self.pending = self.pending, None
            self.kept_with = (1.0 if self.had_error else rate) if keep else 0.0
        if keep:
            for record in pending:
                if self.kept_with < 1.0:
                    record["sample_rate"] = self.kept_with
                self.settings.sink.write(record)


def _sampled(trace_id: str, rate: float) -> bool:
    try:
        bucket = int(trace_id[-16:], 16)
    except ValueError:
        bucket = hash(trace_id) & ((1 << 64) - 1)
    return bucket < rate * _SAMPLING_SCALE


class SpanHandle:
    """A span between its start and its end; what `with trace_span(...) as span` gives, to read its
    ids and add attributes while the step runs."""

    __slots__ = ("attempt", "attrs", "kind", "name", "parent_id", "retry_of", "span_id", "start_ns", "t0", "trace")

    def __init__(
        self,
        trace: _Trace,
        parent_id: str | None,
        name: str,
        kind: str | None,
        attrs: dict[str, object],
        attempt: int = 1,
        retry_of: str | None = None,
    ) -> None:
        self.trace = trace
        self.span_id = new_span_id()
        self.parent_id = parent_id
        self.name = name
        self.kind = kind
        self.attrs = attrs
        self.attempt = attempt
        self.retry_of = retry_of
        settings = trace.settings
        self.start_ns = settings.wall_ns()
        self.t0 = settings.monotonic_ns()

    @property
    def trace_id(self) -> str:
        return self.trace.trace_id

    def set(self, key: str, value: object) -> None:
        """Add or replace one attribute of this span."""
        self.attrs[key] = value

    def update(self, attrs: Mapping[str, object]) -> None:
        """Add or replace several attributes of this span."""
        self.attrs.update(attrs)

    def finish(self, exc: BaseException | None) -> None:
        trace = self.trace
        duration_ms = (trace.settings.monotonic_ns() - self.t0) / 1e6
        try:
            record: dict[str, object] = {
                "v": 1,
                "type": "span",
                "trace_id": trace.trace_id,
                "span_id": self.span_id,
                "parent_id": self.parent_id,
                "name": self.name,
                "start": rfc3339_from_ns(self.start_ns),
                "duration_ms": duration_ms,
                "status": "ok",
            }
            if self.kind is not None:
                record["kind"] = self.kind
            if exc is not None:
                trace.had_error = True
                record["status"] = "error"
                record["error"] = {
                    "type": type(exc).__name__,
                    "message": clean_string("error.message", _message_of(exc), trace.settings),
                }
            if self.attempt != 1:
                record["attempt"] = self.attempt
                record["retry_of"] = self.retry_of
            if self.attrs:
                record["attrs"] = clean_attrs(self.attrs, trace.settings)
            trace.emit(record)
            if self.parent_id is None:
                trace.end()
        except Exception as internal:
            internal_error("span finish", internal)


def _message_of(exc: BaseException) -> str:
    """`str(exc)`, or a stand-in when the exception's own `__str__` fails: the span is still written."""
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__} whose message could not be read>"


_current_span: contextvars.ContextVar[SpanHandle | None] = contextvars.ContextVar("llmobs_current_span", default=None)


def _start_span(
    name: str,
    kind: str | None,
    attrs: dict[str, object],
    explicit: TraceContext | None = None,
    attempt: int = 1,
    retry_of: str | None = None,
    keep_timeline: bool = False,
) -> SpanHandle:
    parent = _current_span.get()
    if explicit is not None and explicit._root is not None and (parent is None or parent.trace is not explicit._root.trace):
        parent = explicit._root
    if parent is None:
        return SpanHandle(_Trace(new_trace_id(), keep_timeline), None, name, kind, attrs, attempt, retry_of)
    return SpanHandle(parent.trace, parent.span_id, name, kind, attrs, attempt, retry_of)


class trace_span:
    """Time one step as a span: a context manager (sync or async) and a decorator.

    `trace_span("search", kind="retrieval", top_k=5)`, or `trace_span(ctx, "search", ...)` to attach
    the step to a `TraceContext` explicitly (useful in a thread that did not inherit the context).
    A raised exception marks the span `error` with its type and message, then propagates unchanged.
    Attributes with dots in their names go in `attrs={"gen_ai.request.model": ...}`.
    """

    def __init__(
        self,
        name_or_ctx: str | TraceContext,
        name: str | None = None,
        /,
        kind: str | None = None,
        attrs: Mapping[str, object] | None = None,
        **extra_attrs: object,
    ) -> None:
        if isinstance(name_or_ctx, TraceContext):
            if name is None:
                raise TypeError("trace_span(ctx, name): the step name is missing")
            self._ctx: TraceContext | None = name_or_ctx
            self._name = name
        else:
            if name is not None:
                raise TypeError("trace_span(name, ...): pass other values as keywords")
            self._ctx = None
            self._name = name_or_ctx
        self._kind = kind
        self._attrs = {**attrs, **extra_attrs} if attrs else extra_attrs
        self._span: SpanHandle | None = None
        self._token: contextvars.Token[SpanHandle | None] | None = None
        self._outer: list[tuple[SpanHandle, contextvars.Token[SpanHandle | None]]] = []  # re-entered instance

    def _enter(self) -> SpanHandle:
        if self._span is not None:
            self._outer.append((self._span, self._token))  # type: ignore[arg-type]
        span = self._span = _start_span(self._name, self._kind, self._attrs.copy(), self._ctx)
        self._token = _current_span.set(span)
        return span

    def _exit(self, exc: BaseException | None) -> None:
        span, token = self._span, self._token
        assert span is not None and token is not None
        self._span, self._token = self._outer.pop() if self._outer else (None, None)
        try:
            _current_span.reset(token)
        except ValueError:  # exited in another context than it was entered in; that context is not ours
            pass
        span.finish(exc)

    def __enter__(self) -> SpanHandle:
        return self._enter()

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self._exit(exc)

    async def __aenter__(self) -> SpanHandle:
        return self._enter()

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self._exit(exc)

    def _fresh(self) -> trace_span:
        if self._ctx is not None:
            return trace_span(self._ctx, self._name, kind=self._kind, attrs=self._attrs)
        return trace_span(self._name, kind=self._kind, attrs=self._attrs)

    def __call__(self, func: F) -> F:
        import inspect  # here, not at the top: `import llmobs` stays light (inspect alone is 7 ms)

        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            # A span around a generator would time only its creation, or leak into the consumer's
            # context between items; say so rather than log a misleading duration.
            raise TypeError(f"trace_span cannot decorate the generator {func.__qualname__}; use `with trace_span(...)` inside it")
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                async with self._fresh():
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class TraceContext:
    """One request (one agent run): the root span, written when the `with` block ends.

    `request_id` is your own id for the request, kept as the `request.id` attribute; the trace id is
    a fresh W3C id. If the block raises, the root span is marked `error` and the exception propagates.
    """

    def __init__(self, request_id: str | None = None, name: str = "request", **attrs: object) -> None:
        self.request_id = request_id
        self.name = name
        self._attrs: dict[str, object] = dict(attrs)
        if request_id is not None:
            self._attrs["request.id"] = request_id
        self._root: SpanHandle | None = None
        self._token: contextvars.Token[SpanHandle | None] | None = None
        self._trace: _Trace | None = None

    @property
    def trace_id(self) -> str | None:
        """The trace id, known once the context has been entered."""
        return self._trace.trace_id if self._trace is not None else None

    def _enter(self) -> TraceContext:
        if self._trace is not None:
            raise RuntimeError("a TraceContext is one request and can be entered only once")
        self._trace = _Trace(new_trace_id(), keep_timeline=True)
        self._root = SpanHandle(self._trace, None, self.name, "agent", self._attrs)
        self._token = _current_span.set(self._root)
        return self

    def _exit(self, exc: BaseException | None) -> None:
        root, token = self._root, self._token
        assert root is not None and token is not None
        try:
            _current_span.reset(token)
        except ValueError:  # exited in another context than it was entered in; that context is not ours
            pass
        self._root = None
        root.finish(exc)

    def __enter__(self) -> TraceContext:
        return self._enter()

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self._exit(exc)

    async def __aenter__(self) -> TraceContext:
        return self._enter()

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        self._exit(exc)

    def set(self, key: str, value: object) -> None:
        """Add an attribute to the request's root span, e.g. `ctx.set("input", query)`."""
        if self._root is not None:
            self._root.attrs[key] = value
        else:
            self._attrs[key] = value

    def _span_in_this_trace(self) -> SpanHandle | None:
        span = _current_span.get()
        if span is not None and self._trace is not None and span.trace is self._trace:
            return span
        return self._root

    def add_tokens(
        self,
        input_t: int | None = None,
        output_t: int | None = None,
        model: str | None = None,
        provider: str | None = None,
        **usage: Any,
    ) -> None:
        """Record one model call's tokens for this request (the seed exercise's call)."""
        if model is None:
            raise TypeError("add_tokens needs model=, the model that produced the tokens")
        span = self._span_in_this_trace()
        _write_usage(span, self._trace, model, input_t, output_t, provider=provider, **usage)

    def record_eval(self, name: str, **fields: Any) -> None:
        """Record a judgement of this request's answer (see `llmobs.record_eval`)."""
        record_eval(name, trace_id=self.trace_id, **fields)

    def summary(self) -> str:
        """A readable timeline of the request's spans and tokens, in start order and by depth."""
        from llmobs._summary import render_timeline

        if self._trace is None:
            return "trace not started"
        return render_timeline(self._trace.trace_id, list(self._trace.timeline), self._trace.timeline_dropped)


def current_trace_id() -> str | None:
    """The id of the trace the caller is in, or None outside any trace."""
    span = _current_span.get()
    return span.trace.trace_id if span is not None else None


def current_span_id() -> str | None:
    """The id of the innermost open span, or None outside any span."""
    span = _current_span.get()
    return span.span_id if span is not None else None


def bind_context(func: F) -> F:
    """Wrap `func` to run in a copy of the caller's context, so spans it opens in a thread pool
    become children of the caller's current span."""
    context = contextvars.copy_context()

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        return context.copy().run(func, *args, **kwargs)

    return run  # type: ignore[return-value]


def _token_count(field: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        warn_once(f"usage:{field}", f"{field}={value!r} is not a token count (an int >= 0); recorded as not reported")
        return None
    return value


def _write_usage(
    span: SpanHandle | None,
    trace: _Trace | None,
    model: str,
    input_tokens: int | None,
    output_tokens: int | None,
    *,
    provider: str | None = None,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    cost_usd: float | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
) -> None:
    if trace is None and span is not None:
        trace = span.trace
    settings = trace.settings if trace is not None else _config.current()
    try:
        if trace_id is None:
            if trace is None:
                warn_once("usage:no-trace", "usage recorded outside any trace; it is written under a new trace id")
                trace_id = new_trace_id()
            else:
                trace_id = trace.trace_id
        record: dict[str, object] = {
            "v": 1,
            "type": "usage",
            "trace_id": trace_id,
            "span_id": span_id if span_id is not None else (span.span_id if span is not None else None),
            "time": rfc3339_from_ns(settings.wall_ns()),
            "provider": provider,
            "model": str(model) or "unknown",
            "input_tokens": _token_count("input_tokens", input_tokens),
            "output_tokens": _token_count("output_tokens", output_tokens),
        }
        for field, value in (
            ("cache_read_tokens", cache_read_tokens),
            ("cache_write_tokens", cache_write_tokens),
            ("reasoning_tokens", reasoning_tokens),
        ):
            if value:
                record[field] = _token_count(field, value) or 0
        if cost_usd is not None:
            if isinstance(cost_usd, (int, float)) and not isinstance(cost_usd, bool) and 0 <= cost_usd < float("inf"):
                record["cost_usd"] = float(cost_usd)
            else:
                warn_once("usage:cost", f"cost_usd={cost_usd!r} is not a cost in USD; recorded as unknown")
        if trace is not None and trace.trace_id == trace_id:
            trace.emit(record)
        else:
            settings.sink.write(record)
    except Exception as internal:
        internal_error("record_usage", internal)


def record_usage(
    model: str,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    *,
    provider: str | None = None,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    cost_usd: float | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
) -> None:
    """Record one model call's tokens, tied to the current span (or the given ids).

    `input_tokens` includes cache reads and writes (FORMAT.md); `None` means the provider did not
    report it, which readers show as missing rather than zero. `cost_usd` is the billed cost, if known.
    """
    span = _current_span.get()
    _write_usage(
        span,
        None,
        model,
        input_tokens,
        output_tokens,
        provider=provider,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        reasoning_tokens=reasoning_tokens,
        cost_usd=cost_usd,
        trace_id=trace_id,
        span_id=span_id,
    )


def _finite_score(score: float | None) -> float | None:
    if score is None:
        return None
    value = float(score)
    if value != value or value in (float("inf"), float("-inf")):
        warn_once("eval:score", f"score={score!r} is not a finite number; recorded as no score")
        return None
    return value


def record_eval(
    name: str,
    *,
    passed: bool | None = None,
    score: float | None = None,
    query: str | None = None,
    comment: str | None = None,
    trace_id: str | None = None,
) -> None:
    """Record a judgement of one answer (`correctness`, `user_feedback` …) for the current or given trace.

    Evals are always written, even for traces that sampling dropped, since they are rare and often
    arrive after the request ended.
    """
    span = _current_span.get()
    if trace_id is None:
        if span is None:
            warn_once("eval:no-trace", "record_eval outside any trace and without trace_id; written under a new trace id")
            trace_id = new_trace_id()
        else:
            trace_id = span.trace.trace_id
    try:
        settings = _config.current()
        record: dict[str, object] = {
            "v": 1,
            "type": "eval",
            "trace_id": trace_id,
            "time": rfc3339_from_ns(settings.wall_ns()),
            "name": name,
            "passed": bool(passed) if passed is not None else None,
            "score": _finite_score(score),
            "query": clean_string("query", query, settings),
            "comment": clean_string("comment", comment, settings),
        }
        if span is not None and span.trace.trace_id == trace_id:
            record["span_id"] = span.span_id
        settings.sink.write(record)
    except Exception as internal:
        internal_error("record_eval", internal)

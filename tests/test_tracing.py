from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import llmobs
import llmobs.testing
from llmobs.records import RECORD_ADAPTER


def by_name(records):
    return {r["name"]: r for r in records if r["type"] == "span"}


def test_trace_context_writes_root_and_children_with_links():
    with llmobs.testing.capture() as records:
        with llmobs.TraceContext("req_42", input="hello") as ctx:
            with llmobs.trace_span(ctx, "search", top_k=3):
                with llmobs.trace_span("embed", kind="embedding"):
                    pass
    spans = by_name(records)
    assert set(spans) == {"request", "search", "embed"}
    root = spans["request"]
    assert root["parent_id"] is None
    assert root["attrs"] == {"input": "hello", "request.id": "req_42"}
    assert spans["search"]["parent_id"] == root["span_id"]
    assert spans["search"]["attrs"] == {"top_k": 3}
    assert spans["embed"]["parent_id"] == spans["search"]["span_id"]
    assert spans["embed"]["kind"] == "embedding"
    assert {r["trace_id"] for r in records} == {ctx.trace_id}
    assert len(ctx.trace_id) == 32 and len(root["span_id"]) == 16
    assert records[-1] is root, "the root is written when the request ends"
    for record in records:
        RECORD_ADAPTER.validate_python(record, strict=False)


def test_exception_is_recorded_and_reraised():
    with llmobs.testing.capture() as records:
        with pytest.raises(KeyError):
            with llmobs.TraceContext() as ctx:
                with llmobs.trace_span("lookup"):
                    raise KeyError("user_7")
    spans = by_name(records)
    for name in ("lookup", "request"):
        assert spans[name]["status"] == "error"
        assert spans[name]["error"] == {"type": "KeyError", "message": "'user_7'"}
    assert ctx.trace_id is not None


def test_decorator_sync_and_async_each_call_a_new_span():
    @llmobs.trace_span("double", kind="tool")
    def double(x: int) -> int:
        return 2 * x

    @llmobs.trace_span("fetch")
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        return x + 1

    with llmobs.testing.capture() as records:
        with llmobs.TraceContext() as ctx:
            assert double(2) == 4 and double(3) == 6
            assert asyncio.run(fetch(1)) == 2
    spans = [r for r in records if r["type"] == "span"]
    root = spans[-1]
    assert [s["name"] for s in spans] == ["double", "double", "fetch", "request"]
    assert len({s["span_id"] for s in spans}) == 4
    assert all(s["parent_id"] == root["span_id"] for s in spans[:-1])
    assert all(s["trace_id"] == ctx.trace_id for s in spans)


def test_asyncio_tasks_keep_their_own_parents():
    async def step(i: int) -> None:
        async with llmobs.trace_span(f"step{i}"):
            await asyncio.sleep(0.001 * (3 - i))
            async with llmobs.trace_span(f"inner{i}"):
                await asyncio.sleep(0)

    async def main() -> None:
        async with llmobs.TraceContext():
            await asyncio.gather(*(step(i) for i in range(3)))

    with llmobs.testing.capture() as records:
        asyncio.run(main())
    spans = by_name(records)
    for i in range(3):
        assert spans[f"inner{i}"]["parent_id"] == spans[f"step{i}"]["span_id"]
        assert spans[f"step{i}"]["parent_id"] == spans["request"]["span_id"]


def test_thread_joins_the_trace_through_explicit_ctx():
    with llmobs.testing.capture() as records:
        with llmobs.TraceContext() as ctx:
            def explicit() -> None:
                with llmobs.trace_span(ctx, "in_thread"):
                    pass

            thread = threading.Thread(target=explicit)
            thread.start()
            thread.join()
    spans = by_name(records)
    assert spans["in_thread"]["parent_id"] == spans["request"]["span_id"]
    assert spans["in_thread"]["trace_id"] == ctx.trace_id


def test_bind_context_makes_pool_spans_children():
    def work(i: int) -> int:
        with llmobs.trace_span(f"work{i}"):
            return i

    with llmobs.testing.capture() as records:
        with llmobs.TraceContext():
            with llmobs.trace_span("fan_out") as parent:
                with ThreadPoolExecutor(4) as pool:
                    assert list(pool.map(llmobs.bind_context(work), range(4))) == [0, 1, 2, 3]
    spans = by_name(records)
    for i in range(4):
        assert spans[f"work{i}"]["parent_id"] == parent.span_id


def test_span_outside_any_trace_is_its_own_root():
    with llmobs.testing.capture() as records:
        with llmobs.trace_span("cron_job"):
            assert llmobs.current_trace_id() is not None
    assert records[0]["parent_id"] is None
    assert llmobs.current_trace_id() is None


def test_add_tokens_and_record_usage_attach_to_current_span():
    with llmobs.testing.capture() as records:
        with llmobs.TraceContext() as ctx:
            ctx.add_tokens(input_t=10, output_t=5, model="gpt-4o", provider="openai")
            with llmobs.trace_span("llm_call") as span:
                llmobs.record_usage("claude-sonnet-4-5", 300, 20, provider="anthropic", cache_read_tokens=100, cost_usd=0.002)
    usage = [r for r in records if r["type"] == "usage"]
    root = by_name(records)["request"]
    assert usage[0]["span_id"] == root["span_id"]
    assert (usage[0]["input_tokens"], usage[0]["output_tokens"], usage[0]["model"]) == (10, 5, "gpt-4o")
    assert usage[1]["span_id"] == span.span_id
    assert usage[1]["cache_read_tokens"] == 100 and usage[1]["cost_usd"] == 0.002
    assert all(u["trace_id"] == ctx.trace_id for u in usage)


def test_unreported_usage_is_null_not_zero(capsys):
    with llmobs.testing.capture() as records:
        with llmobs.TraceContext():
            llmobs.record_usage("llama3.1", None, None, provider="ollama")
            llmobs.record_usage("llama3.1", -3, 7, provider="ollama")
    usage = [r for r in records if r["type"] == "usage"]
    assert usage[0]["input_tokens"] is None and usage[0]["output_tokens"] is None
    assert usage[1]["input_tokens"] is None and usage[1]["output_tokens"] == 7
    assert "input_tokens=-3 is not a token count" in capsys.readouterr().err


def test_record_eval_ties_to_current_or_given_trace():
    with llmobs.testing.capture() as records:
        with llmobs.TraceContext() as ctx:
            llmobs.record_eval("correctness", passed=False, score=0.0, query="2+2?", comment="said 5")
        llmobs.record_eval("user_feedback", passed=True, trace_id=ctx.trace_id)
    evals = [r for r in records if r["type"] == "eval"]
    assert [(e["name"], e["passed"], e["trace_id"]) for e in evals] == [
        ("correctness", False, ctx.trace_id),
        ("user_feedback", True, ctx.trace_id),
    ]
    assert evals[0]["query"] == "2+2?" and evals[0]["comment"] == "said 5"


def test_sampling_keeps_error_traces_whole_and_a_share_of_the_rest():
    with llmobs.testing.capture(sample_rate=0.25) as records:
        for i in range(400):
            try:
                with llmobs.TraceContext():
                    with llmobs.trace_span("step"):
                        llmobs.record_usage("gpt-4o", 1, 1)
                        if i % 10 == 0:
                            raise RuntimeError("bad")
            except RuntimeError:
                pass
    roots = [r for r in records if r["type"] == "span" and r["parent_id"] is None]
    errors = [r for r in roots if r["status"] == "error"]
    assert len(errors) == 40
    kept_ok = len(roots) - len(errors)
    assert 50 <= kept_ok <= 130  # 360 ok traces × 0.25 = 90 expected
    by_trace: dict[str, list[str]] = {}
    for record in records:
        by_trace.setdefault(record["trace_id"], []).append(record["type"])
    assert all(sorted(types) == ["span", "span", "usage"] for types in by_trace.values())


def test_redaction_hook_and_truncation():
    def redact(key: str, value: object) -> object:
        return "[redacted]" if key in {"user.email", "query"} else value

    sink = llmobs.sinks.MemorySink()
    llmobs.configure(sink=sink, redact=redact, max_string_length=32)
    try:
        with llmobs.TraceContext(**{"user.email": "a@b.c"}):
            with llmobs.trace_span("prompt", text="x" * 100, tags=["a", "b" * 50]):
                llmobs.record_eval("correctness", passed=True, query="secret question")
    finally:
        llmobs._config._reset()
    spans = by_name(sink.records)
    assert spans["request"]["attrs"]["user.email"] == "[redacted]"
    text = spans["prompt"]["attrs"]["text"]
    assert len(text) == 32 and text.endswith("…[truncated]")
    assert spans["prompt"]["attrs"]["tags"][1].endswith("…[truncated]")
    evals = [r for r in sink.records if r["type"] == "eval"]
    assert evals[0]["query"] == "[redacted]"


def test_summary_is_a_readable_timeline():
    ticks = iter(range(0, 10**12, 5_000_000))  # every clock read advances 5 ms
    clock = lambda: next(ticks)  # noqa: E731
    sink = llmobs.sinks.MemorySink()
    llmobs.configure(sink=sink, clock=(clock, clock))
    try:
        with llmobs.TraceContext("req_1") as ctx:
            with llmobs.trace_span("search"):
                pass
            ctx.add_tokens(input_t=12, output_t=3, model="gpt-4o")
    finally:
        llmobs._config._reset()
    summary = ctx.summary().splitlines()
    assert summary[0] == f"trace {ctx.trace_id}"
    assert "request" in summary[1] and "ok" in summary[1]
    assert "  search" in summary[2] and "5.0 ms" in summary[2]
    assert summary[3].strip() == "tokens: 12 in / 3 out  gpt-4o"


def test_configure_rejects_bad_values():
    with pytest.raises(ValueError, match="sample_rate"):
        llmobs.configure(sample_rate=1.5)
    with pytest.raises(ValueError, match="either path or sink"):
        llmobs.configure("x.jsonl", sink=llmobs.sinks.MemorySink())


def test_an_exception_with_a_broken_message_still_gives_a_span(capsys):
    class Weird(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    with llmobs.testing.capture() as records:
        with pytest.raises(Weird):
            with llmobs.trace_span("step"):
                raise Weird()
        llmobs.record_eval("judge", score=float("nan"), trace_id="t")
    assert records[0]["error"] == {"type": "Weird", "message": "<Weird whose message could not be read>"}
    assert records[1]["score"] is None and "score=nan is not a finite number" in capsys.readouterr().err


def test_decorating_a_generator_is_refused_not_mistimed():
    with pytest.raises(TypeError, match="cannot decorate the generator"):

        @llmobs.trace_span("stream")
        def stream():
            yield 1

    with pytest.raises(TypeError, match="cannot decorate the generator"):

        @llmobs.trace_span("astream")
        async def astream():
            yield 1

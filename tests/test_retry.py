from __future__ import annotations

import asyncio

import pytest

import llmobs
import llmobs.testing


def spans(records):
    return [r for r in records if r["type"] == "span" and r["parent_id"] is not None]


def test_retry_until_success_links_attempts():
    delays = []
    calls = iter([TimeoutError("t1"), TimeoutError("t2"), None])
    with llmobs.testing.capture() as records:
        with llmobs.TraceContext():
            for attempt in llmobs.retrying("llm_call", attempts=4, backoff=1.0, jitter=0.0, sleep=delays.append):
                with attempt:
                    error = next(calls)
                    if error:
                        raise error
    attempts = spans(records)
    assert [a.get("attempt", 1) for a in attempts] == [1, 2, 3]
    assert [a["status"] for a in attempts] == ["error", "error", "ok"]
    assert attempts[1]["retry_of"] == attempts[0]["span_id"] == attempts[2]["retry_of"]
    assert delays == [1.0, 2.0]


def test_last_error_is_reraised_when_attempts_run_out():
    with llmobs.testing.capture() as records:
        with pytest.raises(ConnectionError, match="down 2"):
            for attempt in llmobs.retrying("fetch", attempts=2, sleep=lambda s: None):
                with attempt:
                    raise ConnectionError(f"down {attempt.number}")
    assert [r["status"] for r in records] == ["error", "error"]
    assert records[1]["attempt"] == 2 and records[1]["retry_of"] == records[0]["span_id"]


def test_exceptions_outside_retry_on_propagate_at_once():
    with llmobs.testing.capture() as records:
        with pytest.raises(KeyError):
            for attempt in llmobs.retrying("fetch", attempts=5, retry_on=TimeoutError, sleep=lambda s: None):
                with attempt:
                    raise KeyError("no")
    assert len(records) == 1


def test_retry_decorator_async_and_sync():
    state = {"n": 0}

    @llmobs.retry("flaky", attempts=3, sleep=lambda s: None)
    def flaky() -> str:
        state["n"] += 1
        if state["n"] < 2:
            raise TimeoutError
        return "ok"

    @llmobs.retry("aflaky", attempts=3, backoff=0.0)
    async def aflaky() -> str:
        state["n"] += 1
        if state["n"] < 4:
            raise TimeoutError
        return "ok"

    with llmobs.testing.capture() as records:
        assert flaky() == "ok"
        assert asyncio.run(aflaky()) == "ok"
    assert [(r["name"], r.get("attempt", 1), r["status"]) for r in records] == [
        ("flaky", 1, "error"),
        ("flaky", 2, "ok"),
        ("aflaky", 1, "error"),
        ("aflaky", 2, "ok"),
    ]


def test_backoff_is_capped_and_jittered_within_bounds():
    op = llmobs.retrying("x", attempts=10, backoff=1.0, multiplier=3.0, max_backoff=5.0, jitter=0.2)
    assert op.delay_before(2) >= 1.0 and op.delay_before(2) <= 1.2
    assert 5.0 <= op.delay_before(9) <= 6.0


def test_retry_refuses_generators():
    with pytest.raises(TypeError, match="retry cannot decorate the generator"):

        @llmobs.retry("stream")
        def stream():
            yield 1

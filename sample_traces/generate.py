"""Write sample_traces/agent_traces.jsonl by running the llmobs logger over a simulated agent.

A support agent answers questions from July to November 2026: it plans with one model, searches,
reranks, calls tools (retried on timeouts), and answers with another. Time is simulated (a clock the
logger is configured with), so five months take a second; ids come from a seeded generator, so the
output is the same on every run:

    python sample_traces/generate.py [OUTPUT] [--requests N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
from datetime import datetime, timezone

import llmobs


class SimulatedClock:
    """Wall and monotonic clocks that move only when the simulation says time passes."""

    def __init__(self, start: datetime) -> None:
        self.now_ns = int(start.timestamp() * 1e9)

    def wall_ns(self) -> int:
        return self.now_ns

    def monotonic_ns(self) -> int:
        return self.now_ns

    def spend(self, ms: float) -> None:
        self.now_ns += int(ms * 1e6)

    def jump_to(self, when: datetime) -> None:
        self.now_ns = max(self.now_ns, int(when.timestamp() * 1e9))


class RateLimitError(Exception):
    """The provider refused the call for now."""


class ToolTimeout(TimeoutError):
    """A tool did not answer in time."""


QUESTIONS = [
    "How do I reset my password?",
    "Why was I charged twice in October?",
    "Can I export my data as CSV?",
    "What is the refund policy for annual plans?",
    "How do I add a teammate to my workspace?",
    "Is there an API rate limit?",
    "My invoice shows the wrong VAT number",
    "How do I delete my account?",
    "Does the mobile app work offline?",
    "Which regions is data stored in?",
]

# Model mix by month: the team moves answering from gpt-4o to claude, and tries a local model.
MONTH_MODELS = {
    7: ("gpt-4o-mini", "openai", "gpt-4o", "openai"),
    8: ("gpt-4o-mini", "openai", "gpt-4o", "openai"),
    9: ("gpt-4o-mini", "openai", "claude-sonnet-4-5", "anthropic"),
    10: ("claude-haiku-4-5", "anthropic", "claude-sonnet-4-5", "anthropic"),
    11: ("llama3.1:8b", "ollama", "claude-sonnet-4-5", "anthropic"),
}


def run_request(clock: SimulatedClock, rng: random.Random, month: int) -> None:
    planner, planner_provider, answerer, answerer_provider = MONTH_MODELS[month]
    question = rng.choice(QUESTIONS)
    with llmobs.TraceContext(f"req_{rng.randrange(10**8):08d}", name="support_agent", input=question) as ctx:
        clock.spend(rng.uniform(1, 4))
        with llmobs.trace_span("plan", kind="llm", attrs={"gen_ai.request.model": planner}):
            clock.spend(rng.lognormvariate(5.3, 0.35))
            if planner_provider == "ollama" and rng.random() < 0.3:
                llmobs.record_usage(planner, None, None, provider="ollama")  # ollama omitted usage
            else:
                ctx.add_tokens(input_t=rng.randint(400, 900), output_t=rng.randint(40, 160), model=planner, provider=planner_provider)

        with llmobs.trace_span("search", kind="retrieval", top_k=8):
            clock.spend(rng.lognormvariate(4.6, 0.5) * (1.8 if month >= 10 else 1.0))
            if rng.random() < 0.03:
                clock.spend(2000)
                raise ToolTimeout("vector index did not answer within 2s")

        with llmobs.trace_span("rerank", kind="other"):
            clock.spend(rng.lognormvariate(3.2, 0.3))

        for attempt in llmobs.retrying("lookup_account", attempts=3, kind="tool", sleep=lambda s: clock.spend(s * 1000)):
            with attempt:
                clock.spend(rng.lognormvariate(4.0, 0.4))
                if rng.random() < 0.12:
                    clock.spend(800)
                    raise ToolTimeout("billing API timed out")

        for attempt in llmobs.retrying("answer", attempts=2, kind="llm", retry_on=RateLimitError, sleep=lambda s: clock.spend(s * 1000)):
            with attempt as span:
                span.set("gen_ai.request.model", answerer)
                clock.spend(rng.lognormvariate(6.6, 0.4))
                if rng.random() < 0.05:
                    raise RateLimitError("429: rate limit exceeded, retry after 1s")
                cached = rng.choice([0, 0, 1024, 2048]) if answerer_provider == "anthropic" else 0
                llmobs.record_usage(
                    answerer,
                    rng.randint(1500, 4000) + cached,
                    rng.randint(150, 600),
                    provider=answerer_provider,
                    cache_read_tokens=cached,
                )

        clock.spend(rng.uniform(1, 3))

    correct = rng.random() > (0.12 if month >= 10 else 0.06)
    if rng.random() < 0.5:
        llmobs.record_eval(
            "correctness",
            passed=correct,
            score=1.0 if correct else rng.choice([0.0, 0.25]),
            query=question,
            trace_id=ctx.trace_id,
            comment=None if correct else "answer contradicts the help-centre article",
        )


def generate(path: str, requests_per_month: int, seed: int = 20261124) -> None:
    """Simulate `requests_per_month` requests in each of the five months into `path` (replaced)."""
    random.seed(seed)  # the logger's ids come from the module-level generator
    rng = random.Random(seed)
    clock = SimulatedClock(datetime(2026, 7, 1, tzinfo=timezone.utc))
    if os.path.exists(path):
        os.remove(path)
    llmobs.configure(path, clock=(clock.wall_ns, clock.monotonic_ns))
    # A request every ten minutes or so; closer together when a month must hold more, so that the
    # requests of a month stay in that month (about 20 days of arrivals, a few seconds each to run).
    mean_gap_ms = min(600_000, 20 * 86_400_000 / requests_per_month)
    for month in MONTH_MODELS:
        clock.jump_to(datetime(2026, month, 1, 8, tzinfo=timezone.utc))
        for _ in range(requests_per_month):
            clock.spend(rng.expovariate(1 / mean_gap_ms))
            with contextlib.suppress(ToolTimeout, RateLimitError):  # the trace already recorded the failure
                run_request(clock, rng, month)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default=os.path.join(os.path.dirname(__file__), "agent_traces.jsonl"))
    parser.add_argument("--requests", type=int, default=120, help="requests per month (five months)")
    args = parser.parse_args()
    generate(args.output, args.requests)


if __name__ == "__main__":
    main()

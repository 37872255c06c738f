"""Per-span cost of llmobs's `trace_span` next to the OpenTelemetry SDK's, measured in one run.

Both write every span to a file: llmobs hands each record to the OS (one O_APPEND write) before the
`with` block returns; OpenTelemetry queues spans in a BatchSpanProcessor whose exporter writes them
to a file from a background thread (the time to drain that queue at shutdown is counted, since the
work has to happen). Goal: llmobs ≤ 0.10× OpenTelemetry per span.

    pip install -e '.[bench]' && python benchmarks/logger_overhead.py [--spans 50000]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import time

SPANS_PER_REQUEST = 10  # a request's root plus nine steps, a typical agent run


def time_llmobs(path: str, spans: int) -> float:
    import llmobs

    llmobs.configure(path)
    gc.collect()
    start = time.perf_counter()
    for request in range(spans // SPANS_PER_REQUEST):
        with llmobs.TraceContext(f"req_{request}"):
            for i in range(SPANS_PER_REQUEST - 1):
                with llmobs.trace_span("step", kind="tool", index=i):
                    pass
    return (time.perf_counter() - start) / spans


def time_opentelemetry(path: str, spans: int) -> float:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    with open(path, "w") as out:
        exporter = ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=spans + 1))
        tracer = provider.get_tracer("bench")
        gc.collect()
        start = time.perf_counter()
        for request in range(spans // SPANS_PER_REQUEST):
            with tracer.start_as_current_span("request", attributes={"request.id": f"req_{request}"}):
                for i in range(SPANS_PER_REQUEST - 1):
                    with tracer.start_as_current_span("step", attributes={"index": i}):
                        pass
        provider.shutdown()
        return (time.perf_counter() - start) / spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = [], []
        for round_ in range(args.repeat):
            ours.append(time_llmobs(os.path.join(tmp, f"llmobs{round_}.jsonl"), args.spans))
            theirs.append(time_opentelemetry(os.path.join(tmp, f"otel{round_}.jsonl"), args.spans))
        with open(os.path.join(tmp, "llmobs0.jsonl"), "rb") as written:
            lines = sum(1 for _ in written)
        assert lines == args.spans // SPANS_PER_REQUEST * SPANS_PER_REQUEST, "every span must be on disk"
    ours_us, theirs_us = statistics.median(ours) * 1e6, statistics.median(theirs) * 1e6
    print(f"spans per run       {args.spans:,} in requests of {SPANS_PER_REQUEST} (median of {args.repeat} runs)")
    print(f"llmobs trace_span   {ours_us:8.2f} µs/span  (written with one O_APPEND write per span)")
    print(f"OpenTelemetry SDK   {theirs_us:8.2f} µs/span  (BatchSpanProcessor → file)")
    print(f"ratio               {ours_us / theirs_us:8.3f}×  (goal ≤ 0.10×)")


if __name__ == "__main__":
    main()

"""The Prometheus text exposition format, written by `prometheus_client` (valid for node_exporter's
textfile collector: no timestamps, one family per name, HELP and TYPE for each). Label values from
logs have their control characters shown escaped, as every other output form shows them; quotes,
backslashes and newlines are the format's own escapes."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from llmobs.analysis.metrics import DURATION_BUCKETS_S, Counter, Histogram, MetricsResult
from llmobs.render.text import safe


def _histogram_family(name: str, documentation: str, label: str, histograms: list[Histogram]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=[label], unit="seconds")
    for h in histograms:
        buckets = [(repr(le), count) for le, count in zip(DURATION_BUCKETS_S, h.cumulative_counts[:-1], strict=True)] + [("+Inf", h.cumulative_counts[-1])]
        family.add_metric([safe(h.labels[label])], buckets, h.sum)
    return family


def counter_family(name: str, documentation: str, labels: list[str], counters: list[Counter]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for c in counters:
        family.add_metric([safe(c.labels[label]) for label in labels], c.value)
    return family


def metric_families(r: MetricsResult) -> Iterator[Metric]:
    """The families of `llmobs metrics` (and of `llmobs watch`'s /metrics)."""
    yield _histogram_family("llmobs_request_duration", "Request (root span) duration.", "request", r.request_duration)
    yield _histogram_family("llmobs_step_duration", "Step (non-root span) duration.", "step", r.step_duration)
    yield counter_family("llmobs_requests", "Requests by root span status.", ["status"], r.requests)
    yield counter_family("llmobs_span_errors", "Failed spans by error type.", ["type"], r.errors)
    yield counter_family("llmobs_tokens", "Reported tokens by model and token type (input includes cache_read and cache_write, output includes reasoning).", ["model", "provider", "token_type"], r.tokens)
    yield counter_family("llmobs_cost_usd", "Cost in USD, as logged or priced, by model.", ["model", "provider"], r.cost_usd)
    yield counter_family("llmobs_unpriced_tokens", "Tokens of models without a known price.", ["model", "provider"], r.unpriced_tokens)
    yield counter_family("llmobs_missing_usage", "Usage records whose provider reported no tokens.", ["model", "provider"], r.missing_usage)


class _Collector:
    def __init__(self, result: MetricsResult) -> None:
        self.result = result

    def collect(self) -> Iterator[Metric]:
        yield from metric_families(self.result)


def render_metrics(result: MetricsResult) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(result))  # type: ignore[arg-type]
    return generate_latest(registry).decode("utf-8")

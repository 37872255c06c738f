"""`llmobs watch --metrics-port`: the watched logs as Prometheus metrics, served at /metrics.

The counters and histograms are `llmobs metrics`' families, added up over every trace let go since
the watch started (so Prometheus's `rate()` and `histogram_quantile()` work on them), plus spans,
retried operations and evals counted the same way, the exact request percentiles since the start
as a summary, and each alert rule's state and last measurement.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily

from llmobs.analysis.alerts import LiveStatus
from llmobs.analysis.errors import retry_sums
from llmobs.analysis.metrics import Counter, Histogram, MetricsResult, build_metrics
from llmobs.pricing import PricedUsage
from llmobs.read.columns import Columns
from llmobs.render.prometheus import counter_family, metric_families
from llmobs.render.text import safe

STATES = {"ok": 0, "no data": 0, "pending": 1, "firing": 2, "recovering": 2, "firing, no data": 2}

Key = tuple[tuple[str, str], ...]


def _key(labels: dict[str, str]) -> Key:
    return tuple(sorted(labels.items()))


class LiveMetrics:
    """The metrics of every trace let go so far; safe to read from the server's thread while the
    watch adds to them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._histograms: dict[str, dict[Key, tuple[np.ndarray, float]]] = {"request_duration": {}, "step_duration": {}}
        self._counters: dict[str, dict[Key, float]] = {name: {} for name in (
            "requests", "errors", "tokens", "cost_usd", "unpriced_tokens", "missing_usage", "spans", "step_errors", "retried", "retried_ok", "evals")}
        self._status: LiveStatus | None = None

    def add(self, columns: Columns, priced: PricedUsage) -> None:
        result = build_metrics(columns, priced)
        weights = columns.span_weights()
        retries = retry_sums(columns) or (0.0, 0.0)
        evals = columns.evals
        with self._lock:
            for name in ("request_duration", "step_duration"):
                into = self._histograms[name]
                for h in getattr(result, name):
                    counts, total = into.get(_key(h.labels), (np.zeros(len(h.cumulative_counts)), 0.0))
                    into[_key(h.labels)] = (counts + np.asarray(h.cumulative_counts, dtype=np.float64), total + h.sum)
            for name in ("requests", "errors", "tokens", "cost_usd", "unpriced_tokens", "missing_usage"):
                self._add_counters(name, getattr(result, name))
            self._add_counters("spans", [Counter(labels={}, value=float(len(columns.spans.trace) if weights is None else weights.sum()))])
            self._add_counters("step_errors", self._step_errors(columns, weights))
            self._add_counters("retried", [Counter(labels={}, value=retries[0])])
            self._add_counters("retried_ok", [Counter(labels={}, value=retries[1])])
            for code in np.unique(evals.name).tolist():
                mine = evals.passed[evals.name == code]
                for result_name, value in (("passed", 1), ("failed", 0), ("unknown", -1)):
                    name = columns.eval_names.lookup(int(code)) or ""
                    self._add_counters("evals", [Counter(labels={"eval": name, "result": result_name}, value=float((mine == value).sum()))])

    @staticmethod
    def _step_errors(columns: Columns, weights: np.ndarray | None) -> list[Counter]:
        """Failed steps (non-root spans) by step name, with a zero for each step that did not fail."""
        spans = columns.spans
        steps = ~spans.is_root
        failed = (spans.is_error & steps).astype(np.float64) if weights is None else np.where(spans.is_error & steps, weights, 0.0)
        return [Counter(labels={"step": columns.names.values[code]}, value=float(failed[steps & (spans.name == code)].sum()))
                for code in np.unique(spans.name[steps]).tolist()]

    def _add_counters(self, name: str, counters: list[Counter]) -> None:
        into = self._counters[name]
        for c in counters:
            into[_key(c.labels)] = into.get(_key(c.labels), 0.0) + c.value

    def show(self, status: LiveStatus) -> None:
        """The latest view, for the summary and the rules' gauges."""
        with self._lock:
            self._status = status

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            histograms = {name: [Histogram(labels=dict(k), cumulative_counts=v[0].tolist(), sum=v[1]) for k, v in into.items()]
                          for name, into in self._histograms.items()}
            counters = {name: [Counter(labels=dict(k), value=v) for k, v in into.items()] for name, into in self._counters.items()}
            status = self._status
        yield from metric_families(MetricsResult(
            request_duration=histograms["request_duration"], step_duration=histograms["step_duration"], requests=counters["requests"],
            errors=counters["errors"], tokens=counters["tokens"], cost_usd=counters["cost_usd"], unpriced_tokens=counters["unpriced_tokens"],
            missing_usage=counters["missing_usage"],
        ))
        yield counter_family("llmobs_spans", "Spans, weighted when sampled: the error rate's denominator.", [], counters["spans"])
        yield counter_family("llmobs_step_errors", "Failed steps by step name: a step's error rate over llmobs_step_duration_seconds_count.",
                             ["step"], counters["step_errors"])
        yield counter_family("llmobs_retried_operations", "Operations that were retried (their last attempt counted).", [], counters["retried"])
        yield counter_family("llmobs_retried_operations_succeeded", "Retried operations whose last attempt succeeded.", [], counters["retried_ok"])
        yield counter_family("llmobs_evals", "Eval results by eval name and result (passed, failed, unknown).", ["eval", "result"], counters["evals"])
        if status is None:
            return
        latency = status.total.requests.latency_ms
        summary = SummaryMetricFamily("llmobs_request_latency", "Request latency since the watch started, its percentiles exact as `llmobs report` computes them.",
                                      unit="seconds")
        if latency is not None:
            requests = histograms["request_duration"]
            summary.add_metric([], count_value=sum(h.cumulative_counts[-1] for h in requests), sum_value=sum(h.sum for h in requests))
            for quantile, value in (("0.5", latency.p50), ("0.95", latency.p95), ("0.99", latency.p99)):
                summary.add_sample("llmobs_request_latency_seconds", {"quantile": quantile}, value / 1000)
        yield summary
        state = GaugeMetricFamily("llmobs_alert_state", "Each alert rule's state: 0 ok or no data, 1 pending, 2 firing.", labels=["rule"])
        measured = GaugeMetricFamily("llmobs_alert_measured", "Each alert rule's figure on the last window (absent when it could not be measured).",
                                     labels=["rule", "unit"])
        for rule in status.rules:
            state.add_metric([safe(rule.name)], STATES.get(rule.state, 0))
            if rule.measured is not None:
                measured.add_metric([safe(rule.name), rule.unit], rule.measured)
        yield state
        yield measured


def serve(metrics: LiveMetrics, port: int, address: str = "127.0.0.1") -> None:
    """Serve /metrics on `address:port` from a thread of its own."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics)  # type: ignore[arg-type]
    start_http_server(port, addr=address, registry=registry)

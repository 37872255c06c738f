"""A Grafana dashboard of `llmobs watch`'s /metrics, as JSON to import (Dashboards → New → Import):
the checklist's questions as panels, each over Grafana's `$__rate_interval`, the data source asked
for at import (`DS_PROMETHEUS`)."""

from __future__ import annotations

import json
from typing import Any

RATE = "[$__rate_interval]"

PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Requests per minute", "reqpm", [("requests", f"sum(rate(llmobs_requests_total{RATE})) * 60")]),
    ("Request latency", "ms", [
        (f"p{q}", f"histogram_quantile({value}, sum by (le) (rate(llmobs_request_duration_seconds_bucket{RATE}))) * 1000")
        for q, value in (("50", "0.5"), ("95", "0.95"), ("99", "0.99"))
    ]),
    ("Slowest steps (p95)", "ms", [("{{step}}", f"topk(5, histogram_quantile(0.95, sum by (le, step) (rate(llmobs_step_duration_seconds_bucket{RATE}))) * 1000)")]),
    ("Error rate", "percentunit", [("errors", f"sum(rate(llmobs_span_errors_total{RATE})) / sum(rate(llmobs_spans_total{RATE}))")]),
    ("Errors by type (per minute)", "short", [("{{type}}", f"sum by (type) (rate(llmobs_span_errors_total{RATE})) * 60")]),
    ("Retry success rate", "percentunit", [
        ("retries", f"sum(rate(llmobs_retried_operations_succeeded_total{RATE})) / sum(rate(llmobs_retried_operations_total{RATE}))"),
    ]),
    ("Tokens per request", "short", [
        ("{{token_type}}", f'sum by (token_type) (rate(llmobs_tokens_total{{token_type=~"input|output"}}{RATE})) / scalar(sum(rate(llmobs_requests_total{RATE})))'),
    ]),
    ("Cost per hour by model", "currencyUSD", [("{{model}}", f"sum by (model) (rate(llmobs_cost_usd_total{RATE})) * 3600")]),
    ("Cost per request", "currencyUSD", [("cost", f"sum(rate(llmobs_cost_usd_total{RATE})) / sum(rate(llmobs_requests_total{RATE}))")]),
    ("Failed eval rate", "percentunit", [
        ("failed", f'sum(rate(llmobs_evals_total{{result="failed"}}{RATE})) / sum(rate(llmobs_evals_total{{result=~"passed|failed"}}{RATE}))'),
    ]),
    ("Alert states (2 firing, 1 pending)", "short", [("{{rule}}", "llmobs_alert_state")]),
]


def _panel(index: int, title: str, unit: str, targets: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
        "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}, "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": [
            {"refId": chr(ord("A") + n), "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, "expr": expr, "legendFormat": legend, "range": True}
            for n, (legend, expr) in enumerate(targets)
        ],
    }


def dashboard() -> dict[str, Any]:
    return {
        "__inputs": [{"name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource", "pluginId": "prometheus", "pluginName": "Prometheus"}],
        "title": "llmobs: what are my LLM agents doing?",
        "uid": "llmobs-watch",
        "tags": ["llmobs", "llm"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "panels": [_panel(i, title, unit, targets) for i, (title, unit, targets) in enumerate(PANELS)],
    }


def render_dashboard() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"

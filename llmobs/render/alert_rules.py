"""The `[tool.llmobs.alerts]` rules as a Prometheus alerting-rules file over `llmobs watch`'s /metrics.

Each rule becomes the PromQL of its figure over the window (rates of the counters, percentiles
from the duration histograms by `histogram_quantile`, which interpolates within a bucket, so a
limit close to a bucket's edge can fire a little apart from the watch's exact percentiles), with
the rule's `for`, and `keep_firing_for` as long, which is the nearest Prometheus has to the watch's
recovery that must last `for` too. A figure with no data (a ratio of 0/0) does not fire.
"""

from __future__ import annotations

import json
import re

from llmobs.analysis.alerts import RuleSpec

REQUESTS = "sum(rate(llmobs_requests_total[{w}]))"
SPANS = "sum(rate(llmobs_spans_total[{w}]))"


def _duration(seconds: float) -> str:
    whole = max(round(seconds), 1)
    return f"{whole // 60}m" if whole % 60 == 0 else f"{whole}s"


def _label(value: str) -> str:
    """A PromQL string literal (JSON's escapes are PromQL's)."""
    return json.dumps(value)


def figure(spec: RuleSpec, window: float) -> str:
    """The PromQL of `spec`'s figure over `window` seconds, in the rule's unit (ms, a rate, $ …)."""
    w = _duration(window)
    if spec.key in ("p50_ms", "p95_ms", "p99_ms"):
        quantile = {"p50_ms": "0.5", "p95_ms": "0.95", "p99_ms": "0.99"}[spec.key]
        series = f"llmobs_step_duration_seconds_bucket{{step={_label(spec.step)}}}" if spec.step else "llmobs_request_duration_seconds_bucket"
        return f"histogram_quantile({quantile}, sum by (le) (rate({series}[{w}]))) * 1000"
    if spec.key == "error_rate" and spec.step:
        return (f"sum(rate(llmobs_step_errors_total{{step={_label(spec.step)}}}[{w}])) / "
                f"sum(rate(llmobs_step_duration_seconds_count{{step={_label(spec.step)}}}[{w}]))")
    if spec.key == "error_rate":
        return f"sum(rate(llmobs_span_errors_total[{w}])) / {SPANS.format(w=w)}"
    if spec.key == "error_type_rate":
        return f"sum(rate(llmobs_span_errors_total{{type={_label(spec.error_type or '')}}}[{w}])) / {SPANS.format(w=w)}"
    if spec.key == "retry_success_rate":
        return f"sum(rate(llmobs_retried_operations_succeeded_total[{w}])) / sum(rate(llmobs_retried_operations_total[{w}]))"
    if spec.key == "cost_per_hour_usd":
        return f"sum(rate(llmobs_cost_usd_total[{w}])) * 3600"
    if spec.key == "cost_per_request_usd":
        return f"sum(rate(llmobs_cost_usd_total[{w}])) / {REQUESTS.format(w=w)}"
    if spec.key == "tokens_per_request":
        return f'sum(rate(llmobs_tokens_total{{token_type=~"input|output"}}[{w}])) / {REQUESTS.format(w=w)}'
    if spec.key == "failed_eval_rate":
        return f'sum(rate(llmobs_evals_total{{result="failed"}}[{w}])) / sum(rate(llmobs_evals_total{{result=~"passed|failed"}}[{w}]))'
    raise AssertionError(spec.key)


def expression(spec: RuleSpec, window: float) -> str:
    """The rule's alerting expression: its figure against its limit."""
    if spec.key == "no_requests_minutes":
        return f"(sum(increase(llmobs_requests_total[{_duration(spec.limit * 60)}])) or vector(0)) == 0"
    return f"{figure(spec, window)} {'<' if spec.kind == 'floor' else '>'} {spec.limit!r}"


def alert_name(spec: RuleSpec) -> str:
    """`LlmobsP95Ms`, `LlmobsStepsSearchP95Ms`: letters and digits, as alert names are best kept."""
    words = re.split(r"[^0-9A-Za-z]+", spec.name)
    return "Llmobs" + "".join(word[:1].upper() + word[1:] for word in words if word)


def render_alert_rules(specs: list[RuleSpec], window: float) -> str:
    """The rules file (YAML; every string JSON-quoted, which YAML reads as it is)."""
    lines = [
        "# Prometheus alerting rules from [tool.llmobs.alerts], over `llmobs watch --metrics-port` series.",
        "# Written by `llmobs alert-rules`; check with `promtool check rules FILE`.",
        "groups:",
        f"  - name: {json.dumps('llmobs')}",
        "    rules:" + ("" if specs else " []"),
    ]
    for spec in specs:
        side = "under its floor" if spec.kind == "floor" else "over its ceiling"
        hold = _duration(spec.for_seconds) if spec.for_seconds else "0s"
        lines += [
            f"      - alert: {json.dumps(alert_name(spec))}",
            f"        expr: {json.dumps(expression(spec, window))}",
            f"        for: {hold}",
            f"        keep_firing_for: {hold}",
            "        labels:",
            f"          llmobs_rule: {json.dumps(spec.name)}",
            f"          severity: {json.dumps('warning')}",
            "        annotations:",
            f"          summary: {json.dumps(f'llmobs {spec.name} {side} of {spec.limit:g} ({spec.unit})')}",
            f"          description: {json.dumps(f'{spec.name} is {{{{ $value }}}} ({spec.unit}), {side} of {spec.limit:g}, over the last {_duration(window)}.')}",
        ]
    return "\n".join(lines) + "\n"

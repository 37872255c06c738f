"""`llmobs watch --metrics-port` scraped by a real Prometheus (Debian's `prometheus`, which `.ci/run`
installs): the values it stores are `llmobs report`'s on the same records, the rules of `llmobs
alert-rules` pass `promtool` and fire in it as they fire in the watch, and every panel of `llmobs
grafana-dashboard` gets data from it."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from livelog import append, lines, request

from llmobs.render.grafana import dashboard

PROMETHEUS = shutil.which("prometheus")
if PROMETHEUS is None and not os.environ.get("LLMOBS_REQUIRE_PROMETHEUS"):
    pytest.skip("Debian's prometheus is not installed (.ci/run installs it)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def llmobs(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llmobs", *args], cwd=folder, capture_output=True, text=True, timeout=120, check=False)


class Prometheus:
    def __init__(self, folder: Path, target_port: int, rules: Path) -> None:
        self.port = free_port()
        config = folder / "prometheus.yml"
        config.write_text(json.dumps({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [{"job_name": "llmobs", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}],
        }))
        self.process = subprocess.Popen([PROMETHEUS or "prometheus", f"--config.file={config}", f"--storage.tsdb.path={folder / 'tsdb'}",
                                         f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def query(self, expr: str) -> list[dict]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as answer:
            body = json.load(answer)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def value(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])

    def wait(self, expr: str, timeout: float = 60.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                result = self.query(expr)
                if result:
                    return result
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"no data for {expr} after {timeout:g} s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.communicate(timeout=30)


def test_prometheus_scrapes_the_report_s_figures_and_fires_the_same_rule(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.llmobs.alerts]\nfor = "0s"\nwindow = "1m"\np95_ms = 2000\nerror_rate = 0.9\n')
    rules = tmp_path / "rules.yml"
    written = llmobs(tmp_path, "alert-rules", "-o", str(rules))
    assert written.returncode == 0, written.stderr
    checked = subprocess.run([shutil.which("promtool") or "promtool", "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0 and "SUCCESS: 2 rules found" in checked.stdout, checked.stdout + checked.stderr
    log = tmp_path / "agent.jsonl"
    log.write_text("")
    port = free_port()
    watch = subprocess.Popen([sys.executable, "-m", "llmobs", "watch", str(log), "--metrics-port", str(port), "--settle", "0.2s", "--interval", "1s"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert " last " in watch.stdout.readline()  # type: ignore[union-attr]
    prometheus = Prometheus(tmp_path, port, rules)
    try:
        prometheus.wait('up{job="llmobs"} == 1')
        for i in range(40):  # a second apart in batches, so that Prometheus sees the counters grow
            error = "RateLimitError" if i % 8 == 0 else ("Timeout" if i % 13 == 0 else None)
            append(log, lines(request(f"r{i}", 3000 + 150 * (i % 17), error=error, retried=i % 5 == 0, eval_passed=i % 3 != 0,
                                      model="gpt-4o" if i % 2 else "gpt-4o-mini")))
            if i % 4 == 3:
                time.sleep(1.0)
        prometheus.wait('ALERTS{alertname="LlmobsP95Ms", alertstate="firing"}')
        time.sleep(3)  # every trace let go, and scraped after
        prometheus.wait("llmobs_requests_total")
        reported = json.loads(llmobs(tmp_path, "report", str(log), "-f", "json").stdout)
        assert reported["requests"]["count"] == 40
        assert prometheus.value("sum(llmobs_requests_total)") == 40
        assert math.isclose(prometheus.value('llmobs_request_latency_seconds{quantile="0.95"}') * 1000, reported["requests"]["latency_ms"]["p95"], rel_tol=1e-12)
        assert math.isclose(prometheus.value('llmobs_request_latency_seconds{quantile="0.5"}') * 1000, reported["requests"]["latency_ms"]["p50"], rel_tol=1e-12)
        assert math.isclose(prometheus.value("sum(llmobs_span_errors_total) / sum(llmobs_spans_total)"), reported["errors"]["rate"], rel_tol=1e-12)
        assert math.isclose(prometheus.value("sum(llmobs_cost_usd_total)"), reported["cost"]["total_usd"], rel_tol=1e-9)
        assert prometheus.value('sum(llmobs_evals_total{result="failed"})') == reported["quality"]["failed"]
        assert prometheus.value("sum(llmobs_retried_operations_succeeded_total) / sum(llmobs_retried_operations_total)") == reported["retries"]["success_rate"]
        assert prometheus.value('llmobs_alert_state{rule="p95_ms"}') == 2
        assert not prometheus.query('ALERTS{alertname="LlmobsErrorRate"}')  # neither fires it
        for panel in dashboard()["panels"]:
            for target in panel["targets"]:
                result = prometheus.query(target["expr"].replace("$__rate_interval", "1m"))
                assert result and any(not math.isnan(float(series["value"][1])) for series in result), (panel["title"], target["expr"], result)
    finally:
        prometheus.stop()
        watch.send_signal(signal.SIGINT)
        _, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    assert err.count("llmobs: alert: [FIRING] llmobs p95_ms") == 1 and "error_rate" not in err

"""`llmobs watch` as a user runs it: the real command following a log another process appends to,
alerting a real HTTP server on loopback, stopped with Ctrl-C; a restart that resumes; rotation."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from livelog import append, lines, request

HERE = Path(__file__).parents[1]  # where livelog.py is
WRITER = """
import sys, time
sys.path.insert(0, {here!r})
from livelog import append, lines, request
path, count, latency, pause, prefix = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
for i in range(count):
    append(path, lines(request(f"{{prefix}}{{i}}", latency)))
    time.sleep(pause)
"""


class Webhook:
    """An HTTP server on loopback that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(self.received) >= count, f"{len(self.received)} alerts after {timeout:g} s: {self.received}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():  # type: ignore[no-untyped-def]
    hook = Webhook()
    yield hook
    hook.close()


def configure(folder: Path, **rules: object) -> None:
    body = "\n".join(f"{key} = {json.dumps(value)}" for key, value in rules.items())
    (folder / "pyproject.toml").write_text(f"[tool.llmobs.alerts]\n{body}\n")


class Watch:
    """`llmobs watch ARGS` running in `folder`, its output kept."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "llmobs", "watch", *args], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        first = self.process.stdout.readline()  # type: ignore[union-attr]
        assert " last " in first, first + self.process.stderr.read()  # type: ignore[union-attr]

    def stop(self) -> tuple[int, str, str]:
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=60)
        return self.process.returncode, out, err


def write(folder: Path, log: Path, count: int, latency: float, pause: float, prefix: str) -> subprocess.Popen[bytes]:
    """Another process appending `count` requests of `latency` ms to `log`, one every `pause` seconds."""
    return subprocess.Popen([sys.executable, "-c", WRITER.format(here=str(HERE)), str(log), str(count), str(latency), str(pause), prefix], cwd=folder)


def test_a_breach_alerts_the_webhook_and_the_command_once_firing_and_once_resolved(tmp_path: Path, webhook: Webhook) -> None:
    configure(tmp_path, **{"for": "1s", "window": "6s", "p95_ms": 2000, "error_rate": 0.5})
    log = tmp_path / "agent.jsonl"
    log.write_text("")
    watch = Watch(tmp_path, str(log), "--webhook", webhook.url, "--on-alert", f"cat >> {tmp_path / 'alerts.jsonl'}", "--settle", "0.5s", "--interval", "1s")
    write(tmp_path, log, 10, 5000, 0.05, "slow").wait(30)
    webhook.wait_for(1)
    fast = write(tmp_path, log, 60, 300, 0.25, "fast")
    webhook.wait_for(2)
    fast.wait(60)
    time.sleep(2)
    code, _, err = watch.stop()
    assert code == 0, err
    firing, resolved = webhook.received
    assert (firing["status"], firing["rule"], firing["measured"], firing["limit"], firing["unit"]) == ("firing", "p95_ms", 5000.0, 2000.0, "ms")
    assert firing["text"].startswith("[FIRING] llmobs p95_ms: 5,000 ms, over its ceiling of 2,000 ms (")
    assert (resolved["status"], resolved["rule"], resolved["measured"]) == ("resolved", "p95_ms", 300.0)
    assert resolved["fired_at"] == firing["fired_at"] and resolved["at"] > firing["at"]
    assert [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()] == webhook.received
    assert err.count("llmobs: alert: [FIRING]") == 1 and err.count("llmobs: alert: [RESOLVED]") == 1
    assert "llmobs: watch stopped: 70 requests" in err


def test_a_restart_resumes_where_it_stopped_and_does_not_alert_again(tmp_path: Path, webhook: Webhook) -> None:
    configure(tmp_path, **{"for": "0s", "window": "10m", "p95_ms": 2000})
    log = tmp_path / "agent.jsonl"
    log.write_text(lines(request("before", 100)))  # there before the first watch: not counted
    watch = Watch(tmp_path, str(log), "--webhook", webhook.url, "--settle", "0.2s", "--interval", "1s")
    write(tmp_path, log, 5, 5000, 0.01, "first").wait(30)
    webhook.wait_for(1)
    code, _, err = watch.stop()
    assert code == 0 and "watch stopped: 5 requests" in err
    for i in range(3):  # written while no watch runs
        append(log, lines(request(f"between{i}", 5000)))
    watch = Watch(tmp_path, str(log), "--webhook", webhook.url, "--settle", "0.2s", "--interval", "1s")
    time.sleep(2.5)
    code, _, err = watch.stop()
    assert code == 0 and "watch stopped: 3 requests" in err, err
    assert "[FIRING]" not in err  # still firing from before the restart: not sent again
    assert [alert["status"] for alert in webhook.received] == ["firing"]


def test_copy_and_truncate_rotation_counts_every_request_once(tmp_path: Path) -> None:
    log = tmp_path / "agent.jsonl"
    log.write_text("")
    watch = Watch(tmp_path, str(tmp_path / "agent.jsonl*"), "--settle", "0.2s", "--interval", "1s", "--no-cache")
    write(tmp_path, log, 5, 100, 0.01, "a").wait(30)
    time.sleep(1)
    append(log, lines(request("b0", 100)))  # written just before the rotator's copy
    shutil.copyfile(log, tmp_path / "agent.jsonl.1")
    os.truncate(log, 0)
    write(tmp_path, log, 4, 100, 0.01, "c").wait(30)
    time.sleep(2)
    code, _, err = watch.stop()
    assert code == 0
    assert "watch stopped: 10 requests" in err, err


def test_a_session_log_is_refused_naming_the_file(tmp_path: Path) -> None:
    session = tmp_path / "session.jsonl"
    session.write_text("")
    process = subprocess.Popen([sys.executable, "-m", "llmobs", "watch", str(session), "--no-cache"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    line = {"type": "assistant", "sessionId": "s", "uuid": "u1", "timestamp": "2026-12-01T10:00:00Z",
            "message": {"id": "m", "model": "claude-sonnet-4-5", "role": "assistant", "usage": {"input_tokens": 1, "output_tokens": 1}}}
    append(session, "".join(json.dumps({**line, "uuid": f"u{i}"}) + "\n" for i in range(4)))
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert f"{session}: " in err and "Claude Code session log" in err and "llmobs report" in err


def test_a_webhook_that_is_not_a_url_is_refused_at_the_start(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "llmobs", "watch", str(tmp_path), "--webhook", "hooks.example.com"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == "llmobs: error: --webhook hooks.example.com: not an http:// or https:// URL"

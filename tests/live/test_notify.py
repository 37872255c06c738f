"""Alert delivery against real servers on loopback: a webhook that fails at first is tried again
with back-off, one that refuses is not, one that is not there is a warning; a command gets the JSON."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from llmobs.analysis.alerts import Alert
from llmobs.live.notify import Notifier, post_json, run_command


def server(answers: list[int]) -> tuple[ThreadingHTTPServer, list[bytes]]:
    """A server answering each POST with the next status of `answers` (then 200), keeping the bodies."""
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, bodies


@pytest.fixture
def serve():  # type: ignore[no-untyped-def]
    started = []

    def start(answers: list[int]) -> tuple[str, list[bytes]]:
        httpd, bodies = server(answers)
        started.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/", bodies

    yield start
    for httpd in started:
        httpd.shutdown()
        httpd.server_close()


def test_a_failing_webhook_is_tried_again_with_back_off(serve) -> None:  # type: ignore[no-untyped-def]
    url, bodies = serve([503, 429])
    waits: list[float] = []
    assert post_json(url, b'{"a": 1}', sleep=waits.append) is None
    assert bodies == [b'{"a": 1}'] * 3 and waits == [0.5, 1.0]


def test_a_refusal_is_not_asked_again_and_says_why(serve) -> None:  # type: ignore[no-untyped-def]
    url, bodies = serve([400])
    assert post_json(url, b"{}", sleep=lambda _: None) == "HTTP 400 Bad Request"
    assert len(bodies) == 1


def test_a_webhook_that_is_not_there_is_a_reason_after_every_attempt() -> None:
    waits: list[float] = []
    problem = post_json("http://127.0.0.1:9/", b"{}", sleep=waits.append)
    assert problem is not None and "refused" in problem.lower() and waits == [0.5, 1.0, 2.0]


def test_the_command_gets_the_alert_as_a_json_line_and_failures_are_warnings(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "got.jsonl"
    alert = Alert(status="firing", rule="p95_ms", limit=1.0, kind="ceiling", unit="ms", measured=2.0, scope="2 requests", window_seconds=60.0,
                  fired_at="2026-12-07T00:00:00.000Z", at="2026-12-07T00:00:00.000Z", text="[FIRING] llmobs p95_ms")
    notifier = Notifier(command=f"{sys.executable} -c \"import sys; open({str(out)!r}, 'a').write(sys.stdin.read())\"")
    notifier.send(alert)
    notifier.close()
    assert [json.loads(line) for line in out.read_text().splitlines()] == [alert.model_dump()]
    assert run_command("echo nope >&2; exit 3", b"") == "exited 3: nope"
    failing = Notifier(command="exit 4")
    failing.send(alert)
    failing.close()
    err = capsys.readouterr().err
    assert "llmobs: alert: [FIRING] llmobs p95_ms" in err and "--on-alert command for p95_ms (firing): exited 4" in err

"""Where alerts go: a line on stderr at once, then, on a thread of their own so the watch never
waits on them, a command given the alert's JSON on its stdin and a webhook POSTed the same JSON.

A webhook that fails is tried again with back-off, and a failure that remains is one line on
stderr, never the end of the watch. The JSON has a `text` field, which is what a Slack or
Mattermost incoming webhook shows.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from llmobs.analysis.alerts import Alert
from llmobs.render.text import safe

WEBHOOK_TIMEOUT_SECONDS = 5.0
WEBHOOK_ATTEMPTS = 4
BACKOFF_SECONDS = (0.5, 1.0, 2.0)  # before the second, third and fourth attempts
COMMAND_TIMEOUT_SECONDS = 30.0


def _warn(message: str) -> None:
    sys.stderr.write(safe(message) + "\n")
    sys.stderr.flush()


def post_json(url: str, body: bytes, *, attempts: int = WEBHOOK_ATTEMPTS, sleep: Callable[[float], None] = time.sleep) -> str | None:
    """POST `body` to `url`, trying again on a network error or a 5xx or 429 answer; None when it
    was taken, else what went wrong the last time."""
    problem = None
    for attempt in range(attempts):
        if attempt:
            sleep(BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)])
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "llmobs-watch"})
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as answer:
                answer.read()
            return None
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code} {exc.reason}"
            if exc.code < 500 and exc.code != 429:
                return problem  # the server refuses this alert: asking again will not change that
        except (urllib.error.URLError, OSError, ValueError) as exc:  # ValueError: a URL urllib cannot take
            problem = str(getattr(exc, "reason", exc))
    return problem


def run_command(command: str, body: bytes) -> str | None:
    """Run `command` in the shell with `body` on its stdin; None when it exited 0, else what went wrong."""
    try:
        done = subprocess.run(command, shell=True, input=body, capture_output=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return f"did not finish within {COMMAND_TIMEOUT_SECONDS:g} s"
    except OSError as exc:
        return str(exc)
    if done.returncode:
        last = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        return f"exited {done.returncode}" + (f": {last[0]}" if last[0] else "")
    return None


class Notifier:
    """Sends each alert everywhere it should go, in order."""

    def __init__(self, *, command: str | None = None, webhook: str | None = None) -> None:
        self.command = command
        self.webhook = webhook
        self.sent = 0
        self._queue: queue.Queue[Alert | None] = queue.Queue()
        self._thread = threading.Thread(target=self._send_all, name="llmobs-alerts", daemon=True)
        if command or webhook:
            self._thread.start()

    def send(self, alert: Alert) -> None:
        _warn(f"llmobs: alert: {alert.text}")
        if self.command or self.webhook:
            self._queue.put(alert)

    def _send_all(self) -> None:
        while (alert := self._queue.get()) is not None:
            body = alert.model_dump_json().encode("utf-8")
            if self.command:
                problem = run_command(self.command, body + b"\n")  # one JSON line: `cat >> alerts.jsonl` keeps a log of them
                if problem:
                    _warn(f"llmobs: warning: --on-alert command for {alert.rule} ({alert.status}): {problem}")
            if self.webhook:
                problem = post_json(self.webhook, body)
                if problem:
                    _warn(f"llmobs: warning: webhook for {alert.rule} ({alert.status}) not delivered after {WEBHOOK_ATTEMPTS} attempts: {problem}")
            self.sent += 1

    def close(self, timeout: float = 15.0) -> None:
        """Send what is queued (waiting at most `timeout` seconds), then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

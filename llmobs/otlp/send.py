"""OTLP/HTTP: POST trace documents to a collector, as JSON or protobuf, with retries.

Retries follow the OTLP/HTTP spec: 429, 502, 503 and 504 (and connection failures) are retried
with exponential backoff, honouring `Retry-After`; any other refusal stops at once with the
collector's status and message, since sending the same data again would be refused again.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from llmobs.errors import LlmobsError

RETRYABLE = {429, 502, 503, 504}


class ExportError(LlmobsError):
    """The collector refused the data or could not be reached."""


def encode_body(document: dict[str, Any], protocol: str) -> tuple[bytes, str]:
    if protocol == "http/json":
        return json.dumps(document, separators=(",", ":")).encode(), "application/json"
    if protocol == "http/protobuf":
        from google.protobuf.json_format import ParseError

        from llmobs.otlp.proto import protobuf_from_otlp_json

        try:
            return protobuf_from_otlp_json(document), "application/x-protobuf"
        except ParseError as exc:  # valid records, but a time past OTLP's fixed64 nanoseconds (after 2554)
            raise ExportError(f"the data cannot be encoded as OTLP protobuf ({exc}); times after the year 2554 do not fit it: use --protocol http/json") from None
    raise ExportError(f"unknown OTLP protocol {protocol!r}: use http/json or http/protobuf")


def traces_url(endpoint: str) -> str:
    """The collector's traces URL: an endpoint without a path gets the standard `/v1/traces`."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ExportError(f"{endpoint!r} is not an http(s) URL, e.g. http://localhost:4318")
    return endpoint if parts.path not in ("", "/") else endpoint.rstrip("/") + "/v1/traces"


class Sender:
    """Sends documents to a collector one at a time as they are produced, counting the requests made."""

    def __init__(self, endpoint: str, *, protocol: str = "http/json", headers: dict[str, str] | None = None,
                 timeout: float = 10.0, retries: int = 5, backoff: float = 0.5, sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = traces_url(endpoint)
        self.protocol = protocol
        self.headers = headers or {}
        self.timeout, self.retries, self.backoff, self.sleep = timeout, retries, backoff, sleep
        self.requests = 0

    def send(self, document: dict[str, Any]) -> None:
        body, content_type = encode_body(document, self.protocol)
        _post(self.url, body, {"Content-Type": content_type, **self.headers}, self.timeout, self.retries, self.backoff, self.sleep)
        self.requests += 1


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float, retries: int, backoff: float, sleep: Callable[[float], None]) -> None:
    for attempt in range(retries + 1):
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        delay = backoff * 2**attempt
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
                return
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:300].decode("utf-8", "replace").strip()
            if exc.code not in RETRYABLE or attempt == retries:
                raise ExportError(f"{url} refused the traces: HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")) from None
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            if retry_after and retry_after.isdigit():
                delay = float(retry_after)
        except (urllib.error.URLError, OSError) as exc:
            if attempt == retries:
                reason = getattr(exc, "reason", exc)
                raise ExportError(f"cannot reach {url}: {reason} (after {retries + 1} attempts)") from None
        sleep(delay)

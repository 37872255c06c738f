"""Guards that keep the logger's own failures away from the host application.

The logger must never crash an agent: an internal error is reported once on stderr and the
application goes on. Tests opt into raising instead (`llmobs.testing.capture`), by injection.
"""

from __future__ import annotations

import sys
import threading

_reported: set[str] = set()
_lock = threading.Lock()
raise_internal_errors = False


def warn_once(key: str, message: str) -> None:
    """Print `message` on stderr the first time `key` is seen in this process."""
    with _lock:
        if key in _reported:
            return
        _reported.add(key)
    try:
        sys.stderr.write(f"llmobs: {message}\n")
        sys.stderr.flush()
    except Exception:  # stderr itself may be closed; there is nowhere left to report to
        pass


def internal_error(where: str, exc: BaseException) -> None:
    """Report a bug in the logger itself without disturbing the application (unless under test)."""
    if raise_internal_errors:
        raise exc
    warn_once(f"internal:{where}:{type(exc).__name__}", f"internal error in {where}: {exc!r} (please report it)")

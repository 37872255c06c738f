"""Hand freed heap memory back to the operating system after the reader's peaks.

Reading makes millions of short-lived objects and thousands of small column chunks; once they are
freed, glibc keeps the pages for reuse, so a process that has moved on to its columns still holds
them. `malloc_trim` returns them. Elsewhere (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
from functools import cache


@cache
def _malloc_trim():  # type: ignore[no-untyped-def]
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library already loaded in this process: nothing to find or spawn
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Return the heap's free pages to the operating system, where the C library allows it."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)

"""One text form per quantity, shared by the checklist's answers and every renderer, so a p95 or a
cost reads the same wherever it is shown. Pure functions of numbers; no imports beyond the language.
"""

from __future__ import annotations

import math

MISSING = "—"


def offset(value: float) -> str:
    """A span's start from its request's start: `+0 ms` for the start itself, else `+` and the duration."""
    return "+0 ms" if value == 0 else f"+{ms(value)}"


def ms(value: float | None) -> str:
    """A duration given in milliseconds, in the unit that keeps it readable: ms below 10 s, then s,
    min and h (totals of many spans run to hours)."""
    if value is None:
        return MISSING
    size = abs(value)
    if size < 1:
        return f"{value:.2f} ms"
    if size < 100:
        return f"{value:.1f} ms"
    if size < 10_000:
        return f"{value:,.0f} ms"
    if size < 600_000:
        return f"{value / 1000:,.1f} s"
    if size < 36_000_000:
        return f"{value / 60_000:,.1f} min"
    if size < 3.6e15:
        return f"{value / 3_600_000:,.1f} h"
    return f"{value / 3_600_000:.3g} h"  # a billion hours and more: a broken clock, shown short


def pct(value: float | None) -> str:
    """A fraction as a percentage; a small non-zero one keeps two significant digits, never 0.0%."""
    if value is None:
        return MISSING
    if value != 0 and abs(value) < 0.001:
        return f"{value * 100:.2g}%"
    return f"{value * 100:.1f}%"


def change(value: float | None) -> str:
    """A relative change (0.2 = +20 %), signed."""
    return MISSING if value is None else f"{value * 100:+.1f}%"


def usd(value: float | None) -> str:
    """Dollars: cents from $1 up, else three significant digits, so no non-zero cost reads as zero."""
    if value is None:
        return MISSING
    if value == 0 or abs(value) >= 1:
        return f"${value:,.2f}"
    decimals = max(2, 2 - math.floor(math.log10(abs(value))))
    return f"${value:.{decimals}f}"


def count(value: float | None) -> str:
    return MISSING if value is None else f"{round(value):,}"


def size(n: int | None) -> str:
    """Bytes in the largest binary unit that keeps the number at 1 or more: `254.3 MiB`."""
    if n is None:
        return MISSING
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n:,} B" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def period(seconds: float) -> str:
    """A window's length in its own unit: `30 s`, `5 min`, `1 h`."""
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds % 60 == 0 else f"{seconds:g} s"


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 request`, `2 requests`, with the count."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


UNITS = {
    "ms": ms, "rate": pct, "usd": usd, "change": change,
    "tokens": lambda v: MISSING if v is None else f"{v:,.0f} tokens",
    "minutes": lambda v: MISSING if v is None else f"{v:,.1f} min",
    "number": lambda v: MISSING if v is None else f"{v:,.4g}",
}


def with_unit(value: float | None, unit: str) -> str:
    """`value` in the form of its `unit`: ms, rate, usd, tokens, change, minutes or number."""
    return UNITS[unit](value)

"""Select whole requests: every filter keeps or drops a trace with all its records, so all answers
are about the same set of requests."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np

from llmobs.analysis.names import NameRules, name_matcher
from llmobs.errors import ConfigError
from llmobs.read.columns import Columns, Strings, to_micros
from llmobs.read.settle import take_rows


@dataclass(frozen=True)
class Filters:
    """`since`/`until` bound a request's start (UTC, until exclusive); names and models are globs."""

    since: datetime | None = None
    until: datetime | None = None
    names: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    name_rules: NameRules | None = None  # --name globs match a span name as written or as normalised by these

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.names or self.models)

    def describe(self) -> str:
        """The filters as the options that set them, for messages."""
        parts = []
        if self.since:
            parts.append(f"--since {self.since.isoformat().replace('+00:00', 'Z')}")
        if self.until:
            parts.append(f"--until {self.until.isoformat().replace('+00:00', 'Z')} (exclusive)")
        parts += [f"--name {glob}" for glob in self.names] + [f"--model {glob}" for glob in self.models]
        return " ".join(parts)


def parse_moment(text: str, *, end: bool = False) -> datetime:
    """`2026-10`, `2026-10-31` or an RFC 3339 time; with `end`, a date or month means its end."""
    value = text.strip()
    try:
        if len(value) == 7:
            start = datetime.strptime(value, "%Y-%m").replace(tzinfo=timezone.utc)
            if not end:
                return start
            return (start + timedelta(days=32)).replace(day=1)
        if len(value) == 10:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            return day + timedelta(days=1) if end else day
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{text!r} is not a date: use YYYY-MM, YYYY-MM-DD or an RFC 3339 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _matching_codes(strings: Strings, patterns: tuple[str, ...]) -> np.ndarray:
    return np.array([code for code, value in enumerate(strings.values) if any(fnmatch.fnmatchcase(value, p) for p in patterns)], dtype=np.int64)


def trace_times(columns: Columns) -> np.ndarray:
    """Each trace's time: its root span's start, else its earliest record (µs since the epoch)."""
    times = np.full(len(columns.trace_ids), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(times, columns.spans.trace, columns.spans.start_us)
    np.minimum.at(times, columns.usage.trace, columns.usage.time_us)
    np.minimum.at(times, columns.evals.trace, columns.evals.time_us)
    roots = columns.spans.is_root
    times[columns.spans.trace[roots]] = columns.spans.start_us[roots]
    return times


def select(columns: Columns, filters: Filters) -> Columns:
    """The columns restricted to the requests that pass every filter."""
    if not filters.active:
        return columns
    return _take(columns, _kept(columns, filters))


def kept_trace_ids(columns: Columns, filters: Filters) -> set[str]:
    """The ids of the traces that pass every filter."""
    values = columns.trace_ids.values
    return {values[code] for code in np.flatnonzero(_kept(columns, filters))}


def _kept(columns: Columns, filters: Filters) -> np.ndarray:
    """Per trace code: whether the trace passes every filter."""
    keep = np.ones(len(columns.trace_ids), dtype=bool)
    if filters.since or filters.until:
        times = trace_times(columns)
        if filters.since:
            keep &= times >= to_micros(filters.since)
        if filters.until:
            keep &= times < to_micros(filters.until)
    if filters.names:
        named = np.zeros_like(keep)
        matches = name_matcher(filters.names, filters.name_rules)
        codes = np.array([code for code, value in enumerate(columns.names.values) if matches(value)], dtype=np.int64)
        named[columns.spans.trace[np.isin(columns.spans.name, codes)]] = True
        keep &= named
    if filters.models:
        modelled = np.zeros_like(keep)
        codes = _matching_codes(columns.models, filters.models)
        modelled[columns.usage.trace[np.isin(columns.usage.model, codes)]] = True
        modelled[columns.spans.trace[np.isin(columns.spans.model, codes)]] = True
        keep &= modelled
    return keep


def _take(columns: Columns, keep_trace: np.ndarray) -> Columns:
    return take_rows(columns, keep_trace[columns.spans.trace], keep_trace[columns.usage.trace], keep_trace[columns.evals.trace])

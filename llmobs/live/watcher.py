"""One watch from start to stop: the loop of `llmobs watch`.

    follow (complete lines since the last look) → decode (the reader's own decoder and judges)
        → pending (until each trace is whole) → settle, name, price → windows and metrics
        → every second: the window's report → each rule measured → alerts → view

The watch starts at the logs' ends, where an earlier watch of the same paths stopped, or (with
`from_start`) reads what is there through the cache first, then follows from where that read ended.
"""

from __future__ import annotations

import io
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llmobs.analysis.alerts import Alert, LiveStatus, RuleSpec, RuleStatus, measure
from llmobs.analysis.names import NameRules, normalize_names
from llmobs.errors import InputError
from llmobs.live.alerting import RuleState, moment, step
from llmobs.live.follow import FINGERPRINT_BYTES, Follower, Identity, Lines, Position, discover, fingerprint_of
from llmobs.live.metrics import LiveMetrics
from llmobs.live.notify import Notifier
from llmobs.live.pending import PendingTraces
from llmobs.live.state import WatchState, load_state, save_state
from llmobs.live.windows import Windows
from llmobs.pricing import Pricer
from llmobs.read.cache import Cache, read_complete_lines
from llmobs.read.columns import Columns
from llmobs.read.decode import decode_stream
from llmobs.read.load import AGENT_NAMES, mostly_agent_lines
from llmobs.read.merge import merge_columns
from llmobs.read.settle import settle
from llmobs.read.sources import Source, plain_lines_file
from llmobs.read.stats import InputStats

EVENTS_KEPT = 20


@dataclass
class WatchSettings:
    targets: list[str]
    window: float = 300.0  # seconds
    settle: float = 2.0  # seconds a trace with its root must go unwritten to count as whole
    max_wait: float = 600.0  # seconds after which a trace whose root never came is counted as it is
    from_start: bool = False
    by: str = "name"


class Watcher:
    """The state of one watch; `poll` reads and counts, `evaluate` measures and alerts."""

    def __init__(self, settings: WatchSettings, rules: list[RuleSpec], pricer: Pricer, name_rules: NameRules | None, notifier: Notifier,
                 *, metrics: LiveMetrics | None = None, state_file: Path | None = None, cache: Cache | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.pricer = pricer
        self.name_rules = name_rules
        self.notifier = notifier
        self.metrics = metrics
        self.state_file = state_file
        self.clock = clock
        self.started = clock()
        self.stats = InputStats()
        self.pending = PendingTraces(settings.settle, settings.max_wait)
        self.windows = Windows(settings.window, pricer, settings.by)
        self.events: list[str] = []
        self.files_read: set[str] = set()
        self.warnings: list[str] = []
        saved = load_state(state_file) if state_file is not None else WatchState()
        self.rules = [RuleState(spec) for spec in rules]
        for rule in self.rules:
            if rule.spec.name in saved.firing:  # fired before the restart: not sent again
                rule.state, rule.fired_at = "firing", saved.firing[rule.spec.name]
        positions = self._read_existing(cache) if settings.from_start else dict(saved.positions)
        # Resumed, a file the last watch did not know counts from its start only if written since it stopped.
        self.follower = Follower(settings.targets, start_at_end=not settings.from_start, resume=positions,
                                 new_since=None if settings.from_start else saved.saved_at)
        self.read_up_to: deque[tuple[float, dict[Identity, Position]]] = deque([(self.started, self.follower.positions())])

    def _read_existing(self, cache: Cache | None) -> dict[Identity, Position]:
        """With `from_start`: the complete lines already in the plain log files, through the cache,
        counted now; where each read ended, for the follower to go on from."""
        positions: dict[Identity, Position] = {}
        if cache is None:
            return positions
        parts: list[Columns] = []
        for path in discover(self.settings.targets):
            source = Source(path)
            if not plain_lines_file(source):
                continue
            state = os.stat(path)
            own = InputStats()
            columns, end = read_complete_lines(source, cache, (), 1, own)
            parts += columns
            self.stats.add(own, path)
            with open(path, "rb") as handle:
                fingerprint = fingerprint_of(handle.read(FINGERPRINT_BYTES))
            positions[(state.st_dev, state.st_ino)] = Position(end, own.lines + 1, fingerprint)
        if parts:  # waiting like any new lines: a trace the file holds only part of yet is made whole by what follows
            self.pending.add([merge_columns(parts)], self.clock())
        return positions

    def poll(self) -> int:
        """Read what was written since the last poll and count the traces now whole; the lines read."""
        now = self.clock()
        found = self.follower.poll()
        self.read_up_to.append((now, self.follower.positions()))
        self._note(self.follower.events)
        self.follower.events.clear()
        parts: list[Columns] = []
        lines = 0
        for chunk in found:
            parts += self._decode(chunk)
            lines += chunk.data.count(b"\n")
        session_log = mostly_agent_lines(self.stats) if self.stats.agent_lines else None
        if session_log is not None:
            name, agent = session_log[0], AGENT_NAMES[session_log[1]]
            raise InputError(f"{name}: a {agent} session log, which `llmobs watch` does not follow (it follows logs of records: llmobs' own, "
                             f"and OTLP lines); read it with `llmobs report {name}`")
        self.pending.add(parts, now)
        ready = self.pending.take_ready(now)
        if ready is not None:
            self._count(ready, now)
        return lines

    def _decode(self, chunk: Lines) -> list[Columns]:
        if chunk.name not in self.files_read:
            self.files_read.add(chunk.name)
            self.stats.files += 1
        return decode_stream(chunk.name, io.BytesIO(chunk.data), (), self.stats, read_ahead=False, first_line=chunk.first_line)

    def _count(self, columns: Columns, now: float) -> None:
        """Whole traces: settled (duplicates, rollups, weights), named, and counted everywhere."""
        columns, duplicates, rollups = settle(columns)
        self.stats.duplicates += duplicates
        self.stats.rollups += rollups
        if self.name_rules is not None:
            columns, _ = normalize_names(columns, self.name_rules)
        self.windows.add(columns, now)
        if self.metrics is not None:
            self.metrics.add(columns, self.pricer.price(columns))

    def _note(self, events: list[str]) -> None:
        for event in events:
            self.events.append(f"{moment(self.clock())} {event}")
        del self.events[:-EVENTS_KEPT]

    def evaluate(self) -> tuple[LiveStatus, list[Alert]]:
        """The view now, and the alerts the rules' changes make (already sent)."""
        now = self.clock()
        window, part = self.windows.window_report(now, self.stats)
        total = self.windows.total_report(self.stats)
        last = self.windows.last_request_end
        idle = now - (last if last is not None else self.started)
        alerts = []
        for rule in self.rules:
            alert = step(rule, measure(rule.spec, window, part, self.settings.window, max(idle, 0.0)), now, self.settings.window)
            if alert is not None:
                self.notifier.send(alert)
                alerts.append(alert)
        watched = min(self.settings.window, max(now - self.started, 1.0)) if not self.settings.from_start else self.settings.window
        status = LiveStatus(
            at=moment(now), started_at=moment(self.started), window_seconds=self.settings.window, window=window, total=total,
            requests_per_minute=window.requests.count / (watched / 60) if window.requests.kept or window.requests.count else 0.0,
            rules=[RuleStatus(name=r.spec.name, state=r.shown, measured=r.measurement.value if r.measurement else None,
                              reason=r.measurement.reason if r.measurement else None, limit=r.spec.limit, kind=r.spec.kind, unit=r.spec.unit)
                   for r in self.rules],
            files=len(list(self.follower.names())), waiting_traces=self.pending.traces, events=list(self.events),
        )
        if self.metrics is not None:
            self.metrics.show(status)
        return status, alerts

    def _counted_up_to(self) -> dict[Identity, Position]:
        """Where reading had got to at the latest look before the first still-waiting trace was
        first written to: everything before it is counted, so a watch that is killed and started
        again reads on from there and loses nothing."""
        waiting_since = float(self.pending.first_seen.min()) if self.pending.traces else float("inf")
        while len(self.read_up_to) > 1 and self.read_up_to[1][0] < waiting_since:
            self.read_up_to.popleft()
        return self.read_up_to[0][1]

    def save(self) -> None:
        """Keep where reading got to and which rules fire, for the next watch of these paths."""
        if self.state_file is None:
            return
        state = WatchState(saved_at=self.clock(), positions=self._counted_up_to(),
                           firing={r.spec.name: r.fired_at if r.fired_at is not None else self.clock() for r in self.rules if r.firing})
        problem = save_state(self.state_file, state)
        if problem is not None and problem not in self.warnings:
            self.warnings.append(problem)

    def stop(self) -> LiveStatus:
        """Count what is still waiting (as it is), keep the state, and give the last view."""
        now = self.clock()
        rest = self.pending.take_ready(now, everything=True)
        if rest is not None:
            self._count(rest, now)
        status, _ = self.evaluate()
        self.save()
        self.follower.close()
        self.notifier.close()
        return status

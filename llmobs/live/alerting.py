"""Each rule's state from one evaluation to the next, and the alerts its changes make.

A rule breached goes pending; breached for its `for` it fires, once. A firing rule back inside its
limit by the hysteresis is recovering; recovered for its `for` it resolves, once. A measurement in
between (inside the limit, not yet by the hysteresis) keeps a firing rule firing. A rule that
cannot be measured (no data in the window) is shown as such: a pending one starts over, and a
firing one stays firing, since nothing shows it recovered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from llmobs.analysis.alerts import Alert, Measurement, RuleSpec
from llmobs.render.live import alert_text


@dataclass
class RuleState:
    spec: RuleSpec
    state: str = "ok"  # ok, pending, firing, recovering
    since: float | None = None  # when it went pending or recovering (seconds since the epoch)
    fired_at: float | None = None
    measurement: Measurement | None = None

    @property
    def firing(self) -> bool:
        return self.state in ("firing", "recovering")

    @property
    def shown(self) -> str:
        """The state as the view shows it."""
        if self.measurement is not None and self.measurement.value is None:
            return "firing, no data" if self.firing else "no data"
        return self.state


def moment(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def step(rule: RuleState, measurement: Measurement, now: float, window: float) -> Alert | None:
    """`rule` moved on by one measurement at `now`; the alert it makes, if it fired or resolved."""
    rule.measurement = measurement
    value = measurement.value
    spec = rule.spec
    if value is None:
        if rule.state == "pending":
            rule.state, rule.since = "ok", None
        elif rule.state == "recovering":
            rule.state, rule.since = "firing", None
        return None
    if spec.breached(value):
        if rule.state == "ok":
            rule.state, rule.since = "pending", now
        elif rule.state == "recovering":
            rule.state, rule.since = "firing", None
        if rule.state == "pending" and now - _since(rule, now) >= spec.for_seconds:
            rule.state, rule.since, rule.fired_at = "firing", None, now
            return _alert("firing", rule, measurement, now, window)
        return None
    if rule.state == "pending":
        rule.state, rule.since = "ok", None
    elif rule.firing and spec.recovered(value):
        if rule.state == "firing":
            rule.state, rule.since = "recovering", now
        if now - _since(rule, now) >= spec.for_seconds:
            alert = _alert("resolved", rule, measurement, now, window)
            rule.state, rule.since, rule.fired_at = "ok", None, None
            return alert
    elif rule.state == "recovering":
        rule.state, rule.since = "firing", None
    return None


def _since(rule: RuleState, now: float) -> float:
    return rule.since if rule.since is not None else now


def _alert(status: str, rule: RuleState, measurement: Measurement, now: float, window: float) -> Alert:
    spec = rule.spec
    alert = Alert(status=status, rule=spec.name, limit=spec.limit, kind=spec.kind, unit=spec.unit, measured=measurement.value, scope=measurement.scope,
                  window_seconds=window, fired_at=moment(rule.fired_at if rule.fired_at is not None else now), at=moment(now))
    return alert.model_copy(update={"text": alert_text(alert)})

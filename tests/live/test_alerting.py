"""A rule's states over a sequence of measurements: it fires once after its `for`, resolves once
after recovering by the hysteresis for its `for`, and never says OK when it could not measure."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llmobs.analysis.alerts import Measurement, RuleSpec
from llmobs.live.alerting import RuleState, step


def spec(kind: str = "ceiling", limit: float = 100.0, for_seconds: float = 10.0, hysteresis: float = 0.1, unit: str = "ms") -> RuleSpec:
    return RuleSpec(name="p95_ms", key="p95_ms", limit=limit, kind=kind, for_seconds=for_seconds, hysteresis=hysteresis, unit=unit)


def run(rule: RuleState, values: list[float | None], every: float = 5.0) -> list[tuple[float, str, float | None]]:
    """(time, status, measured) of each alert the values make, one measurement every `every` seconds."""
    alerts = []
    for index, value in enumerate(values):
        alert = step(rule, Measurement(value=value, reason=None if value is not None else "no requests in the window"), index * every, 300.0)
        if alert is not None:
            alerts.append((index * every, alert.status, alert.measured))
    return alerts


def test_fires_once_after_for_and_resolves_once_after_recovering_for_as_long() -> None:
    rule = RuleState(spec())
    alerts = run(rule, [50, 150, 150, 150, 200, 95, 85, 85, 85, 80])
    assert alerts == [(15.0, "firing", 150), (40.0, "resolved", 85)]  # 95 is inside the limit but not by 10 %: still firing
    assert rule.state == "ok"


def test_a_breach_shorter_than_for_never_fires() -> None:
    assert run(RuleState(spec()), [150, 150, 50, 150, 150, 50]) == []


def test_a_relapse_while_recovering_keeps_it_firing_without_a_second_alert() -> None:
    rule = RuleState(spec())
    assert run(rule, [150, 150, 150, 80, 150, 80, 80, 80]) == [(10.0, "firing", 150), (35.0, "resolved", 80)]


def test_no_data_is_never_ok_and_never_resolves() -> None:
    rule = RuleState(spec())
    assert run(rule, [None]) == [] and rule.shown == "no data"
    rule = RuleState(spec())
    alerts = run(rule, [150, 150, 150, None, None, None])
    assert alerts == [(10.0, "firing", 150)]
    assert rule.shown == "firing, no data"


def test_a_floor_fires_below_and_resolves_back_by_the_hysteresis_of_its_distance_to_one() -> None:
    rule = RuleState(spec(kind="floor", limit=0.9, for_seconds=0, hysteresis=0.5, unit="rate"))
    assert run(rule, [0.95, 0.8, 0.92, 0.96]) == [(5.0, "firing", 0.8), (15.0, "resolved", 0.96)]  # back at 0.9 + 0.5·0.1 = 0.95


@given(st.lists(st.one_of(st.none(), st.floats(0, 300)), max_size=60), st.sampled_from([0.0, 5.0, 20.0]))
def test_alerts_alternate_firing_then_resolved_and_each_fits_its_measurement(values, for_seconds) -> None:  # type: ignore[no-untyped-def]
    rule_spec = spec(for_seconds=for_seconds)
    alerts = run(RuleState(rule_spec), values)
    assert [status for _, status, _ in alerts] == ["firing", "resolved"] * (len(alerts) // 2) + (["firing"] if len(alerts) % 2 else [])
    for _, status, measured in alerts:
        assert measured is not None
        assert rule_spec.breached(measured) if status == "firing" else rule_spec.recovered(measured)

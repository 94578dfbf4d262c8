"""Rule evaluation: when series fire and resolve, with time passed in explicitly."""

from __future__ import annotations

import pytest

from agent.report import Sample
from rules.engine import RuleEngine
from tests.rules.conftest import RuleFactory, report

THRESHOLD = """\
group: t
rules:
  - name: MemHigh
    priority: P2
    metric: memory_used_ratio
    above: 0.9
    clear_below: 0.8
    for: {for_}
    summary: "mem {{{{ value }}}}"
"""


def mem(value: float) -> Sample:
    return Sample("memory_used_ratio", value)


def kinds(signals: list) -> list[str]:  # type: ignore[type-arg]
    return [s.kind.value for s in signals]


def test_value_bouncing_around_threshold_opens_one_incident(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(THRESHOLD.format(for_="0s")))
    seen: list[str] = []
    for t, value in enumerate([0.95, 0.89, 0.91, 0.85, 0.93, 0.81, 0.79]):
        seen += kinds(engine.evaluate(report("h1", mem(value)), float(t)))
    assert seen == ["fire", "resolve"], "stays open between 0.8 and 0.9; resolves under 0.8"


def test_breach_must_last_for_duration_and_fires_on_the_tick(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(THRESHOLD.format(for_="5m")))
    assert engine.evaluate(report("h1", mem(0.95)), 1000.0) == []
    assert engine.tick(1299.0) == []
    fired = engine.tick(1300.0)
    assert kinds(fired) == ["fire"] and fired[0].since == 1000.0 and fired[0].value == 0.95
    assert engine.tick(1400.0) == [], "fires once"


def test_pending_breach_that_recovers_never_fires(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(THRESHOLD.format(for_="5m")))
    engine.evaluate(report("h1", mem(0.95)), 0.0)
    assert engine.evaluate(report("h1", mem(0.5)), 100.0) == []
    assert engine.tick(1000.0) == []


def test_each_label_set_is_its_own_series(ruleset_from: RuleFactory) -> None:
    rules = ruleset_from(
        THRESHOLD.format(for_="0s").replace("memory_used_ratio", "filesystem_used_ratio")
    )
    engine = RuleEngine(rules)
    root = Sample("filesystem_used_ratio", 0.95, {"mountpoint": "/"})
    var = Sample("filesystem_used_ratio", 0.97, {"mountpoint": "/var"})
    signals = engine.evaluate(report("h1", root, var), 0.0)
    assert sorted(s.labels["mountpoint"] for s in signals) == ["/", "/var"]
    assert len({s.key for s in signals}) == 2


def test_series_gone_from_a_healthy_probe_resolves(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(THRESHOLD.format(for_="0s")))
    engine.evaluate(report("h1", mem(0.95)), 0.0)
    signals = engine.evaluate(report("h1"), 10.0)
    assert kinds(signals) == ["resolve"] and signals[0].reason == "series no longer reported"


def test_failing_probe_keeps_its_series_open(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(THRESHOLD.format(for_="0s")))
    engine.evaluate(report("h1", mem(0.95)), 0.0)
    assert engine.evaluate(report("h1", status="error"), 10.0) == []
    assert len(engine.states) == 1


def test_target_files_samples_under_the_device_host(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(THRESHOLD.format(for_="0s")))
    signals = engine.evaluate(report("agent1", mem(0.95), probe="snmp:ups", target="ups1"), 0.0)
    assert [s.host for s in signals] == ["ups1"]
    assert set(engine.last_seen) == {"ups1"}


ABSENT = """\
group: t
rules:
  - name: Silent
    priority: P2
    absent: 2m
    summary: "{{ host }} silent {{ value | duration }}"
"""


def test_silent_host_fires_on_timer_and_resolves_on_next_report(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(ABSENT))
    engine.evaluate(report("h1"), 0.0)
    assert engine.tick(119.0) == []
    fired = engine.tick(121.0)
    assert kinds(fired) == ["fire"] and fired[0].host == "h1" and fired[0].value == 121.0
    assert engine.tick(200.0) == []
    assert kinds(engine.evaluate(report("h1"), 210.0)) == ["resolve"]


def test_host_known_from_before_restart_is_watched(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(ABSENT))
    engine.remember_host("old", last_seen=0.0)
    assert [s.host for s in engine.tick(500.0)] == ["old"]


def test_a_forgotten_host_never_fires_again(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(THRESHOLD.format(for_="5m") + ABSENT.split("rules:\n")[1]))
    for host in ("gone", "kept"):
        engine.evaluate(report(host, mem(0.95)), 0.0)  # pending, and watched for silence
    assert engine.forget_host("gone") == 1
    assert {s.host for s in engine.tick(1000.0)} == {"kept"}, "no pending fire, no silence"
    assert set(engine.checkpoint()) <= {"kept"} and set(engine.last_seen) == {"kept"}


RATE = """\
group: t
rules:
  - name: SwapIn
    priority: P2
    metric: swap_in_bytes_total
    function: rate
    above: 1000
    clear_below: 100
    summary: "x"
"""


def test_rate_uses_consecutive_counter_values_and_survives_reset(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(RATE))

    def at(t: float, v: float) -> list[str]:
        return kinds(engine.evaluate(report("h", Sample("swap_in_bytes_total", v)), t))

    assert at(0, 0) == [], "first point has no rate"
    assert at(10, 5_000) == [], "500 B/s"
    assert at(20, 25_000) == ["fire"], "2000 B/s"
    assert at(30, 10) == [], "counter reset: no rate, no change"
    assert at(40, 500) == ["resolve"], "49 B/s"


PREDICT = """\
group: t
rules:
  - name: FillsSoon
    priority: P2
    metric: filesystem_used_ratio
    predict: {window: 1h, horizon: 24h}
    above: 1.0
    summary: "x"
"""


def test_linear_prediction_fires_when_the_trend_crosses(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(PREDICT))
    signals: list[str] = []
    # Growing 1% per hour from 50%: full in 50 h, so no alert with a 24 h horizon...
    for minute in range(0, 61, 10):
        used = 0.50 + 0.01 * minute / 60
        signals += kinds(
            engine.evaluate(report("h", Sample("filesystem_used_ratio", used)), minute * 60.0)
        )
    assert signals == []
    # ...then 3% per hour: full well within 24 h.
    for minute in range(70, 200, 10):
        used = 0.51 + 0.03 * (minute - 60) / 60
        signals += kinds(
            engine.evaluate(report("h", Sample("filesystem_used_ratio", used)), minute * 60.0)
        )
    assert signals == ["fire"]


STATE = """\
group: t
rules:
  - name: ArrayBad
    priority: P1
    metric: raid_array_state
    in: [degraded, failed]
    summary: "{{ labels.array }} is {{ value }}"
"""


def test_state_match_on_string_values(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(STATE))
    clean = Sample("raid_array_state", "clean", {"array": "md0"})
    degraded = Sample("raid_array_state", "degraded", {"array": "md0"})
    assert engine.evaluate(report("h", clean), 0.0) == []
    fired = engine.evaluate(report("h", degraded), 1.0)
    assert kinds(fired) == ["fire"] and fired[0].value == "degraded"
    assert kinds(engine.evaluate(report("h", clean), 2.0)) == ["resolve"]


def test_probe_success_is_synthesised_for_rules(ruleset_from: RuleFactory) -> None:
    text = THRESHOLD.format(for_="0s").replace("memory_used_ratio", "probe_success")
    text = text.replace("above: 0.9\n    clear_below: 0.8", "below: 0.5")
    engine = RuleEngine(ruleset_from(text))
    fired = engine.evaluate(report("h", probe="smart", status="error"), 0.0)
    assert kinds(fired) == ["fire"] and fired[0].labels == {"probe": "smart"}
    assert kinds(engine.evaluate(report("h", probe="smart"), 1.0)) == ["resolve"]


def test_restored_incident_resolves_when_value_recovers(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(THRESHOLD.format(for_="0s")))
    assert engine.restore_firing("MemHigh", "h1", {}, since=0.0, probe="host")
    assert not engine.restore_firing("NoSuchRule", "h1", {}, since=0.0)
    assert kinds(engine.evaluate(report("h1", mem(0.5)), 10.0)) == ["resolve"]


INCREASE = """\
group: t
rules:
  - name: ReallocRising
    priority: P2
    metric: smart_reallocated_sectors
    match: {device: "~/dev/.*"}
    function: increase
    window: 24h
    above: 0
    summary: "x"
"""


def test_increase_over_window_stays_open_while_cached_values_repeat(
    ruleset_from: RuleFactory,
) -> None:
    engine = RuleEngine(ruleset_from(INCREASE))

    def at(hours: float, value: float) -> list[str]:
        sample = Sample("smart_reallocated_sectors", value, {"device": "/dev/sda"})
        return kinds(engine.evaluate(report("h", sample, probe="smart"), hours * 3600))

    assert at(0, 8) == [], "first reading: nothing to compare"
    assert at(1, 8) == []
    assert at(2, 12) == ["fire"], "grew by 4"
    assert at(3, 12) == [] and at(20, 12) == [], "the same cached value does not resolve it"
    assert at(26.5, 12) == ["resolve"], "no growth in the last 24 h"


INHIBIT = """\
group: t
rules:
  - name: NoRedundancy
    priority: P1
    metric: raid_array_redundancy_left
    below: 0.5
    summary: "x"
  - name: Degraded
    priority: P2
    metric: raid_array_degraded
    above: 0.5
    inhibited_by: [NoRedundancy]
    summary: "x"
"""


def test_inhibited_rule_stays_quiet_while_the_stronger_one_fires(
    ruleset_from: RuleFactory,
) -> None:
    engine = RuleEngine(ruleset_from(INHIBIT))

    def array(degraded: float, left: float, t: float) -> list[tuple[str, str]]:
        labels = {"array": "md0"}
        samples = (
            Sample("raid_array_degraded", degraded, labels),
            Sample("raid_array_redundancy_left", left, labels),
        )
        return [(s.kind.value, s.rule.name) for s in engine.evaluate(report("h", *samples), t)]

    assert array(1, 0, 0.0) == [("fire", "NoRedundancy")], "one incident, the P1, not both"
    assert array(1, 0, 1.0) == [], "held back while the P1 fires"
    rebuilt = array(1, 1, 2.0)  # one disk rebuilt, still degraded: the P2 takes over at once
    assert sorted(rebuilt) == [("fire", "Degraded"), ("resolve", "NoRedundancy")]
    assert array(0, 1, 3.0) == [("resolve", "Degraded")]


def test_unknown_inhibitor_is_a_load_error(ruleset_from: RuleFactory) -> None:
    import pytest

    from rules.loader import RuleLoadError

    with pytest.raises(RuleLoadError, match="inhibited_by names unknown rule 'Nope'"):
        ruleset_from(INHIBIT.replace("[NoRedundancy]", "[Nope]"))


def test_history_stays_bounded_and_forecasts_exactly_over_a_day_of_reports() -> None:
    from rules.conditions import MAX_POINTS, SeriesHistory

    history = SeriesHistory(window=86400.0)
    for step in range(8640 * 2):  # two days of 10 s reports, growing 1% per hour
        t = step * 10.0
        history.add(t, 0.2 + 0.01 * t / 3600)
    assert len(history.points) <= 2 * MAX_POINTS + 2, "bounded, not one point per report (8,640)"
    now = history.points[-1][0]
    expected = 0.2 + 0.01 * (now + 86400) / 3600
    assert history.predict(now + 86400, min_span=3600) == pytest.approx(expected, rel=1e-9)


def test_increase_counts_rises_from_the_point_before_the_window() -> None:
    from rules.conditions import SeriesHistory

    history = SeriesHistory(window=1000.0)
    for t, v in [(0, 5), (100, 9), (200, 2), (300, 4), (400, 10)]:  # reset at 200
        history.add(float(t), float(v))
    assert history.increase(since=0.0) == 4 + 2 + 6
    assert history.increase(since=250.0) == 2 + 6, "rise into 300 counts from the point at 200"
    assert history.increase(since=400.0) == 6

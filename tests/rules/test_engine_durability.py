"""What makes the engine safe beside a database: reverting unstored signals, checkpoints that
survive a restart, replays feeding trends, and event rules."""

from __future__ import annotations

import json

from agent.report import SCHEMA_V1, Event, ProbeResult, Report, Sample
from rules.engine import RuleEngine
from tests.rules.conftest import RuleFactory, report

MEM = """\
group: t
rules:
  - name: MemHigh
    priority: P2
    metric: memory_used_ratio
    above: 0.9
    for: {for_}
    summary: "mem"
"""

GROWTH = """\
group: t
rules:
  - name: Reallocated
    priority: P2
    metric: sectors_total
    function: increase
    window: 1h
    above: 5
    summary: "grew"
"""

EVENTS = """\
group: t
rules:
  - name: SelCritical
    priority: P2
    event: ipmi_sel
    match: {severity: critical, message: "~PSU.*"}
    key_labels: [sensor]
    summary: "{{ value }}"
"""


def mem(value: float) -> Sample:
    return Sample("memory_used_ratio", value)


def test_a_fire_the_store_refused_fires_again_on_the_next_report(
    ruleset_from: RuleFactory,
) -> None:
    engine = RuleEngine(ruleset_from(MEM.format(for_="0s")))
    [fire] = engine.evaluate(report("h1", mem(0.95)), 0.0)
    assert engine.evaluate(report("h1", mem(0.96)), 1.0) == [], "firing: nothing new"
    engine.revert(fire)
    [again] = engine.evaluate(report("h1", mem(0.97)), 2.0)
    assert again.kind.value == "fire" and again.key == fire.key


def test_a_fire_the_store_refused_fires_again_on_the_tick(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(MEM.format(for_="1m")))
    engine.evaluate(report("h1", mem(0.95)), 0.0)
    [fire] = engine.tick(60.0)
    engine.revert(fire)
    assert [s.kind.value for s in engine.tick(61.0)] == ["fire"]


def test_a_resolve_the_store_refused_resolves_again(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(MEM.format(for_="0s")))
    engine.evaluate(report("h1", mem(0.95)), 0.0)
    [resolve] = engine.evaluate(report("h1", mem(0.5)), 1.0)
    engine.revert(resolve)
    [again] = engine.evaluate(report("h1", mem(0.5)), 2.0)
    assert again.kind.value == "resolve" and again.key == resolve.key


def test_checkpoint_keeps_trends_and_pending_breaches_across_a_restart(
    ruleset_from: RuleFactory,
) -> None:
    rules = ruleset_from(GROWTH + MEM.format(for_="10m").split("rules:\n", 1)[1])
    before = RuleEngine(rules)
    for minute, count in enumerate([0, 2, 4]):
        before.evaluate(report("h1", Sample("sectors_total", float(count))), minute * 600.0)
    before.evaluate(report("h1", mem(0.95)), 1300.0)  # pending, for: 10m
    saved = json.loads(json.dumps(before.checkpoint()))  # what the database keeps
    after = RuleEngine(rules)
    after.restore_checkpoint("h1", saved["h1"])
    [fire] = after.evaluate(report("h1", Sample("sectors_total", 7.0), mem(0.95)), 1800.0)
    assert fire.rule.name == "Reallocated" and fire.value == 7.0, "the hour of history survived"
    fired = after.tick(1900.0)
    assert [s.rule.name for s in fired] == ["MemHigh"] and fired[0].since == 1300.0


def test_a_checkpoint_taken_a_few_hosts_at_a_time_holds_the_same_as_one_taken_at_once(
    ruleset_from: RuleFactory,
) -> None:
    engine = RuleEngine(ruleset_from(GROWTH + MEM.format(for_="10m").split("rules:\n", 1)[1]))
    for host in ("h1", "h2", "h3"):
        engine.evaluate(report(host, Sample("sectors_total", 1.0)), 0.0)
        engine.evaluate(report(host, Sample("sectors_total", 2.0), mem(0.95)), 60.0)
    parts = engine.checkpoint_parts()
    assert set(parts) == {"h1", "h2", "h3"}
    assert [len(parts["h2"].histories), len(parts["h2"].pending)] == [1, 1]
    first = engine.checkpoint([parts["h1"], parts["h2"]])
    assert set(first) == {"h1", "h2"}, "only the hosts asked for"
    engine.forget_host("h3")  # retired between two batches: skipped, not an error
    assert engine.checkpoint([parts["h3"]]) == {}
    assert {**first} == engine.checkpoint(), "batches hold what one checkpoint holds"


def test_replayed_reports_fill_the_history_in_their_own_order(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(GROWTH.replace("window: 1h", "window: 30m")))
    engine.evaluate(report("h1", Sample("sectors_total", 0.0)), 0.0)
    assert engine.evaluate(report("h1", Sample("sectors_total", 3.0)), 3000.0) == []
    # The spool replays the outage afterwards; each point lands at the time it was measured.
    for t, count in [(1500.0, 1.0), (2500.0, 2.0)]:
        engine.feed_history(report("h1", Sample("sectors_total", count)), t)
    [fire] = engine.evaluate(report("h1", Sample("sectors_total", 9.0)), 3300.0)
    # Without the replays the window would start at the 3000 s point and see a rise of 6.
    assert fire.value == 8.0, "the rise since the replayed point at 1500 s"


def _sel(kind: str, severity: str, sensor: str, record: str, message: str) -> Report:
    event = Event(kind, 5.0, message, {"severity": severity, "sensor": sensor, "record_id": record})
    probe = ProbeResult("ipmi", "ok", 0.01, events=[event])
    return Report(SCHEMA_V1, "h1", 5.0, 1, "test", 10.0, [probe])


def test_event_rules_open_one_incident_per_key_labels(ruleset_from: RuleFactory) -> None:
    engine = RuleEngine(ruleset_from(EVENTS))
    [first] = engine.evaluate(_sel("ipmi_sel", "critical", "PSU1", "7", "PSU1: failure"), 5.0)
    [second] = engine.match_events(_sel("ipmi_sel", "critical", "PSU1", "8", "PSU1: failure"))
    assert first.key == second.key and first.labels == {"sensor": "PSU1"}
    assert first.value == "PSU1: failure"
    assert engine.match_events(_sel("ipmi_sel", "warning", "PSU1", "9", "PSU1: x")) == []
    assert engine.match_events(_sel("ipmi_sel", "critical", "FAN1", "9", "FAN1: x")) == []
    assert engine.match_events(_sel("snmp_trap", "critical", "PSU1", "9", "PSU1: x")) == []

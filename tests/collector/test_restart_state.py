"""What a restart must not forget: rule histories and pending breaches; stored host events."""

from __future__ import annotations

from pathlib import Path

from agent.report import SCHEMA_V1, Event, ProbeResult, Report, Sample
from collector.notify.channels import RecordingChannel
from rules.loader import load_rules
from tests.collector.harness import FakeClock, RunningCollector, wait_for

GROWTH = """\
group: t
rules:
  - name: SectorsGrowing
    priority: P2
    metric: sectors_total
    function: increase
    window: 1h
    above: 5
    summary: "{{ value }} new sectors"
  - name: LoadHigh
    priority: P3
    metric: load1
    above: 10
    for: 10m
    summary: "load {{ value }}"
"""


def report(clock: FakeClock, sequence: int, **values: float) -> Report:
    samples = [Sample(name, value) for name, value in values.items()]
    return Report(
        SCHEMA_V1, "db1", clock(), sequence, "test", 60.0, [ProbeResult("host", "ok", 0.0, samples)]
    )


def test_trends_and_pending_breaches_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(GROWTH)
    rules = load_rules([path], include_builtin=False)
    clock, recorder = FakeClock(), RecordingChannel("t")
    first = RunningCollector(tmp_path, clock, channels=[recorder], rules=rules)
    first.post(report(clock, 1, sectors_total=0.0, load1=1.0))
    clock.advance(600)
    first.post(report(clock, 2, sectors_total=3.0, load1=12.0))  # load pending from here
    first.stop()  # a restart (stop saves the checkpoint, like the periodic one)
    clock.advance(300)
    second = RunningCollector(tmp_path, clock, channels=[recorder], rules=rules)
    try:
        second.post(report(clock, 3, sectors_total=9.0, load1=12.0))
        incidents = second.get("/api/v1/incidents")
        assert [(i["rule"], i["value"]) for i in incidents] == [("SectorsGrowing", 9.0)]
        clock.advance(301)  # 10 minutes after the load breach began, before the restart
        second.tick()
        rules_open = sorted(i["rule"] for i in second.get("/api/v1/incidents"))
        assert rules_open == ["LoadHigh", "SectorsGrowing"]
        wait_for(lambda: len(recorder.notifications) == 2)
    finally:
        second.stop()


def test_host_events_are_stored_and_listed(tmp_path: Path) -> None:
    clock = FakeClock()
    running = RunningCollector(tmp_path, clock, channels=[RecordingChannel("t")])
    try:
        sel = Event("ipmi_sel", clock() - 5, "PSU1: Failure detected", {"sensor": "PSU1"})
        probe = ProbeResult("ipmi", "ok", 0.01, events=[sel])
        running.post(Report(SCHEMA_V1, "db1", clock(), 1, "test", 60.0, [probe]))
        wait_for(lambda: len(running.get("/api/v1/hosts/db1/events")) == 1)
        [stored] = running.get("/api/v1/hosts/db1/events")
        assert (stored["kind"], stored["message"]) == ("ipmi_sel", "PSU1: Failure detected")
        missing = running.fetch("/api/v1/hosts/nope/events", timeout=5)
        assert missing.status_code == 404
    finally:
        running.stop()

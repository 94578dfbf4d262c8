"""Inhibition: a host that is gone (its agent silent) holds back its other incidents' messages,
and an incident holds back the less urgent ones of its kind (same rule `kind`, same labels);
the held ones are recorded and linked, and told when the stronger fact is over if they still
need anyone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample
from collector.config import ApiToken
from collector.notify.channels import RecordingChannel
from rules.loader import RuleSet, load_rules
from tests.collector.harness import FakeClock, RunningCollector, host_report, wait_for


def test_a_silent_host_holds_back_its_other_incidents_until_it_is_back(tmp_path: Path) -> None:
    clock, recorder = FakeClock(), RecordingChannel("ops")
    running = RunningCollector(
        tmp_path,
        clock,
        channels=[recorder],
        api_tokens=[ApiToken(name="alice", token="alice-token")],  # type: ignore[arg-type]
    )
    try:
        running.post(host_report("db1", clock, 1, memory_used_ratio=0.1))
        clock.advance(121)
        running.tick()  # AgentSilent opens for db1
        wait_for(lambda: [n.rule for n in recorder.notifications] == ["AgentSilent"])
        opened = running.session.post(
            f"{running.url}/api/v1/incidents",
            json={"title": "db1 answers slowly", "priority": "P2", "hosts": ["db1"]},
            headers={"Authorization": "Bearer alice-token"},
            timeout=5,
        ).json()
        timeline = running.get(f"/api/v1/incidents/{opened['number']}")["timeline"]
        silent = running.get("/api/v1/incidents?host=db1")
        blocker = next(i["number"] for i in silent if i["rule"] == "AgentSilent")
        assert any(e["name"] == "INHIBITED" and blocker in e["detail"] for e in timeline)
        assert len(recorder.notifications) == 1, "held back while the host is gone"
        running.post(host_report("db1", clock, 2, memory_used_ratio=0.1))  # back
        running.collector.incidents.run_due_timers()
        wait_for(lambda: len(recorder.notifications) == 3)
        events = [(n.rule or n.summary, n.event) for n in recorder.notifications]
        assert events == [
            ("AgentSilent", "opened"),
            ("AgentSilent", "resolved"),
            ("db1 answers slowly", "opened"),
        ]
    finally:
        running.stop()


FS_LABELS = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/srv"}


def fs_report(host: str, clock: FakeClock, sequence: int, used: float) -> Report:
    """A host report carrying one filesystem's used ratio."""
    sample = Sample("filesystem_used_ratio", used, FS_LABELS)
    probe = ProbeResult(probe="host", status="ok", duration_seconds=0.001, samples=[sample])
    return Report(SCHEMA_V1, host, clock(), sequence, "test", 10.0, [probe])


def fill(running: RunningCollector, clock: FakeClock, used: float, minutes: int, seq: int) -> int:
    """Report `used` once a minute for `minutes`, ticking; returns the next sequence number."""
    for _ in range(minutes):
        running.post(fs_report("web1", clock, seq, used))
        running.tick()
        clock.advance(60)
        seq += 1
    return seq


def timeline_of(running: RunningCollector, rule: str) -> tuple[str, list[dict[str, Any]]]:
    found = next(i for i in running.get("/api/v1/incidents?state=all") if i["rule"] == rule)
    return found["number"], running.get(f"/api/v1/incidents/{found['number']}")["timeline"]


def test_a_stronger_incident_of_a_kind_holds_back_the_weaker_one_until_it_resolves(
    tmp_path: Path,
) -> None:
    clock, recorder = FakeClock(), RecordingChannel("ops")
    running = RunningCollector(tmp_path, clock, channels=[recorder])
    try:
        seq = fill(running, clock, 0.97, 7, 1)  # FilesystemFull (P2) at 1m, AlmostFull (P3) at 5m
        full, _ = timeline_of(running, "FilesystemFull")
        almost, timeline = timeline_of(running, "FilesystemAlmostFull")
        assert any(e["name"] == "INHIBITED" and full in e["detail"] for e in timeline), (
            "the P3 is recorded and linked to the P2 of its kind"
        )
        wait_for(lambda: len(recorder.notifications) == 1)
        assert [n.rule for n in recorder.notifications] == ["FilesystemFull"], "P3 not sent"
        fill(running, clock, 0.92, 2, seq)  # under FilesystemFull's 93 %, over AlmostFull's 88 %
        running.collector.incidents.run_due_timers()
        wait_for(lambda: len(recorder.notifications) == 3)
        told = [(n.rule, n.event) for n in recorder.notifications]
        assert told == [
            ("FilesystemFull", "opened"),
            ("FilesystemFull", "resolved"),
            ("FilesystemAlmostFull", "opened"),
        ], "the P3 pages once the stronger one is over and it persists"
        names = [e["name"] for e in running.get(f"/api/v1/incidents/{almost}")["timeline"]]
        assert "UNSILENCED" in names
    finally:
        running.stop()


def test_a_weaker_incident_open_before_the_stronger_one_is_linked_and_told_again_after(
    tmp_path: Path,
) -> None:
    clock, recorder = FakeClock(), RecordingChannel("ops")
    running = RunningCollector(tmp_path, clock, channels=[recorder])
    try:
        seq = fill(running, clock, 0.91, 7, 1)  # only FilesystemAlmostFull (P3)
        wait_for(lambda: len(recorder.notifications) == 1)
        seq = fill(running, clock, 0.97, 3, seq)  # now FilesystemFull (P2) too
        full, _ = timeline_of(running, "FilesystemFull")
        _, timeline = timeline_of(running, "FilesystemAlmostFull")
        assert any(e["name"] == "INHIBITED" and full in e["detail"] for e in timeline)
        fill(running, clock, 0.92, 2, seq)
        running.collector.incidents.run_due_timers()
        wait_for(lambda: len(recorder.notifications) == 4)
        assert [(n.rule, n.event) for n in recorder.notifications] == [
            ("FilesystemAlmostFull", "opened"),
            ("FilesystemFull", "opened"),
            ("FilesystemFull", "resolved"),
            ("FilesystemAlmostFull", "opened"),
        ]
    finally:
        running.stop()


def test_kinds_inhibit_only_on_the_same_labels_and_only_downwards(tmp_path: Path) -> None:
    clock, recorder = FakeClock(), RecordingChannel("ops")
    rules = ruleset(
        tmp_path,
        """
group: test
rules:
  - {name: DiskWarm, priority: P3, kind: disk_heat, metric: disk_temperature_celsius,
     above: 50, summary: warm}
  - {name: DiskHot, priority: P1, kind: disk_heat, metric: disk_temperature_celsius,
     above: 60, summary: hot}
""",
    )
    running = RunningCollector(tmp_path, clock, channels=[recorder], rules=rules)
    try:
        hot = Sample("disk_temperature_celsius", 65.0, {"device": "sda"})
        warm = Sample("disk_temperature_celsius", 55.0, {"device": "sdb"})
        probe = ProbeResult(probe="smart", status="ok", duration_seconds=0.001, samples=[hot, warm])
        running.post(Report(SCHEMA_V1, "web1", clock(), 1, "test", 10.0, [probe]))
        # In one report: sda's P3 and P1 (the P1 first, its P3 held), sdb's P3 (other device).
        wait_for(lambda: len(recorder.notifications) == 2)
        told = sorted((n.rule, n.labels["device"]) for n in recorder.notifications)
        assert told == [("DiskHot", "sda"), ("DiskWarm", "sdb")]
        assert len(running.get("/api/v1/incidents")) == 3, "the held one is still recorded"
    finally:
        running.stop()


def ruleset(tmp_path: Path, text: str) -> RuleSet:
    path = tmp_path / "kinds.yaml"
    path.write_text(text)
    return load_rules([path], include_builtin=False)


def test_a_weaker_message_still_waiting_is_withdrawn_when_the_stronger_one_opens(
    tmp_path: Path,
) -> None:
    clock, recorder = FakeClock(), RecordingChannel("ops")
    running = RunningCollector(
        tmp_path, clock, channels=[recorder], delivery={"group_wait": 3600}
    )  # rule messages wait an hour for a storm to gather
    try:
        seq = fill(running, clock, 0.91, 7, 1)  # FilesystemAlmostFull opens; its message waits
        fill(running, clock, 0.97, 3, seq)  # FilesystemFull opens
        almost = next(i for i in running.get("/api/v1/incidents") if i["priority"] == "P3")
        messages = running.collector.outbox.for_incident(almost["id"])
        assert [(m["event"], m["status"]) for m in messages] == [("opened", "withdrawn")]
        assert "inhibited by" in (messages[0]["last_error"] or "")
    finally:
        running.stop()

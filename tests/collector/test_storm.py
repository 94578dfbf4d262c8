"""A storm: one rule on many hosts at once is told as one message per channel (and one when
it ends), while every host keeps its own ticket and lifecycle."""

from __future__ import annotations

from pathlib import Path

from collector.config import DeliveryConfig
from collector.notify.channels import RecordingChannel
from rules.loader import load_rules
from tests.collector.harness import FakeClock, RunningCollector, host_report, wait_for

RULE = """\
group: t
rules:
  - name: DiskLatencyHigh
    priority: P2
    metric: disk_latency_seconds
    above: 0.5
    summary: "disk latency {{ value }} s"
"""


def test_fifty_hosts_one_message_per_channel_and_one_when_it_ends(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULE)
    clock = FakeClock()
    mail, chat = RecordingChannel("mail"), RecordingChannel("chat")
    running = RunningCollector(
        tmp_path,
        clock,
        channels=[mail, chat],
        rules=load_rules([path], include_builtin=False),
        delivery=DeliveryConfig(group_wait=5.0),
    )
    hosts = [f"web{i:02d}" for i in range(50)]
    try:
        for host in hosts:
            running.post(host_report(host, clock, 1, disk_latency_seconds=0.9))
        assert len(running.get("/api/v1/incidents?limit=100")) == 50, "one ticket per host"
        clock.advance(6)
        running.collector.delivery.wake()
        wait_for(lambda: len(mail.notifications) == 1 and len(chat.notifications) == 1, 30)
        storm = mail.notifications[0]
        assert storm.title.startswith("[P2] STORM DiskLatencyHigh on 50 hosts: web00, web01")
        assert storm.body.count("INC-") == 20 and "... and 30 more" in storm.body
        for host in hosts:
            running.post(host_report(host, clock, 2, disk_latency_seconds=0.1))
        clock.advance(6)
        running.collector.delivery.wake()
        wait_for(lambda: len(mail.notifications) == 2 and len(chat.notifications) == 2, 30)
        assert mail.notifications[1].title.startswith("[P2] RESOLVED DiskLatencyHigh on 50 hosts")
        [first] = running.get("/api/v1/incidents?state=resolved&host=web00")
        path = f"/api/v1/incidents/{first['number']}"
        # Each row of the storm is recorded as sent (after the one message went out).
        wait_for(lambda: [d["status"] for d in running.get(path)["deliveries"]] == ["sent"] * 4)
    finally:
        running.stop()


def test_a_few_messages_are_not_a_storm(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULE)
    clock, mail = FakeClock(), RecordingChannel("mail")
    running = RunningCollector(
        tmp_path,
        clock,
        channels=[mail],
        rules=load_rules([path], include_builtin=False),
        delivery=DeliveryConfig(group_wait=5.0, storm_threshold=3),
    )
    try:
        for host in ("db1", "db2"):
            running.post(host_report(host, clock, 1, disk_latency_seconds=0.9))
        clock.advance(6)
        running.collector.delivery.wake()
        wait_for(lambda: len(mail.notifications) == 2)
        assert sorted(n.host for n in mail.notifications) == ["db1", "db2"], "each on its own"
    finally:
        running.stop()

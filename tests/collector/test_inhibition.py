"""A host that is gone (its agent silent) holds back its other incidents' messages: they are
recorded and linked to the host-level incident, and told when the host is back if they still
need anyone."""

from __future__ import annotations

from pathlib import Path

from collector.config import ApiToken
from collector.notify.channels import RecordingChannel
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

"""The per-rule noise figure: counted from the stored timeline on SQLite and PostgreSQL, served
by GET /api/v1/rules/noise and printed by `watchkeeper rules noise`."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from collector.config import ApiToken
from collector.incidents.events import Acknowledge
from collector.incidents.model import Incident, IncidentState, Source
from collector.noise.figures import rule_noise
from collector.noise_cli import noise_command
from collector.notify.channels import RecordingChannel
from collector.store import incidents as rows
from collector.store.noise import rule_activity
from rules.priority import Priority
from tests.collector.harness import FakeClock, RunningCollector, host_report, wait_for

START = 1767225600.0  # 2026-01-01T00:00:00Z
END = START + 7 * 86400


def opened(conn: sa.Connection, rule: str, at: float, key: str) -> int:
    incident = Incident(
        source=Source.RULE if rule else Source.PERSON,
        priority=Priority.P2,
        state=IncidentState.TRIGGERED,
        summary="x",
        opened_at=at,
        updated_at=at,
        key=key,
        rule=rule,
        host="web1",
        hosts=("web1",),
    )
    stored = rows.insert_incident(conn, incident, rows.next_number(conn, "INC", at))
    assert stored.id is not None
    return stored.id


def entry(
    conn: sa.Connection, incident: int, at: float, name: str, kind: str = "transition"
) -> None:
    rows.append_timeline(conn, incident, at, kind, name, "system", "", None)


def test_noise_figures_are_counted_from_the_timeline(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        before = opened(conn, "DiskFull", START - 3600, "d0")  # opened before the period
        entry(conn, before, START + 10, "SENT", "delivery")  # ... but told inside it: counts
        entry(conn, before, START + 20, "ACK")  # its ack is no ack of the period's incidents
        disks = [opened(conn, "DiskFull", START + 100 * n, f"d{n}") for n in (1, 2, 3)]
        for incident, delay in zip(disks, (60, 120, 600), strict=True):
            entry(conn, incident, START + 100 * (disks.index(incident) + 1) + delay, "ACK")
            entry(conn, incident, START + 500, "SENT", "delivery")
        entry(conn, disks[0], START + 700, "ACK")  # acknowledged again after a reopen
        entry(conn, disks[0], START + 600, "REOPEN")
        entry(conn, disks[0], START + 650, "REOPEN")
        entry(conn, disks[0], START + 660, "FLAPPING")
        entry(conn, disks[1], START + 30, "SILENCED")
        entry(conn, disks[2], START + 40, "INHIBITED")
        entry(conn, disks[2], START + 50, "INHIBITED")
        entry(conn, disks[2], END + 1, "SENT", "delivery")  # after the period
        entry(conn, disks[2], START + 60, "FAILED", "delivery")  # an attempt, not a message
        cpu = opened(conn, "HostCpuBusy", START + 5, "c1")
        for n in range(10):
            entry(conn, cpu, START + 10 + n, "SENT", "delivery")
        person = opened(conn, "", START + 5, "")  # opened by a person: no rule to tune
        entry(conn, person, START + 6, "SENT", "delivery")
    with engine.connect() as conn:
        figures = rule_noise(rule_activity(conn, START, END))
    assert [f.rule for f in figures] == ["HostCpuBusy", "DiskFull"], "most messages first"
    cpu_figure, disk = figures
    assert (cpu_figure.incidents, cpu_figure.notifications, cpu_figure.acknowledged) == (1, 10, 0)
    assert cpu_figure.ack_median_seconds is None and cpu_figure.ack_rate == 0.0
    assert (disk.incidents, disk.notifications, disk.acknowledged) == (3, 4, 3)
    assert (disk.ack_median_seconds, disk.ack_p90_seconds) == (120.0, 600.0)
    assert (disk.reopened, disk.flapping, disk.silenced, disk.inhibited) == (2, 1, 1, 2)


@pytest.fixture
def running(tmp_path: Path) -> RunningCollector:
    clock = FakeClock()
    viewer = ApiToken(name="vera", token="viewer-token", role="viewer")  # type: ignore[arg-type]
    return RunningCollector(
        tmp_path, clock, channels=[RecordingChannel("ops")], api_tokens=[viewer]
    )


def test_the_api_and_the_cli_show_the_noisiest_rule(
    running: RunningCollector, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = running.clock
    try:
        running.post(host_report("web1", clock, 1, memory_used_ratio=0.1))
        clock.advance(121)
        running.tick()  # AgentSilent opens and is told
        wait_for(lambda: running.collector.outbox.counts().get(("memory://ops", "sent")) == 1)
        clock.advance(30)
        number = running.get("/api/v1/incidents")[0]["number"]
        running.collector.incidents.act(number, Acknowledge("alice", ""))
        viewer = {"Authorization": "Bearer viewer-token"}
        answer = running.session.get(
            f"{running.url}/api/v1/rules/noise?since=1h", headers=viewer, timeout=5
        )
        assert answer.status_code == 200, answer.text
        (figure,) = answer.json()["rules"]
        assert figure["rule"] == "AgentSilent"
        assert (figure["incidents"], figure["notifications"], figure["acknowledged"]) == (1, 1, 1)
        assert figure["ack_median_seconds"] == 30.0
        earlier = running.session.get(
            f"{running.url}/api/v1/rules/noise?since=2027-01-15T00:00:00Z&until=1h",
            headers=viewer,
            timeout=5,
        ).json()
        assert (earlier["until"], earlier["rules"]) == ("2027-01-15T07:02:31Z", [])
        bad = running.session.get(
            f"{running.url}/api/v1/rules/noise?since=last-week", headers=viewer, timeout=5
        )
        assert bad.status_code == 400 and "since='last-week'" in bad.json()["error"]["message"]
        base = ["--url", running.url, "--token", "viewer-token"]
        assert noise_command([*base, "--since", "2027-01-15"]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert printed[1].split() == ["RULE", "INCIDENTS", "SENT", "ACKED", "ACK", "MEDIAN",
                                      "ACK", "P90", "FLAPPING", "HELD"]  # fmt: skip
        assert printed[2].split()[:4] == ["AgentSilent", "1", "1", "1"]
        document = running.get("/api/v1/openapi.json")
        assert "since" in str(document["paths"]["/api/v1/rules/noise"]["get"]["parameters"])
    finally:
        running.stop()

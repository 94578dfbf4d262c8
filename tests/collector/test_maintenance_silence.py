"""Inside a maintenance window a host may go quiet: AgentSilent does not open for it; if the
host is still silent when the window ends, the incident opens and pages then."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.config import ApiToken
from collector.notify.channels import RecordingChannel
from collector.silences_cli import silence_command
from tests.collector.harness import FakeClock, RunningCollector, host_report, wait_for

ALICE = {"Authorization": "Bearer alice-token"}


@pytest.fixture
def running(
    tmp_path: Path, clock: FakeClock, recorder: RecordingChannel
) -> Iterator[RunningCollector]:
    collector = RunningCollector(
        tmp_path,
        clock,
        channels=[recorder],
        api_tokens=[ApiToken(name="alice", token="alice-token")],  # type: ignore[arg-type]
    )
    yield collector
    collector.stop()


def maintenance(running: RunningCollector, **body: Any) -> dict[str, Any]:
    answer = running.session.post(
        f"{running.url}/api/v1/silences",
        json={"kind": "maintenance", **body},
        headers=ALICE,
        timeout=5,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def silent_for(running: RunningCollector, clock: FakeClock, seconds: int) -> None:
    """Let time pass with the ticker running every 10 s."""
    for _ in range(seconds // 10):
        clock.advance(10)
        running.tick()


def incidents_of(running: RunningCollector, host: str) -> list[dict[str, Any]]:
    return list(running.get(f"/api/v1/incidents?state=all&host={host}"))


def test_a_host_rebooted_inside_its_window_opens_no_incident(
    running: RunningCollector, clock: FakeClock, recorder: RecordingChannel
) -> None:
    running.post(host_report("db1", clock, 1, memory_used_ratio=0.1))
    running.post(host_report("web1", clock, 1, memory_used_ratio=0.1))
    add = ["--url", running.url, "--token", "alice-token", "add", "--maintenance"]
    assert silence_command([*add, "-m", "host=db1", "--for", "1h", "-r", "kernel update"]) == 0
    (window,) = running.get("/api/v1/silences")
    assert window["kind"] == "maintenance" and window["active"]
    silent_for(running, clock, 600)  # both quiet for 10 minutes: db1 is rebooting
    assert [i["rule"] for i in incidents_of(running, "web1")] == ["AgentSilent"]
    assert incidents_of(running, "db1") == [], "db1 is in maintenance: no incident at all"
    for sequence in range(2, 64):  # back inside the window, and reporting past its end
        running.post(host_report("db1", clock, sequence, memory_used_ratio=0.1))
        silent_for(running, clock, 60)
    assert incidents_of(running, "db1") == [], "nothing to open when the window ends"
    wait_for(lambda: len(recorder.notifications) >= 1)
    assert [(n.host, n.rule) for n in recorder.notifications] == [("web1", "AgentSilent")]


def test_a_host_still_silent_when_the_window_ends_opens_and_pages_then(
    running: RunningCollector, clock: FakeClock, recorder: RecordingChannel
) -> None:
    running.post(host_report("db1", clock, 1, memory_used_ratio=0.1))
    maintenance(running, matchers={"host": "db1"}, duration="30m", reason="disk swap")
    silent_for(running, clock, 1790)  # silent for most of the window
    assert incidents_of(running, "db1") == []
    assert recorder.notifications == []
    silent_for(running, clock, 20)  # the window is over and db1 is still silent
    opened = incidents_of(running, "db1")
    assert [(i["rule"], i["state"]) for i in opened] == [("AgentSilent", "triggered")]
    assert opened[0]["opened_at"] >= "2027-01-15T08:30"  # after the window, not during it
    wait_for(lambda: len(recorder.notifications) == 1)
    assert (recorder.notifications[0].rule, recorder.notifications[0].event) == (
        "AgentSilent",
        "opened",
    ), "paged when the window ended, not held back"

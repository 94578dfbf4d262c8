"""Silences and maintenance windows: matching incidents are still opened and recorded, their
messages wait, and an incident still open when the silence ends is told then."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.config import ApiToken
from collector.noise.silences import Recurrence, Silence, silencing
from collector.notify.channels import RecordingChannel
from collector.silences_cli import silence_command
from tests.collector.harness import FakeClock, RunningCollector, host_report, wait_for

ALICE = {"Authorization": "Bearer alice-token"}
NEW_YORK = dt.timezone(dt.timedelta(hours=-5))


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("moment", "window"),
    [
        (at(2026, 3, 1, 6, 30), (at(2026, 3, 1, 6), at(2026, 3, 1, 8))),  # EST: 01:00 = 06:00Z
        (at(2026, 3, 15, 5, 30), (at(2026, 3, 15, 5), at(2026, 3, 15, 7))),  # EDT: 01:00 = 05:00Z
        (at(2026, 3, 15, 7, 30), None),  # after the window
        (at(2026, 3, 14, 5, 30), None),  # a Saturday
    ],
    ids=["before-dst", "after-dst", "after-window", "other-day"],
)
def test_a_weekly_window_stays_at_its_local_time_across_dst(
    moment: float, window: tuple[float, float] | None
) -> None:
    sunday_one_am = Recurrence("0 1 * * SUN", 7200.0, "America/New_York")
    assert sunday_one_am.window_at(moment) == window


def test_the_silence_ending_last_wins_and_expired_ones_do_not_count() -> None:
    short = Silence({"host": "web1"}, 0.0, 100.0, "a", "deploy", id=1)
    long = Silence({"host": "~web.*"}, 0.0, 500.0, "b", "migration", id=2)
    gone = Silence({"host": "web1"}, 0.0, 900.0, "c", "x", expired_at=10.0, id=3)
    found = silencing([short, long, gone], {"host": "web1", "rule": "R"}, 50.0)
    assert found is not None and (found[0].id, found[1]) == (2, 500.0)
    assert silencing([short, long, gone], {"host": "db1"}, 50.0) is None


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


def breach(running: RunningCollector, clock: FakeClock, host: str, sequence: int) -> None:
    running.post(host_report(host, clock, sequence, memory_used_ratio=0.99))


def silence(running: RunningCollector, **body: Any) -> dict[str, Any]:
    answer = running.session.post(
        f"{running.url}/api/v1/silences", json=body, headers=ALICE, timeout=5
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_a_silenced_incident_is_recorded_and_told_when_the_silence_ends(
    running: RunningCollector, clock: FakeClock, recorder: RecordingChannel
) -> None:
    held = silence(running, matchers={"host": "web1"}, duration="1h", reason="disk swap")
    assert held["active"] and held["author"] == "alice"
    for sequence in range(1, 8):  # HostMemoryHigh: 99 % for more than 5 minutes, on two hosts
        breach(running, clock, "web1", sequence)
        breach(running, clock, "web2", sequence)
        running.tick()
        clock.advance(60)
    numbers = {i["host"]: i["number"] for i in running.get("/api/v1/incidents")}
    assert set(numbers) == {"web1", "web2"}, "the silenced incident is opened all the same"
    wait_for(lambda: len(recorder.notifications) == 1)
    assert recorder.notifications[0].host == "web2", "only web2's message went out"
    timeline = running.get(f"/api/v1/incidents/{numbers['web1']}")["timeline"]
    assert any(e["name"] == "SILENCED" and "disk swap" in e["detail"] for e in timeline)
    clock.advance(3600)  # the silence ends; web1 is still breaching
    running.collector.incidents.run_due_timers()
    wait_for(lambda: any(n.host == "web1" for n in recorder.notifications))
    told = [n for n in recorder.notifications if n.host == "web1"]
    assert [n.event for n in told] == ["opened"], "held back once, told once"
    names = [e["name"] for e in running.get(f"/api/v1/incidents/{numbers['web1']}")["timeline"]]
    assert "UNSILENCED" in names


def test_expiring_a_silence_and_a_maintenance_window(
    running: RunningCollector, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--url", running.url, "--token", "alice-token"]
    assert silence_command([*base, "add", "-m", "host=db1", "--for", "2h", "-r", "patching"]) == 0
    assert "patching" in capsys.readouterr().out
    weekday = dt.datetime.fromtimestamp(clock(), dt.UTC).strftime("%a").upper()[:3]
    window = [*base, "add", "-m", "rule=~Disk.*", "--cron", f"0 0 * * {weekday}"]
    assert silence_command([*window, "--window", "24h", "-r", "weekly backup"]) == 0
    capsys.readouterr()
    assert silence_command([*base, "list"]) == 0
    listed = capsys.readouterr().out
    assert "patching" in listed and "maintenance  ACTIVE" in listed and "weekly backup" in listed
    first = running.get("/api/v1/silences")[-1]
    assert silence_command([*base, "expire", str(first["id"])]) == 0
    assert (
        running.get("/api/v1/silences")[-1]["active"] is False
        or len(running.get("/api/v1/silences")) == 1
    )
    assert silence_command([*base, "add", "-m", "host", "-r", "x", "--for", "1h"]) == 2
    bad = running.session.post(
        f"{running.url}/api/v1/silences",
        json={"matchers": {"host": "~("}, "reason": "x", "duration": "1h"},
        headers=ALICE,
        timeout=5,
    )
    assert bad.status_code == 400 and "bad regular expression" in bad.json()["error"]["message"]

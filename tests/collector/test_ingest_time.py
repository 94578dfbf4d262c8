"""Time is the collector's: replays are kept but not judged, skewed clocks are measured and
tolerated, agent restarts are new sequences, and a restart never makes hosts look silent."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from agent.report import SCHEMA_V1, Event, ProbeResult, Report, Sample, encode_report
from collector.notify.channels import RecordingChannel
from tests.collector.harness import TOKEN, FakeClock, RunningCollector, wait_for


@pytest.fixture
def running(tmp_path: Path, clock: FakeClock) -> Iterator[RunningCollector]:
    collector = RunningCollector(tmp_path, clock, channels=[RecordingChannel("t")])
    yield collector
    collector.stop()


def report(
    clock: FakeClock,
    sequence: int,
    *,
    skew: float = 0.0,
    age: float = 0.0,
    instance: str = "agent-a",
    host: str = "web1",
    samples: list[Sample] | None = None,
    events: list[Event] | None = None,
) -> Report:
    probe = ProbeResult(
        "host", "ok", 0.001, samples=samples or [Sample("load1", 0.1)], events=events or []
    )
    return Report(
        SCHEMA_V1, host, clock() + skew - age, sequence, "test", 10.0, [probe], instance=instance
    )


def post(
    running: RunningCollector, body: Report | bytes, sent_at: float | None = None
) -> requests.Response:
    raw = body if isinstance(body, bytes) else encode_report(body)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Encoding": "gzip"}
    if sent_at is not None:
        headers["X-Watchkeeper-Sent-At"] = f"{sent_at:.3f}"
    return running.session.post(
        f"{running.url}/api/v1/reports", data=gzip.compress(raw), headers=headers, timeout=5
    )


@pytest.mark.parametrize("skew", [600.0, -600.0], ids=["ahead-10min", "behind-10min"])
def test_a_skewed_agent_clock_is_measured_and_its_reports_still_count(
    running: RunningCollector, clock: FakeClock, skew: float
) -> None:
    for sequence in range(1, 4):
        answer = post(running, report(clock, sequence, skew=skew), sent_at=clock() + skew)
        assert answer.json()["evaluated"] is True, sequence
        clock.advance(10)
    [host] = running.get("/api/v1/hosts")
    assert host["clock_skew_seconds"] == pytest.approx(skew, abs=1)
    assert host["health"] == "ok"
    metrics = running.fetch("/metrics", timeout=5).text
    assert f'watchkeeper_host_clock_skew_seconds{{host="web1"}} {skew}' in metrics


def test_one_report_from_the_future_does_not_blind_the_host(
    running: RunningCollector, clock: FakeClock
) -> None:
    post(running, report(clock, 1, skew=600.0), sent_at=clock() + 600.0)  # a clock step
    clock.advance(10)
    answer = post(running, report(clock, 2), sent_at=clock())  # clock fixed again
    assert answer.json()["evaluated"] is True, "ordered by sequence, not by the agent's clock"


def test_spooled_replays_are_kept_but_not_judged_and_never_move_state_back(
    running: RunningCollector, clock: FakeClock
) -> None:
    post(running, report(clock, 50), sent_at=clock())
    for sequence in range(10, 13):  # the spool resends what the outage held, oldest first
        old = report(clock, sequence, age=600 - sequence)
        answer = post(running, old, sent_at=clock())
        assert (answer.json()["evaluated"], answer.json()["replay"]) == (False, True)
    [host] = running.get("/api/v1/hosts")
    assert host["health"] == "ok" and host["seconds_since_report"] == 0


def test_an_old_report_without_send_time_is_a_replay_by_its_age(
    running: RunningCollector, clock: FakeClock
) -> None:
    post(running, report(clock, 1))
    answer = post(running, report(clock, 2, age=300))
    assert answer.json()["replay"] is True


def test_a_restarted_agent_starts_a_new_sequence_and_is_judged(
    running: RunningCollector, clock: FakeClock
) -> None:
    post(running, report(clock, 900), sent_at=clock())
    clock.advance(10)
    answer = post(running, report(clock, 1, instance="agent-b"), sent_at=clock())
    assert answer.json()["evaluated"] is True


def test_events_in_a_replay_still_open_incidents(
    running: RunningCollector, clock: FakeClock
) -> None:
    post(running, report(clock, 5), sent_at=clock())
    trap = Event(
        "snmp_trap",
        clock() - 300,
        "linkDown from 10.0.0.2 (ifIndex 3)",
        {"trap_name": "linkDown", "source": "10.0.0.2", "if_index": "3"},
    )
    answer = post(running, report(clock, 4, age=300, events=[trap]), sent_at=clock())
    assert answer.json()["replay"] is True
    [incident] = running.get("/api/v1/incidents")
    assert (incident["rule"], incident["priority"]) == ("SnmpLinkDownTrap", "P3")
    assert incident["auto_resolve"] is False, "an event does not clear by itself"
    post(running, report(clock, 6, events=[trap]), sent_at=clock())
    [same] = running.get("/api/v1/incidents")
    assert same["number"] == incident["number"], "a repeat on the same port: same ticket"


def test_after_a_restart_hosts_are_silent_only_after_a_full_window(
    tmp_path: Path, clock: FakeClock
) -> None:
    recorder = RecordingChannel("t")
    first = RunningCollector(tmp_path, clock, channels=[recorder])
    post(first, report(clock, 1), sent_at=clock())
    first.stop()
    clock.advance(600)  # the collector was down for 10 minutes
    second = RunningCollector(tmp_path, clock, channels=[recorder])
    try:
        assert second.tick() == 0, "not silent: the collector was away, not the host"
        clock.advance(119)
        assert second.tick() == 0
        clock.advance(2)
        assert second.tick() == 1, "a full AgentSilent window after the start"
        wait_for(lambda: [n.rule for n in recorder.notifications] == ["AgentSilent"])
    finally:
        second.stop()


@pytest.mark.parametrize(
    ("mutate", "status", "where"),
    [
        (
            lambda b: b.replace(b'"sequence":1', b'"sequence":18446744073709551615'),
            400,
            "$.sequence",
        ),
        (lambda b: b.replace(b'"load1"', b'"lo\\u0000ad"'), 400, "$.probes[0].samples[0].metric"),
        (
            lambda b: b.replace(b'"load1"', b'"' + b"m" * 300 + b'"'),
            400,
            "$.probes[0].samples[0].metric",
        ),
    ],
    ids=["sequence-over-2^63", "nul-byte", "over-long-name"],
)
def test_unstorable_values_are_refused_at_ingest_with_their_path(
    running: RunningCollector,
    clock: FakeClock,
    mutate,
    status: int,
    where: str,  # type: ignore[no-untyped-def]
) -> None:
    body = mutate(encode_report(report(clock, 1)))
    answer = post(running, body)
    assert answer.status_code == status
    assert where in answer.json()["error"]["message"]
    assert post(running, report(clock, 2), sent_at=clock()).status_code == 202, "others go on"


def test_a_report_over_the_sample_cap_is_413_naming_the_limit(
    tmp_path: Path, clock: FakeClock
) -> None:
    from collector.config import Limits

    running = RunningCollector(tmp_path, clock, limits=Limits(max_samples=100))
    try:
        samples = [Sample("load1", float(i), {"i": str(i)}) for i in range(101)]
        answer = post(running, report(clock, 1, samples=samples))
        assert answer.status_code == 413
        assert "limits.max_samples" in answer.json()["error"]["message"]
    finally:
        running.stop()


def test_a_clock_ten_minutes_ahead_opens_a_clock_incident(
    running: RunningCollector, clock: FakeClock
) -> None:
    for sequence in range(1, 13):  # one report a minute for 11 minutes, 600 s ahead
        post(running, report(clock, sequence, skew=600.0), sent_at=clock() + 600.0)
        running.tick()
        clock.advance(60)
    [incident] = running.get("/api/v1/incidents")
    assert (incident["rule"], incident["priority"]) == ("HostClockAhead", "P3")
    assert incident["summary"] == "clock of web1 is 600 s ahead"

"""SLA clocks stand still during a maintenance window, on both databases, with a test clock:
a recurring window (01:00 Berlin time for 3 hours) across the night the clocks go forward,
an incident opened inside a window, and the next night's window at its new UTC time."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from collector.api.views import sla_view
from collector.incidents.events import Acknowledge, PersonOpened
from collector.incidents.model import Incident
from collector.incidents.service import IncidentService, IncidentSettings
from collector.incidents.transitions import LifecyclePolicy
from collector.noise.silences import Recurrence, Silence
from collector.response.directory import ResponseDirectory
from collector.response.model import ResponseConfig
from collector.store.incidents import IncidentReader
from collector.store.silences import SilenceStore
from rules.priority import Priority
from tests.collector.harness import FakeClock


def utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


# Europe/Berlin goes from CET to CEST at 01:00 UTC on 29 March 2026.
NIGHTLY = Recurrence("0 1 * * *", 3 * 3600.0, "Europe/Berlin")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(utc("2026-03-28T23:30:00"))


@pytest.fixture
def service(engine: sa.Engine, clock: FakeClock) -> IncidentService:
    directory = ResponseDirectory(ResponseConfig())  # the default SLA targets
    policy = LifecyclePolicy(
        plan_for=directory.plan_for, deadline=directory.deadline, elapsed=directory.elapsed
    )
    return IncidentService(engine, [], IncidentSettings(policy=policy), clock)


@pytest.fixture
def nightly(engine: sa.Engine, clock: FakeClock) -> Silence:
    window = Silence(
        {"host": "db1"}, clock(), None, "ops", "kernel updates", "maintenance", NIGHTLY
    )
    return SilenceStore(engine).add(window, clock())


def at(service: IncidentService, clock: FakeClock, when: str) -> None:
    clock.now = utc(when)
    service.run_due_timers()


def clocks(engine: sa.Engine, number: str, now: float) -> dict[str, tuple[str, int | None]]:
    found = IncidentReader(engine).get(number)
    assert found is not None
    return {c["clock"]: (c["state"], c["seconds_left"]) for c in sla_view(found, now)}


def names(engine: sa.Engine, incident: Incident) -> list[str]:
    assert incident.id is not None
    timeline = IncidentReader(engine).timeline(incident.id)
    return [e["name"] for e in timeline if e["kind"] == "transition"]


def test_a_nightly_window_across_the_dst_change_pauses_and_resumes_the_clocks(
    engine: sa.Engine, service: IncidentService, clock: FakeClock, nightly: Silence
) -> None:
    p2 = service.open(PersonOpened("desk", "replication lag", Priority.P2, hosts=("db1",)))
    clock.advance(60)
    service.act(p2.number, Acknowledge("alice"))
    at(service, clock, "2026-03-28T23:45:00")  # the first 15-minute update (no note: missed)
    at(service, clock, "2026-03-29T00:00:00")  # 01:00 CET: the window starts
    assert clocks(engine, p2.number, clock()) == {
        "ack": ("met", None),
        "resolve": ("paused", 3 * 3600 + 1800),  # 4 h from 23:30, 30 min used
    }
    at(service, clock, "2026-03-29T02:30:00")  # after the jump to CEST: still standing still
    assert clocks(engine, p2.number, clock())["resolve"] == ("paused", 3 * 3600 + 1800)
    at(service, clock, "2026-03-29T03:00:00")  # 05:00 CEST: three real hours later, it ends
    assert clocks(engine, p2.number, clock())["resolve"] == ("ok", 3 * 3600 + 1800)
    resumed = IncidentReader(engine).get(p2.number)
    assert resumed is not None and resumed.plan is not None
    assert resumed.plan.clocks["resolve"][1] == utc("2026-03-29T06:30:00")
    assert resumed.plan.update_due == utc("2026-03-29T03:15:00"), "15 min left at 00:00"
    assert names(engine, p2) == [
        "OPEN",
        "ACK",
        "UPDATE_REMINDER",
        "UPDATE_MISSED",
        "UPDATE_REMINDER",
        "SILENCED",  # the window is a silence too: its messages wait
        "UPDATE_MISSED",  # due at 00:00 as the window started: the next one waits
        "SILENCED",
        "CLOCKS_PAUSED",
        "CLOCKS_RESUMED",
    ]


def test_an_incident_opened_inside_the_window_starts_with_its_clocks_paused(
    engine: sa.Engine, service: IncidentService, clock: FakeClock, nightly: Silence
) -> None:
    at(service, clock, "2026-03-29T00:30:00")
    p1 = service.open(PersonOpened("desk", "db1 down", Priority.P1, hosts=("db1",)))
    assert names(engine, p1) == ["OPEN", "SILENCED", "CLOCKS_PAUSED"]
    assert clocks(engine, p1.number, clock()) == {
        "ack": ("paused", 300),
        "resolve": ("paused", 3600),
    }
    elsewhere = service.open(PersonOpened("desk", "web1 slow", Priority.P1, hosts=("web1",)))
    assert names(engine, elsewhere) == ["OPEN"], "the window covers db1 only"
    at(service, clock, "2026-03-29T03:00:00")
    assert clocks(engine, p1.number, clock()) == {"ack": ("ok", 300), "resolve": ("ok", 3600)}


def test_the_next_nights_window_starts_at_0100_summer_time(
    engine: sa.Engine, service: IncidentService, clock: FakeClock, nightly: Silence
) -> None:
    at(service, clock, "2026-03-29T21:30:00")
    p4 = service.open(PersonOpened("desk", "db1 disk slow", Priority.P4, hosts=("db1",)))
    at(service, clock, "2026-03-29T22:59:00")  # 00:59 CEST
    assert names(engine, p4) == ["OPEN"]
    at(service, clock, "2026-03-29T23:00:00")  # 01:00 CEST: one hour earlier in UTC
    assert names(engine, p4) == ["OPEN", "CLOCKS_PAUSED"]
    assert clocks(engine, p4.number, clock())["ack"] == ("paused", 9000)  # 4 h, 1.5 h used
    at(service, clock, "2026-03-30T02:00:00")
    assert clocks(engine, p4.number, clock())["ack"] == ("ok", 9000)


def test_a_window_expired_early_resumes_the_clocks_at_the_next_timer_run(
    engine: sa.Engine, service: IncidentService, clock: FakeClock, nightly: Silence
) -> None:
    p2 = service.open(PersonOpened("desk", "replication lag", Priority.P2, hosts=("db1",)))
    at(service, clock, "2026-03-29T00:00:00")
    assert clocks(engine, p2.number, clock())["resolve"] == ("paused", 3 * 3600 + 1800)
    clock.now = utc("2026-03-29T00:40:00")
    assert nightly.id is not None
    SilenceStore(engine).expire(nightly.id, clock())  # the work finished early
    at(service, clock, "2026-03-29T00:41:00")  # the timer loop runs every second in practice
    assert clocks(engine, p2.number, clock())["resolve"] == ("ok", 3 * 3600 + 1800)
    clock.advance(60)
    assert clocks(engine, p2.number, clock())["resolve"] == ("ok", 3 * 3600 + 1800 - 60)
    assert names(engine, p2)[-2:] == ["CLOCKS_PAUSED", "CLOCKS_RESUMED"]

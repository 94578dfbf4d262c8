"""The unit of work on both backends: one transaction per event writes the incident, its
timeline, its outbox rows and its timers — or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event, func, select

from collector.incidents.events import Acknowledge, Close, RuleCleared, RuleFired
from collector.incidents.model import IncidentState
from collector.incidents.service import (
    Audience,
    IncidentNotFoundError,
    IncidentService,
    IncidentSettings,
)
from collector.incidents.transitions import LifecyclePolicy, TransitionRefusedError
from collector.store.incidents import IncidentReader
from collector.store.schema import incident_timeline, incidents, outbox, timers
from rules.priority import Priority
from tests.collector.harness import FakeClock

FIRED = RuleFired(
    "key-1", "DiskFull", "web1", {"mount": "/"}, Priority.P2, "/ is 97% full", "", 0.97, "x"
)
CLEARED = RuleCleared("key-1", 0.5, "recovered")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture
def service(engine: sa.Engine, clock: FakeClock) -> IncidentService:
    settings = IncidentSettings(
        number_prefix="OPS",
        policy=LifecyclePolicy(reopen_window=3600.0, renotify_after={Priority.P2: 600.0}),
    )
    audience = [Audience("mailto://ops"), Audience("sms://oncall", Priority.P1)]
    return IncidentService(engine, audience, settings, clock)


def count(engine: sa.Engine, table: sa.Table, **where: Any) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_a_fired_rule_opens_a_numbered_incident_with_messages_and_a_reminder(
    engine: sa.Engine, service: IncidentService
) -> None:
    opened = service.apply_rule(FIRED)
    assert opened is not None and opened.number.startswith("OPS-2027-")
    assert opened.state is IncidentState.TRIGGERED
    assert count(engine, outbox, channel="mailto://ops") == 1
    assert count(engine, outbox, channel="sms://oncall") == 0, "P2 is below the SMS floor"
    assert count(engine, timers, kind="renotify", status="pending") == 1
    assert service.apply_rule(FIRED) is None, "the same breach again changes nothing"
    assert count(engine, outbox) == 1


def test_resolve_then_return_within_the_window_reopens_the_same_ticket(
    engine: sa.Engine, service: IncidentService, clock: FakeClock
) -> None:
    opened = service.apply_rule(FIRED)
    clock.advance(60)
    resolved = service.apply_rule(CLEARED)
    assert resolved is not None and resolved.state is IncidentState.RESOLVED
    clock.advance(1800)
    reopened = service.apply_rule(FIRED)
    assert reopened is not None and opened is not None
    assert (reopened.number, reopened.reopen_count) == (opened.number, 1)
    events = [m for m in _outbox_events(engine)]
    assert events == ["opened", "resolved", "reopened"]


def test_after_the_window_a_resolved_incident_closes_and_a_return_is_a_new_ticket(
    engine: sa.Engine, service: IncidentService, clock: FakeClock
) -> None:
    opened = service.apply_rule(FIRED)
    service.apply_rule(CLEARED)
    clock.advance(3601)
    service.run_due_timers()
    assert opened is not None
    closed = IncidentReader(engine).get(opened.number)
    assert closed is not None and closed.state is IncidentState.CLOSED
    again = service.apply_rule(FIRED)
    assert again is not None and again.number != opened.number


def test_reminders_repeat_until_acknowledged(
    engine: sa.Engine, service: IncidentService, clock: FakeClock
) -> None:
    opened = service.apply_rule(FIRED)
    assert opened is not None
    clock.advance(601)
    assert service.run_due_timers() == 1
    clock.advance(601)
    service.run_due_timers()
    assert _outbox_events(engine) == ["opened", "renotify", "renotify"]
    service.act(opened.number, Acknowledge("alice"))
    clock.advance(3000)
    service.run_due_timers()
    assert _outbox_events(engine) == ["opened", "renotify", "renotify"], "ack stops reminders"
    timeline = [e["name"] for e in IncidentReader(engine).timeline(opened.id or 0)]
    assert timeline == ["OPEN", "RENOTIFY", "RENOTIFY", "ACK"]


def test_refused_and_unknown_actions_write_nothing(
    engine: sa.Engine, service: IncidentService
) -> None:
    opened = service.apply_rule(FIRED)
    assert opened is not None
    with pytest.raises(TransitionRefusedError, match=r"cannot close .* it is triggered"):
        service.act(opened.number, Close("alice"))
    with pytest.raises(IncidentNotFoundError):
        service.act("OPS-1999-000001", Acknowledge("alice"))
    assert count(engine, incident_timeline) == 1


@pytest.fixture
def failing_outbox(engine: sa.Engine) -> Iterator[list[int]]:
    """Make the next INSERT INTO outbox fail, once."""
    remaining = [1]

    def fail(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if remaining[0] and statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
            remaining[0] -= 1
            raise sa.exc.OperationalError(statement, {}, Exception("injected failure"))

    event.listen(engine, "before_cursor_execute", fail)
    yield remaining
    event.remove(engine, "before_cursor_execute", fail)


def test_a_failed_transaction_leaves_no_half_incident(
    engine: sa.Engine, service: IncidentService, failing_outbox: list[int]
) -> None:
    with pytest.raises(sa.exc.OperationalError):
        service.apply_rule(FIRED)
    assert (count(engine, incidents), count(engine, incident_timeline)) == (0, 0)
    opened = service.apply_rule(FIRED)
    assert opened is not None and count(engine, outbox) == 1


def _outbox_events(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(outbox.c.event).order_by(outbox.c.id)).scalars())


def test_a_restart_mid_escalation_neither_skips_nor_repeats_a_tier(
    engine: sa.Engine, clock: FakeClock
) -> None:
    from collector.incidents.events import PersonOpened
    from collector.incidents.plan import ResponsePlan, Tier
    from collector.incidents.service import Recipient

    plan = ResponsePlan(
        "ops", (Tier(("person:a",), 300.0), Tier(("person:b",), 300.0), Tier(("person:c",), 300.0))
    )

    def started() -> IncidentService:  # a collector process; the database is what survives
        policy = LifecyclePolicy(plan_for=lambda _incident: plan)
        return IncidentService(
            engine,
            [],
            IncidentSettings(policy=policy),
            clock,
            directory=lambda tier, _i, _n: [Recipient(f"person:{tier.targets[0][7:]}", 0.0, "en")],
        )

    first = started()
    first.open(PersonOpened("x", "db down", Priority.P1))
    clock.advance(301)
    first.run_due_timers()  # tier 2 paged
    second = started()  # restart: a new process, same database
    second.run_due_timers()
    clock.advance(300)
    second.run_due_timers()  # tier 3 paged
    second.run_due_timers()
    clock.advance(600)
    second.run_due_timers()  # nothing past the last tier
    with engine.connect() as conn:
        pages = conn.execute(select(outbox.c.channel).order_by(outbox.c.id)).scalars().all()
    assert pages == ["person:a", "person:b", "person:c"]

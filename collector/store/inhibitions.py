"""Incidents held back by a stronger one of their kind: finding them, and letting them go."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select, update

from collector.incidents.events import TimerKind
from collector.incidents.model import ACTIVE_STATES, Incident
from collector.store.incidents import incident_from
from collector.store.schema import incidents, outbox, timers


def active_of_rules(conn: Connection, host: str, rules: Iterable[str]) -> list[Incident]:
    """The host's active incidents of these rules, oldest first."""
    query = (
        select(incidents)
        .where(
            incidents.c.host == host,
            incidents.c.rule.in_(sorted(rules)),
            incidents.c.state.in_([s.value for s in ACTIVE_STATES]),
        )
        .order_by(incidents.c.id)
    )
    return [incident_from(row) for row in conn.execute(query)]


def withdraw_unsent(conn: Connection, incident_id: int, now: float, reason: str) -> int:
    """Withdraw the incident's messages still waiting (not in flight): a stronger one speaks."""
    result = conn.execute(
        update(outbox)
        .where(
            outbox.c.incident_id == incident_id,
            outbox.c.status == "pending",
            outbox.c.lease_until.is_(None) | (outbox.c.lease_until < now),
        )
        .values(status="withdrawn", last_error=reason)
    )
    return int(result.rowcount or 0)


def release(conn: Connection, tag: str, now: float) -> int:
    """Make the held messages waiting on `tag` due now (the incident holding them is over)."""
    result = conn.execute(
        update(timers)
        .where(
            timers.c.kind == TimerKind.UNSILENCE.value,
            timers.c.tag == tag,
            timers.c.status == "pending",
        )
        .values(due_at=now)
    )
    return int(result.rowcount or 0)


def is_held(conn: Connection, incident_id: int, tag: str) -> bool:
    """Whether the incident has a message waiting on `tag`."""
    query = select(timers.c.id).where(
        timers.c.incident_id == incident_id,
        timers.c.kind == TimerKind.UNSILENCE.value,
        timers.c.tag == tag,
        timers.c.status == "pending",
    )
    return conn.execute(query.limit(1)).first() is not None

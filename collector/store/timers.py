"""Durable timers: due-work rows, scheduled and cancelled inside incident transactions.

A due row is claimed and done in one transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, the
single writer on SQLite), so a restart resumes it and two collectors never both fire it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Connection, bindparam, insert, or_, select, update

from collector.incidents.events import TimerKind
from collector.incidents.model import ACTIVE_STATES
from collector.store.schema import incidents, timers

_INSERT = insert(timers)
_FINISH = (
    update(timers)
    .where(timers.c.id == bindparam("timer"), timers.c.status == "pending")
    .values(status="done", done_at=bindparam("done"))
)
NEVER = 1e18  # due only when something moves it (held by a host-level incident)
HELD_TAG = "held"


@dataclass(frozen=True)
class DueTimer:
    """A claimed timer."""

    id: int
    kind: TimerKind
    incident_id: int | None
    due_at: float
    tag: str = ""
    data: dict[str, object] = field(default_factory=dict)


def schedule(
    conn: Connection,
    kind: TimerKind,
    incident_id: int,
    due_at: float,
    now: float,
    tag: str = "",
    data: dict[str, object] | None = None,
) -> None:
    """Replace any pending timer of `kind` and `tag` for the incident with one at `due_at`."""
    _cancel(conn, kind, incident_id, now, timers.c.tag == bindparam("scope_tag"), tag)
    row = {
        "kind": kind.value,
        "incident_id": incident_id,
        "due_at": due_at,
        "status": "pending",
        "created_at": now,
        "tag": tag,
        "data": data or None,
    }
    conn.execute(_INSERT, row)


def cancel(
    conn: Connection, kind: TimerKind, incident_id: int, now: float, tag: str | None = None
) -> None:
    """Cancel the pending timers of `kind` for the incident: all, or those of `tag` (a tag
    also covers its sub-tags: "ack" cancels "ack:50%" and "ack:breach")."""
    scope = None if tag is None else or_(timers.c.tag == tag, timers.c.tag.startswith(f"{tag}:"))
    _cancel(conn, kind, incident_id, now, scope)


def _cancel(
    conn: Connection,
    kind: TimerKind,
    incident_id: int,
    now: float,
    scope: ColumnElement[bool] | None,
    tag: str | None = None,
) -> None:
    query = update(timers).where(
        timers.c.incident_id == bindparam("for_incident"),
        timers.c.kind == bindparam("for_kind"),
        timers.c.status == "pending",
    )
    if scope is not None:
        query = query.where(scope)
    params: dict[str, object] = {
        "for_incident": incident_id,
        "for_kind": kind.value,
        "done": now,
    }
    if tag is not None:
        params |= {"scope_tag": tag, "scope_prefix": f"{tag}:"}
    conn.execute(query.values(status="cancelled", done_at=bindparam("done")), params)


def claim_due(conn: Connection, now: float, limit: int) -> list[DueTimer]:
    """Lock up to `limit` due timers in the caller's transaction, earliest first."""
    query = (
        select(
            timers.c.id,
            timers.c.kind,
            timers.c.incident_id,
            timers.c.due_at,
            timers.c.tag,
            timers.c.data,
        )
        .where(timers.c.status == "pending", timers.c.due_at <= now)
        .order_by(timers.c.due_at, timers.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [
        DueTimer(row.id, TimerKind(row.kind), row.incident_id, row.due_at, row.tag, row.data or {})
        for row in conn.execute(query)
    ]


def finish(conn: Connection, timer_id: int, now: float) -> None:
    """Mark a claimed timer done (same transaction as its effects)."""
    conn.execute(_FINISH, {"timer": timer_id, "done": now})


def release_held(conn: Connection, host: str, now: float) -> None:
    """Make the held messages of the host's active incidents due now (the host is back)."""
    active = select(incidents.c.id).where(
        incidents.c.host == host, incidents.c.state.in_([s.value for s in ACTIVE_STATES])
    )
    conn.execute(
        update(timers)
        .where(
            timers.c.kind == TimerKind.UNSILENCE.value,
            timers.c.tag == HELD_TAG,
            timers.c.status == "pending",
            timers.c.incident_id.in_(active),
        )
        .values(due_at=now)
    )

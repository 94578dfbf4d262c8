"""Maintenance notices in the database: the windows that tell customers, and what was told."""

from __future__ import annotations

from sqlalchemy import Connection, insert, or_, select

from collector.noise.silences import Silence
from collector.store.schema import maintenance_notices, silences
from collector.store.silences import silence_from


def announcing(conn: Connection, since: float) -> list[Silence]:
    """Windows with a customer and a notice plan not over before `since` (an expired or ended
    one may still owe its end notice)."""
    c = silences.c
    query = select(silences).where(
        c.customer.is_not(None),
        c.notices.is_not(None),
        or_(c.ends_at.is_(None), c.ends_at >= since),
        or_(c.expired_at.is_(None), c.expired_at >= since),
    )
    return [silence_from(row._mapping) for row in conn.execute(query)]


def already_told(conn: Connection, silence_id: int, occurrence: float, phase: str) -> bool:
    """Whether that notice was decided before (this collector or another, before a restart)."""
    query = select(maintenance_notices.c.id).where(
        maintenance_notices.c.silence_id == silence_id,
        maintenance_notices.c.occurrence == occurrence,
        maintenance_notices.c.phase == phase,
    )
    return conn.execute(query.limit(1)).first() is not None


def record_told(
    conn: Connection, silence_id: int, occurrence: float, phase: str, messages: int, now: float
) -> None:
    """Remember the notice, in the transaction that enqueues its messages (unique per phase)."""
    conn.execute(
        insert(maintenance_notices).values(
            silence_id=silence_id,
            occurrence=occurrence,
            phase=phase,
            messages=messages,
            created_at=now,
        )
    )

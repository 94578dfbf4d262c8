"""Silences and maintenance windows in the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, or_, select, update

from collector.noise.silences import NoticePlan, Recurrence, Silence
from collector.store.schema import silences

_IN_FORCE = select(silences).where(
    silences.c.expired_at.is_(None) | (silences.c.expired_at > bindparam("now")),
    silences.c.starts_at <= bindparam("now"),
    or_(silences.c.ends_at.is_(None), silences.c.ends_at > bindparam("now")),
)


def in_force(conn: Connection, now: float) -> list[Silence]:
    """Silences that may hold back a message at `now` (not expired, started, not ended)."""
    return [silence_from(row._mapping) for row in conn.execute(_IN_FORCE, {"now": now})]


class SilenceStore:
    """Adding, listing and expiring silences."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, silence: Silence, now: float) -> Silence:
        """Store a new silence; returns it with its id."""
        recurrence = silence.recurrence
        with self._engine.begin() as conn:
            new_id = conn.execute(
                insert(silences)
                .values(
                    kind=silence.kind,
                    matchers=silence.matchers,
                    starts_at=silence.starts_at,
                    ends_at=silence.ends_at,
                    recurrence=None
                    if recurrence is None
                    else {
                        "cron": recurrence.cron,
                        "duration": recurrence.duration,
                        "timezone": recurrence.timezone,
                    },
                    author=silence.author,
                    reason=silence.reason,
                    created_at=now,
                    customer=silence.customer,
                    notices=silence.notices.as_json() if silence.notices else None,
                )
                .returning(silences.c.id)
            ).scalar_one()
        return Silence(**{**silence.__dict__, "id": new_id})

    def expire(self, silence_id: int, now: float) -> Silence | None:
        """End a silence now (None if there is no such silence)."""
        with self._engine.begin() as conn:
            conn.execute(
                update(silences)
                .where(silences.c.id == silence_id, silences.c.expired_at.is_(None))
                .values(expired_at=now)
            )
            row = conn.execute(select(silences).where(silences.c.id == silence_id)).first()
        return silence_from(row._mapping) if row is not None else None

    def search(self, now: float, include_ended: bool = False) -> list[Silence]:
        """Silences in force or still to come (and, on request, the ended ones), newest first."""
        query = select(silences).order_by(silences.c.id.desc())
        if not include_ended:
            query = query.where(
                silences.c.expired_at.is_(None) | (silences.c.expired_at > now),
                or_(silences.c.ends_at.is_(None), silences.c.ends_at > now),
            )
        with self._engine.connect() as conn:
            return [silence_from(row._mapping) for row in conn.execute(query.limit(1000))]


def silence_from(m: Any) -> Silence:
    """A stored row (its mapping) as a Silence."""
    recurrence = m["recurrence"]
    return Silence(
        matchers=dict(m["matchers"]),
        starts_at=m["starts_at"],
        ends_at=m["ends_at"],
        author=m["author"],
        reason=m["reason"],
        kind=m["kind"],
        recurrence=Recurrence(**recurrence) if recurrence else None,
        expired_at=m["expired_at"],
        id=m["id"],
        customer=m["customer"],
        notices=NoticePlan.from_json(m["notices"]) if m["notices"] else None,
    )

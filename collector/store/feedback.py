"""A ticket's links to monitoring incidents, and the customer's verification answer with the
satisfaction rating."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update

from collector.store.intake_schema import incident_links, incident_satisfaction
from collector.store.schema import incidents

PENDING = "pending"  # the verification request went out; no answer yet


@dataclass(frozen=True)
class Satisfaction:
    """How a verification ended, and the customer's rating (1-5) and comment."""

    verdict: str  # pending | fixed | broken | timeout
    via: str  # link | reply | timer ("" while pending)
    rating: int | None
    comment: str | None
    by: str
    answered_at: float


def link(conn: Connection, incident_id: int, linked_id: int, actor: str, now: float) -> bool:
    """Link a ticket to an incident; False when it already was."""
    exists = conn.execute(
        select(incident_links.c.actor).where(
            incident_links.c.incident_id == incident_id, incident_links.c.linked_id == linked_id
        )
    ).first()
    if exists is not None:
        return False
    row = {"incident_id": incident_id, "linked_id": linked_id, "actor": actor, "created_at": now}
    conn.execute(insert(incident_links), row)
    return True


def linked_ids(conn: Connection, incident_id: int) -> list[int]:
    """The incidents linked to `incident_id`, either way round."""
    forward = select(incident_links.c.linked_id).where(incident_links.c.incident_id == incident_id)
    back = select(incident_links.c.incident_id).where(incident_links.c.linked_id == incident_id)
    found = {*conn.execute(forward).scalars(), *conn.execute(back).scalars()}
    return sorted(int(i) for i in found)


def record_answer(conn: Connection, incident_id: int, answer: Satisfaction) -> None:
    """Store (or replace) the verification state and rating of a ticket."""
    conn.execute(
        delete(incident_satisfaction).where(incident_satisfaction.c.incident_id == incident_id)
    )
    conn.execute(
        insert(incident_satisfaction),
        {
            "incident_id": incident_id,
            "verdict": answer.verdict,
            "via": answer.via,
            "rating": answer.rating,
            "comment": answer.comment,
            "by": answer.by[:320],
            "answered_at": answer.answered_at,
        },
    )


def settle_pending(conn: Connection, incident_id: int, verdict: str, via: str, now: float) -> bool:
    """A pending verification ends without the customer (the quiet period); False if none."""
    result = conn.execute(
        update(incident_satisfaction)
        .where(
            incident_satisfaction.c.incident_id == incident_id,
            incident_satisfaction.c.verdict == PENDING,
        )
        .values(verdict=verdict, via=via, answered_at=now)
    )
    return bool(result.rowcount)


def satisfaction_of(conn: Connection, incident_id: int) -> Satisfaction | None:
    """The ticket's verification answer and rating, if it was asked."""
    row = conn.execute(
        select(incident_satisfaction).where(incident_satisfaction.c.incident_id == incident_id)
    ).first()
    if row is None:
        return None
    return Satisfaction(
        row.verdict, row.via, row.rating, row.comment, row.by, float(row.answered_at)
    )


def ratings_between(conn: Connection, start: float, end: float) -> list[int]:
    """The ratings given in [start, end), for the reports."""
    query = select(incident_satisfaction.c.rating).where(
        incident_satisfaction.c.rating.is_not(None),
        incident_satisfaction.c.answered_at >= start,
        incident_satisfaction.c.answered_at < end,
    )
    return [int(r) for r in conn.execute(query).scalars()]


def answers_by_number(conn: Connection, numbers: list[str]) -> dict[str, Satisfaction]:
    """The verification answers of the tickets numbered `numbers` (those that were asked)."""
    found: dict[str, Satisfaction] = {}
    for start in range(0, len(numbers), 500):  # bounded IN lists
        query = (
            select(incidents.c.number, incident_satisfaction)
            .join(incidents, incidents.c.id == incident_satisfaction.c.incident_id)
            .where(incidents.c.number.in_(numbers[start : start + 500]))
        )
        for row in conn.execute(query):
            found[row.number] = Satisfaction(
                row.verdict, row.via, row.rating, row.comment, row.by, float(row.answered_at)
            )
    return found

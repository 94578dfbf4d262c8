"""Diagnostic snapshots in the database: asked, handed to the agent, answered, read back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from collector.store.snapshot_schema import diagnostic_snapshots as table


@dataclass(frozen=True)
class SnapshotRecord:
    """One snapshot: what was asked of which host for which incident, and the answer."""

    id: int
    incident_id: int
    host: str
    requested: list[dict[str, Any]]
    requested_at: float
    delivered_at: float | None
    received_at: float | None
    taken_at: float | None
    seconds: float | None
    result: list[dict[str, Any]] | None
    size_bytes: int | None


def ask(
    conn: Connection, incident_id: int, host: str, wanted: Sequence[Mapping[str, Any]], now: float
) -> int:
    """Record a snapshot to ask of `host`'s agent; returns its id."""
    values = {"incident_id": incident_id, "host": host, "requested": list(wanted)}
    result = conn.execute(insert(table).values(**values, requested_at=now))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def pending_hosts(conn: Connection, since: float) -> set[str]:
    """Hosts with a snapshot asked after `since` and not handed to their agent yet."""
    query = select(table.c.host).where(
        table.c.delivered_at.is_(None), table.c.requested_at >= since
    )
    return set(conn.execute(query.distinct()).scalars())


def hand_over(conn: Connection, host: str, since: float, now: float) -> list[SnapshotRecord]:
    """Claim `host`'s pending requests (asked after `since`) for the answer to its report."""
    c = table.c
    query = select(table).where(c.host == host, c.delivered_at.is_(None), c.requested_at >= since)
    found = [_record(row._mapping) for row in conn.execute(query.order_by(c.id))]
    for record in found:
        claimed = conn.execute(
            update(table)
            .where(c.id == record.id, c.delivered_at.is_(None))
            .values(delivered_at=now)
        )
        if not claimed.rowcount:  # another collector handed it over meanwhile
            found.remove(record)
    return found


def by_id(conn: Connection, snapshot_id: int) -> SnapshotRecord | None:
    """The snapshot with that id."""
    row = conn.execute(select(table).where(table.c.id == snapshot_id)).first()
    return _record(row._mapping) if row else None


def answer(
    conn: Connection,
    snapshot_id: int,
    result: list[dict[str, Any]],
    taken_at: float,
    seconds: float,
    size: int,
    now: float,
) -> bool:
    """Store the agent's answer once; False when it was answered before."""
    c = table.c
    changed = conn.execute(
        update(table)
        .where(c.id == snapshot_id, c.received_at.is_(None))
        .values(result=result, taken_at=taken_at, seconds=seconds, size_bytes=size, received_at=now)
    )
    return bool(changed.rowcount)


def of_incident(conn: Connection, incident_id: int) -> list[SnapshotRecord]:
    """The incident's snapshots, oldest first."""
    query = select(table).where(table.c.incident_id == incident_id).order_by(table.c.id)
    return [_record(row._mapping) for row in conn.execute(query)]


def _record(m: Any) -> SnapshotRecord:
    return SnapshotRecord(
        id=m["id"],
        incident_id=m["incident_id"],
        host=m["host"],
        requested=list(m["requested"] or []),
        requested_at=m["requested_at"],
        delivered_at=m["delivered_at"],
        received_at=m["received_at"],
        taken_at=m["taken_at"],
        seconds=m["seconds"],
        result=None if m["result"] is None else list(m["result"]),
        size_bytes=m["size_bytes"],
    )

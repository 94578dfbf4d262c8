"""The outbox table: messages decided in a transaction, claimed and sent by delivery workers.

Claiming takes a lease (`lease_owner`, `lease_until`) so that a message in flight is never
handed to a second worker, on this collector or another one on the same PostgreSQL (rows are
picked with FOR UPDATE SKIP LOCKED there). A lease that outlives its owner (kill -9) expires
and the message is sent again: at least once, and the stable idempotency key and Message-ID
let the receiver see it as the same message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Exists,
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from collector.store.incidents import append_timeline
from collector.store.schema import outbox


@dataclass(frozen=True)
class OutboxRow:
    """One claimed message for one channel."""

    id: int
    idempotency_key: str
    incident_id: int | None
    channel: str
    event: str
    payload: dict[str, Any]
    attempts: int
    created_at: float
    group_key: str | None = None


PERSON_CHANNEL_PREFIX = "person:"  # a person's contact method: person:<id>/<method>


def enqueue(conn: Connection, rows: Iterable[Mapping[str, Any]], now: float) -> int:
    """Insert pending messages in the caller's transaction (due now unless a row says
    `due_at`); returns how many."""
    values = [
        {"due_at": now, **row, "status": "pending", "attempts": 0, "created_at": now}
        for row in rows
    ]
    if values:
        conn.execute(insert(outbox), values)
    return len(values)


def enqueue_once(conn: Connection, rows: Iterable[Mapping[str, Any]], now: float) -> int:
    """Enqueue the rows whose idempotency key is not in the outbox yet; returns how many."""
    wanted = list(rows)
    keys = [row["idempotency_key"] for row in wanted]
    if not keys:
        return 0
    query = select(outbox.c.idempotency_key).where(outbox.c.idempotency_key.in_(keys))
    known = set(conn.execute(query).scalars())
    return enqueue(conn, [row for row in wanted if row["idempotency_key"] not in known], now)


def withdraw(conn: Connection, incident_id: int, now: float) -> int:
    """Withdraw an incident's pages to people that are not due yet (someone answered)."""
    result = conn.execute(
        update(outbox)
        .where(
            outbox.c.incident_id == incident_id,
            outbox.c.status == "pending",
            outbox.c.due_at > now,
            outbox.c.channel.startswith(PERSON_CHANNEL_PREFIX),
        )
        .values(status="withdrawn", last_error="acknowledged before it was due")
    )
    return int(result.rowcount or 0)


class OutboxStore:
    """Claiming and settling outbox rows, each in its own short transaction."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(
        self,
        channel: str | Sequence[str],
        owner: str,
        now: float,
        lease_seconds: float,
        limit: int = 20,
    ) -> list[OutboxRow]:
        """Lease up to `limit` due messages of `channel` (or of any of several), oldest first.

        A message waits while an older one of the same incident and channel is unsent, so a
        "resolved" never overtakes its "opened".
        """
        candidates = (
            select(outbox.c.id)
            .where(
                outbox.c.channel == channel
                if isinstance(channel, str)
                else outbox.c.channel.in_(list(channel)),
                outbox.c.status == "pending",
                outbox.c.due_at <= now,
                or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
                ~_blocked(),
            )
            .order_by(outbox.c.due_at, outbox.c.id)
            .limit(limit)
        )
        return self._lease(candidates, owner, now + lease_seconds)

    def claim_group(
        self,
        row: OutboxRow,
        owner: str,
        now: float,
        lease_seconds: float,
        incidents: set[int | None],
        limit: int = 500,
    ) -> list[OutboxRow]:
        """Lease the other pending messages of `row`'s storm group on its channel, due or not,
        of incidents not in `incidents`: they will go out in one message with it.

        As in `claim`, a message waits while an older one of its incident is unsent, so a
        storm never overtakes an incident's own earlier message.
        """
        known = [i for i in incidents if i is not None]
        query = (
            select(outbox.c.id)
            .where(
                outbox.c.channel == row.channel,
                outbox.c.group_key == row.group_key,
                outbox.c.status == "pending",
                outbox.c.incident_id.not_in(known),
                or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
                ~_blocked(),
            )
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return self._lease(query, owner, now + lease_seconds)

    def _lease(self, candidates: Select[Any], owner: str, until: float) -> list[OutboxRow]:
        """Lease the rows `candidates` selects (skipping rows another collector has locked)."""
        with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                candidates = candidates.with_for_update(skip_locked=True, of=outbox)
            ids = list(conn.execute(candidates).scalars())
            if not ids:
                return []
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(ids))
                .values(lease_owner=owner, lease_until=until, attempts=outbox.c.attempts + 1)
            )
            rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id))
            return [_claimed(row._mapping) for row in rows]

    def settle(
        self,
        row: OutboxRow,
        owner: str,
        now: float,
        error: str | None,
        retry_at: float | None,
        note: str = "",
    ) -> str:
        """Record one attempt: sent, retry at `retry_at`, or failed for good (retry_at None).

        Returns the new status; the attempt also goes on the incident's timeline.
        """
        status = "sent" if error is None else ("pending" if retry_at is not None else "failed")
        values: dict[str, Any] = {"status": status, "lease_owner": None, "lease_until": None}
        if error is None:
            values["sent_at"] = now
        else:
            values["last_error"] = error
            if retry_at is not None:
                values["due_at"] = retry_at
        with self._engine.begin() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id == row.id, outbox.c.lease_owner == owner)
                .values(**values)
            )
            if row.incident_id is not None:
                name = {"sent": "SENT", "pending": "FAILED", "failed": "GAVE_UP"}[status]
                append_timeline(
                    conn,
                    row.incident_id,
                    now,
                    "delivery",
                    name,
                    "system",
                    f"{row.event} to {row.channel}{note}",
                    {
                        "channel": row.channel,
                        "event": row.event,
                        "attempt": row.attempts,
                        "error": error,
                        "retry_at": retry_at,
                    },
                )
        return status

    def release(self, owner: str) -> int:
        """Drop leases this owner held before a restart: nothing of ours is in flight now."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.lease_owner == owner, outbox.c.status == "pending")
                .values(lease_owner=None, lease_until=None)
            )
        return int(result.rowcount or 0)

    def fail_orphans(self, channels: set[str], now: float) -> int:
        """Mark messages for channels no longer configured as failed (they cannot be sent)."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(outbox)
                .where(outbox.c.status == "pending", outbox.c.channel.not_in(channels))
                .values(status="failed", last_error="channel no longer configured")
            )
        return int(result.rowcount or 0)

    def prune(self, sent_before: float) -> int:
        """Forget sent messages older than `sent_before` (their trace stays on the timeline)."""
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(outbox).where(outbox.c.status == "sent", outbox.c.sent_at < sent_before)
            )
        return int(result.rowcount or 0)

    def next_due(self, channel: str) -> float | None:
        """When the earliest pending message of `channel` is due (None: nothing waits)."""
        query = select(func.min(outbox.c.due_at)).where(
            and_(outbox.c.channel == channel, outbox.c.status == "pending")
        )
        with self._engine.connect() as conn:
            due = conn.execute(query).scalar()
        return float(due) if due is not None else None

    def counts(self) -> dict[tuple[str, str], int]:
        """Messages per (channel, status)."""
        query = select(outbox.c.channel, outbox.c.status, func.count()).group_by(
            outbox.c.channel, outbox.c.status
        )
        with self._engine.connect() as conn:
            return {(str(c), str(s)): int(n) for c, s, n in conn.execute(query)}

    def oldest_due(self, now: float) -> dict[str, float]:
        """Per channel, the due time of its oldest waiting message already due at `now`."""
        query = (
            select(outbox.c.channel, func.min(outbox.c.due_at))
            .where(outbox.c.status == "pending", outbox.c.due_at <= now)
            .group_by(outbox.c.channel)
        )
        with self._engine.connect() as conn:
            return {str(c): float(d) for c, d in conn.execute(query)}

    def for_incident(self, incident_id: int) -> list[dict[str, Any]]:
        """The messages of one incident (status, attempts, last error), oldest first."""
        query = (
            select(
                outbox.c.channel,
                outbox.c.event,
                outbox.c.status,
                outbox.c.attempts,
                outbox.c.last_error,
                outbox.c.created_at,
                outbox.c.sent_at,
            )
            .where(outbox.c.incident_id == incident_id)
            .order_by(outbox.c.id)
        )
        with self._engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


def _blocked() -> Exists:
    """An older message of the same incident and channel is still unsent."""
    earlier = outbox.alias("earlier")
    return exists().where(
        earlier.c.channel == outbox.c.channel,
        earlier.c.incident_id == outbox.c.incident_id,
        earlier.c.status == "pending",
        earlier.c.id < outbox.c.id,
    )


def _claimed(m: Mapping[str, Any] | Any) -> OutboxRow:
    return OutboxRow(
        id=m["id"],
        idempotency_key=m["idempotency_key"],
        incident_id=m["incident_id"],
        channel=m["channel"],
        event=m["event"],
        payload=dict(m["payload"]),
        attempts=m["attempts"],
        created_at=m["created_at"],
        group_key=m["group_key"],
    )

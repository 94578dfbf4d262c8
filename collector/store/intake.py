"""Mail taken in: the claim on each mailbox message, the Message-IDs of each ticket's thread,
and the attachments kept."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from collector.intake.parse import Attachment
from collector.store.intake_schema import mail_attachments, mail_messages, mail_threads


def claim_message(
    engine: Engine,
    mailbox: str,
    uidvalidity: int,
    uid: int,
    message_id: str | None,
    sender: str,
    now: float,
) -> int | None:
    """Claim a mailbox message for this collector (its own transaction); None when it was
    taken in before, by UID or by Message-ID (a restart, another collector, a copy)."""
    row = {
        "mailbox": mailbox,
        "uidvalidity": uidvalidity,
        "uid": uid,
        "message_id": message_id[:512] if message_id else None,
        "sender": sender[:320],
        "outcome": "claimed",
        "received_at": now,
    }
    try:
        with engine.begin() as conn:
            inserted = conn.execute(insert(mail_messages), row).inserted_primary_key
            assert inserted is not None
            return int(inserted[0])
    except IntegrityError:
        return None


def _same_message(
    mailbox: str, uidvalidity: int, uid: int, message_id: str | None
) -> ColumnElement[bool]:
    same_uid = and_(
        mail_messages.c.mailbox == mailbox,
        mail_messages.c.uidvalidity == uidvalidity,
        mail_messages.c.uid == uid,
    )
    return or_(same_uid, mail_messages.c.message_id == message_id[:512]) if message_id else same_uid


def is_settled(
    engine: Engine, mailbox: str, uidvalidity: int, uid: int, message_id: str | None
) -> bool:
    """Whether the message was taken in and settled (not merely claimed)."""
    with engine.connect() as conn:
        found = conn.execute(
            select(mail_messages.c.id).where(
                _same_message(mailbox, uidvalidity, uid, message_id),
                mail_messages.c.outcome != "claimed",
            )
        ).first()
    return found is not None


def reclaim_stale(
    engine: Engine,
    mailbox: str,
    uidvalidity: int,
    uid: int,
    message_id: str | None,
    cutoff: float,
    now: float,
) -> int | None:
    """Take over a claim left unsettled since before `cutoff` (its collector died mid-work);
    None when the message was settled, or its claim is recent (being worked on)."""
    same = _same_message(mailbox, uidvalidity, uid, message_id)
    with engine.begin() as conn:
        row = conn.execute(
            select(mail_messages.c.id, mail_messages.c.received_at).where(
                same, mail_messages.c.outcome == "claimed", mail_messages.c.received_at < cutoff
            )
        ).first()
        if row is None:
            return None
        taken = conn.execute(  # only if nobody took it over meanwhile
            update(mail_messages)
            .where(mail_messages.c.id == row.id, mail_messages.c.received_at == row.received_at)
            .values(received_at=now)
        )
        return int(row.id) if taken.rowcount == 1 else None


def settle_message(
    engine: Engine, row_id: int, outcome: str, incident_id: int | None, detail: str = ""
) -> None:
    """Record what became of a claimed message (ticket, note, refused...)."""
    with engine.begin() as conn:
        conn.execute(
            update(mail_messages)
            .where(mail_messages.c.id == row_id)
            .values(outcome=outcome, incident_id=incident_id, detail=detail[:2000])
        )


def incident_of_thread(conn: Connection, message_ids: Sequence[str]) -> int | None:
    """The ticket one of `message_ids` belongs to (the first one known)."""
    if not message_ids:
        return None
    found = conn.execute(
        select(mail_threads.c.message_id, mail_threads.c.incident_id).where(
            mail_threads.c.message_id.in_([m[:512] for m in message_ids])
        )
    ).all()
    known = {row.message_id: int(row.incident_id) for row in found}
    return next((known[m[:512]] for m in message_ids if m[:512] in known), None)


def remember_thread(
    conn: Connection, message_ids: Iterable[str | None], incident_id: int, now: float
) -> None:
    """Record Message-IDs of a ticket's mail (those already known are left as they are)."""
    wanted = {m[:512] for m in message_ids if m}
    if not wanted:
        return
    known = set(
        conn.execute(
            select(mail_threads.c.message_id).where(mail_threads.c.message_id.in_(wanted))
        ).scalars()
    )
    rows = [
        {"message_id": m, "incident_id": incident_id, "created_at": now}
        for m in sorted(wanted - known)
    ]
    if rows:
        conn.execute(insert(mail_threads), rows)


def save_attachments(
    conn: Connection, incident_id: int, message_row: int, attachments: Sequence[Attachment]
) -> None:
    """Keep a message's attachments on its ticket (bytes only when within the limit)."""
    rows = [
        {
            "incident_id": incident_id,
            "message_id": message_row,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "data": a.data,
        }
        for a in attachments
    ]
    if rows:
        conn.execute(insert(mail_attachments), rows)


def attachments_of(conn: Connection, incident_id: int) -> list[dict[str, Any]]:
    """The attachments of a ticket's mail: id, name, type, size, whether the bytes are kept."""
    result = conn.execute(
        select(
            mail_attachments.c.id,
            mail_attachments.c.filename,
            mail_attachments.c.content_type,
            mail_attachments.c.size,
            mail_attachments.c.data.is_not(None).label("stored"),
        )
        .where(mail_attachments.c.incident_id == incident_id)
        .order_by(mail_attachments.c.id)
    )
    return [dict(row._mapping) for row in result]


def messages_taken(conn: Connection) -> list[dict[str, Any]]:
    """Every message taken in, oldest first (for tests and the operator's look)."""
    result = conn.execute(select(mail_messages).order_by(mail_messages.c.id))
    return [dict(row._mapping) for row in result]

"""The customer side's tables on both databases: a mailbox message is claimed once (by UID or
Message-ID), threads map to their ticket, answers are stored, replaced and counted."""

from __future__ import annotations

import sqlalchemy as sa

from collector.incidents.model import Incident, IncidentState, Source
from collector.store import incidents as rows
from collector.store.feedback import (
    PENDING,
    Satisfaction,
    answers_by_number,
    link,
    linked_ids,
    record_answer,
    satisfaction_of,
    settle_pending,
)
from collector.store.intake import claim_message, incident_of_thread, remember_thread
from rules.priority import Priority

NOW = 1_800_000_000.0


def stored(engine: sa.Engine, title: str) -> Incident:
    incident = Incident(Source.PERSON, Priority.P3, IncidentState.TRIGGERED, title, NOW, NOW)
    with engine.begin() as conn:
        return rows.insert_incident(conn, incident, rows.next_number(conn, "INC", NOW))


def test_a_message_is_claimed_once_by_uid_or_message_id(engine: sa.Engine) -> None:
    first = claim_message(engine, "INBOX", 7, 1, "<a@x>", "a@x", NOW)
    assert first is not None
    assert claim_message(engine, "INBOX", 7, 1, "<other@x>", "a@x", NOW) is None, "same UID"
    assert claim_message(engine, "INBOX", 7, 2, "<a@x>", "a@x", NOW) is None, "a copy"
    assert claim_message(engine, "INBOX", 8, 1, "<b@x>", "b@x", NOW) is not None, "new UIDVALIDITY"
    assert claim_message(engine, "INBOX", 8, 2, None, "", NOW) is not None, "no Message-ID"
    assert claim_message(engine, "INBOX", 8, 3, None, "", NOW) is not None


def test_threads_links_and_answers(engine: sa.Engine) -> None:
    ticket, alert = stored(engine, "ticket"), stored(engine, "alert")
    assert ticket.id is not None and alert.id is not None
    with engine.begin() as conn:
        remember_thread(conn, ["<a@x>", "<b@x>", None], ticket.id, NOW)
        remember_thread(conn, ["<b@x>"], alert.id, NOW)  # known: stays with the first
        assert incident_of_thread(conn, ["<zz@x>", "<b@x>"]) == ticket.id
        assert incident_of_thread(conn, ["<zz@x>"]) is None
        assert link(conn, ticket.id, alert.id, "alice", NOW)
        assert not link(conn, ticket.id, alert.id, "alice", NOW)
        assert linked_ids(conn, alert.id) == [ticket.id]
        record_answer(conn, ticket.id, Satisfaction(PENDING, "", None, None, "", NOW))
        assert settle_pending(conn, ticket.id, "timeout", "timer", NOW + 86400)
        assert not settle_pending(conn, ticket.id, "timeout", "timer", NOW + 86400)
        record_answer(conn, ticket.id, Satisfaction("fixed", "link", 5, "ok", "a@x", NOW + 1))
        assert satisfaction_of(conn, ticket.id) == Satisfaction(
            "fixed", "link", 5, "ok", "a@x", NOW + 1
        )
        assert set(answers_by_number(conn, [ticket.number, alert.number])) == {ticket.number}

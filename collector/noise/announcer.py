"""Maintenance notices decided and written to the outbox, once per window occurrence and phase.

Each run looks at the windows that tell a customer, finds the notices due (noise.notices),
and for each one not decided before writes one message per contact (in the contact's
language) and a record of the decision, in one transaction: a restart, or a second collector
on the same database, never repeats a notice, and the outbox delivers and retries it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Engine

from collector.incidents.customers import Customer, CustomerBook
from collector.noise.contacts import contact_key
from collector.noise.notice_text import notice_text
from collector.noise.notices import END_GRACE, DueNotice, due_notices
from collector.noise.silences import Silence
from collector.notify.message import MESSAGE_ID_DOMAIN
from collector.store.notices import already_told, announcing, record_told
from collector.store.outbox import enqueue
from rules.matcher import compile_matcher

log = logging.getLogger(__name__)

NOTICE_EVENTS = {False: "maintenance", True: "maintenance_end"}  # outbox `event`


class MaintenanceAnnouncer:
    """Writes due maintenance notices to the outbox."""

    def __init__(
        self,
        engine: Engine,
        book: CustomerBook,
        clock: Callable[[], float],
        hosts: Callable[[], Iterable[str]],
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self._engine = engine
        self._book = book
        self._clock = clock
        self._hosts = hosts
        self._on_commit = on_commit

    def run(self) -> int:
        """Decide every notice due now; returns how many messages were written."""
        now = self._clock()
        written = 0
        with self._engine.begin() as conn:
            for window in announcing(conn, now - END_GRACE):
                for notice in due_notices(window, now):
                    assert window.id is not None
                    start = notice.occurrence.start
                    if already_told(conn, window.id, start, notice.phase):
                        continue
                    rows = self._messages(notice, now)
                    enqueue(conn, rows, now)
                    record_told(conn, window.id, start, notice.phase, len(rows), now)
                    written += len(rows)
                    log.info("maintenance #%s: %s notice to %d contact(s) of %s",
                             window.id, notice.phase, len(rows), window.customer)  # fmt: skip
        if written:
            self._on_commit()
        return written

    def _messages(self, notice: DueNotice, now: float) -> list[dict[str, Any]]:
        customer = self._book.named(notice.window.customer or "")
        if customer is None:
            log.warning("maintenance #%s: customer %r is not in the customers file; no notice",
                        notice.window.id, notice.window.customer)  # fmt: skip
            return []
        hosts = covered_hosts(notice.window, customer, self._hosts())
        rows = []
        for contact in customer.contacts:
            if contact.email:
                text = notice_text(notice, contact.name, hosts, contact.language)
                channel = contact_key(customer.name, contact.email)
                rows.append(_outbox_row(notice, channel, text.title, text.body, now))
        return rows


def covered_hosts(window: Silence, customer: Customer, known: Iterable[str]) -> list[str]:
    """The known hosts a window is for: those its `host` matcher takes, else the customer's."""
    pattern = window.matchers.get("host")
    if pattern is not None:
        matcher = compile_matcher({"host": pattern})
        return sorted(h for h in known if matcher.matches({}, h))
    return sorted(h for h in known if customer.owns(h))


def _outbox_row(
    notice: DueNotice, channel: str, title: str, body: str, now: float
) -> dict[str, Any]:
    window, start = notice.window, int(notice.occurrence.start)
    event = NOTICE_EVENTS[notice.ending]
    identity = f"maintenance\x1f{window.id}\x1f{start}\x1f{notice.phase}\x1f{channel}"
    key = hashlib.sha256(identity.encode()).hexdigest()[:32]
    root = f"<maintenance-{window.id}-{start}@{MESSAGE_ID_DOMAIN}>"  # one thread per occurrence
    payload = {
        "title": title,
        "body": body,
        "event": event,
        "priority": "P4",
        "summary": title,
        "time": notice.occurrence.start,
        "message_id": f"<{key}@{MESSAGE_ID_DOMAIN}>",
        "in_reply_to": root,
    }
    return {
        "idempotency_key": key,
        "incident_id": None,
        "channel": channel,
        "event": event,
        "payload": payload,
        "due_at": now,
        "group_key": None,
    }

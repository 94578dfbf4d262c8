"""The intake loop: each unseen message of the support mailbox becomes a ticket (with a reply
telling the sender its number) or, in a ticket's thread, a note on it.

A message is claimed in the database before it is worked on (UID within UIDVALIDITY, and its
Message-ID, both unique), so a restart or a second collector never takes it twice; it is
marked \\Seen once settled.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine

from collector.incidents.customers import CustomerBook
from collector.incidents.events import AddNote, PersonOpened
from collector.incidents.model import Incident
from collector.incidents.service import IncidentService
from collector.intake.customers import named_hosts, sender_customer
from collector.intake.mailbox import Mailbox, open_mailbox
from collector.intake.parse import InboundMail, parse_mail
from collector.intake.replies import message_id_of, ticket_reply
from collector.intake.routing import route
from collector.intake.settings import MailIntakeConfig
from collector.notify.message import Language
from collector.store import incidents as rows
from collector.store.intake import (
    claim_message,
    incident_of_thread,
    is_settled,
    reclaim_stale,
    remember_thread,
    save_attachments,
    settle_message,
)
from collector.store.outbox import enqueue

log = logging.getLogger(__name__)

# A claim still unsettled after this long was left by a collector that died mid-work: taken
# over (at worst a second ticket, if that collector opened one and died before settling).
STALE_CLAIM = 600.0
VIA_LABEL = "via"  # "email": the ticket came in by mail
# (incident, mail) -> True when the mail answered the incident's verification request.
AnswerHook = Callable[[Incident, InboundMail], bool]


@dataclass(frozen=True)
class Taken:
    """What became of one message."""

    outcome: str  # ticket | note | verification | refused | failed
    incident: Incident | None = None
    detail: str = ""


class MailIntake:
    """Polls the mailbox and turns messages into tickets and notes."""

    def __init__(
        self,
        config: MailIntakeConfig,
        engine: Engine,
        incidents: IncidentService,
        book: CustomerBook | None,
        clock: Callable[[], float],
        *,
        hosts: Callable[[], Iterable[str]] = list,
        number_prefix: str = "INC",
        language: Language = "en",
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self._engine = engine
        self._incidents = incidents
        self._book = book
        self._clock = clock
        self._hosts = hosts
        self._number = re.compile(rf"\b{re.escape(number_prefix)}-\d{{4}}-\d+\b", re.IGNORECASE)
        self._language = language
        self._on_commit = on_commit
        self.answer: AnswerHook | None = None  # set by verification, when configured

    def poll(self) -> int:
        """Take in every unseen message; returns how many were settled."""
        with open_mailbox(self.config) as box:
            state = box.state()
            for uid in state.unseen:
                self._take(box, state.uidvalidity, uid)
            return len(state.unseen)

    def _take(self, box: Mailbox, uidvalidity: int, uid: int) -> None:
        where = f"{self.config.mailbox} UID {uid}"
        size = box.size(uid)
        if size > self.config.max_message_bytes:
            mail = InboundMail("", "", "", "", None, problems=(f"{size} bytes",))
            detail = f"{size} bytes, over max_message_bytes {self.config.max_message_bytes}"
        else:
            mail = parse_mail(
                box.fetch(uid), self.config.max_body_chars, self.config.max_attachment_bytes
            )
            detail = ""
        now = self._clock()
        row = claim_message(
            self._engine, self.config.mailbox, uidvalidity, uid, mail.message_id, mail.sender, now
        ) or reclaim_stale(
            self._engine, self.config.mailbox, uidvalidity, uid, mail.message_id,
            now - STALE_CLAIM, now,
        )  # fmt: skip
        if row is None:
            self._skip(box, uid, uidvalidity, mail, where)
            return
        taken = Taken("refused", detail=detail) if detail else self._settle(mail, row)
        self._record(row, taken, where, mail)
        box.mark_seen(uid)

    def _skip(
        self, box: Mailbox, uid: int, uidvalidity: int, mail: InboundMail, where: str
    ) -> None:
        """Taken in before: marked seen if settled; left unseen while another collector works
        on it (if that one dies, its claim goes stale and a later poll takes the mail over)."""
        if is_settled(self._engine, self.config.mailbox, uidvalidity, uid, mail.message_id):
            log.info("mail %s (%s) was taken in before; marking it seen", where, mail.message_id)
            box.mark_seen(uid)
        else:
            log.info("mail %s (%s) is being taken in elsewhere", where, mail.message_id)

    def _settle(self, mail: InboundMail, row: int) -> Taken:
        if not mail.sender:
            return Taken("refused", detail="; ".join(mail.problems))
        try:
            found = self._thread(mail)
            if found is not None:
                return self._note(found, mail)
            return self._open(mail, row)
        except Exception as exc:  # one bad message must not stop the mailbox
            log.exception("mail from %s could not be taken in", mail.sender)
            return Taken("failed", detail=f"{type(exc).__name__}: {exc}")

    def _record(self, row: int, taken: Taken, where: str, mail: InboundMail) -> None:
        incident_id = taken.incident.id if taken.incident else None
        settle_message(self._engine, row, taken.outcome, incident_id, taken.detail)
        number = taken.incident.number if taken.incident else "-"
        if taken.outcome in ("refused", "failed"):
            log.warning("mail %s from %r %s: %s", where, mail.sender, taken.outcome, taken.detail)
        else:
            log.info("mail %s from %s: %s %s", where, mail.sender, taken.outcome, number)
        if mail.problems and taken.outcome not in ("refused", "failed"):
            log.warning("mail %s from %s: %s", where, mail.sender, "; ".join(mail.problems))

    def _thread(self, mail: InboundMail) -> Incident | None:
        """The ticket a reply belongs to: by its thread's Message-IDs, else a number in the
        subject."""
        with self._engine.connect() as conn:
            known = incident_of_thread(conn, mail.in_reply_to)
            if known is not None:
                return rows.by_reference(conn, known)
            number = self._number.search(mail.subject)
            return rows.by_reference(conn, number.group(0).upper()) if number else None

    def _note(self, incident: Incident, mail: InboundMail) -> Taken:
        assert incident.id is not None
        with self._engine.begin() as conn:
            remember_thread(conn, [mail.message_id], incident.id, self._clock())
        if self.answer is not None and self.answer(incident, mail):
            return Taken("verification", incident)
        text = mail.body or mail.subject or "(empty reply)"
        noted = self._incidents.act(
            incident.id, AddNote(f"mail:{mail.sender}", text, from_customer=True)
        )
        return Taken("note", noted)

    def _open(self, mail: InboundMail, row: int) -> Taken:
        event, language = self._opening(mail)
        incident = self._incidents.open(event)
        assert incident.id is not None
        now = self._clock()
        with self._engine.begin() as conn:
            save_attachments(conn, incident.id, row, mail.attachments)
            ids = [mail.message_id]
            if not mail.auto_reply:
                reply = ticket_reply(
                    incident, mail.sender, mail.subject, mail.message_id, language, now
                )
                enqueue(conn, [reply], now)
                ids.append(message_id_of(reply["idempotency_key"]))
            remember_thread(conn, ids, incident.id, now)
        self._on_commit()
        return Taken("ticket", incident)

    def _opening(self, mail: InboundMail) -> tuple[PersonOpened, Language]:
        matched = sender_customer(self._book, mail.sender)
        routed = route(mail.subject, mail.body, self.config.default_priority, self.config.keywords)
        labels = {VIA_LABEL: "email", **routed.labels}
        language = self._language
        if matched is not None:
            labels["customer"] = matched[0].name
            language = matched[1].language if matched[1] is not None else language
        hosts = named_hosts(f"{mail.subject}\n{mail.body}", self._hosts())
        reporter = f"{mail.sender_name} <{mail.sender}>" if mail.sender_name else mail.sender
        event = PersonOpened(
            actor=f"mail:{mail.sender}",
            title=(mail.subject or "(no subject)")[:500],
            priority=routed.priority,
            description=_description(mail, routed.matched),
            hosts=hosts,
            reporter=reporter,
            contact=mail.sender,
            labels=labels,
        )
        return event, language


def _description(mail: InboundMail, matched: tuple[str, ...]) -> str:
    """The body, then what the intake noticed: keywords, attachments, problems."""
    notes = []
    if matched:
        notes.append("keywords: " + ", ".join(matched))
    for item in mail.attachments:
        kept = "" if item.data is not None else ", not stored: over the size limit"
        notes.append(f"attachment: {item.filename} ({item.content_type}, {item.size} bytes{kept})")
    notes += [f"note: {problem}" for problem in mail.problems]
    tail = "\n".join(f"[{n}]" for n in notes)
    return f"{mail.body}\n\n{tail}".strip() if tail else mail.body

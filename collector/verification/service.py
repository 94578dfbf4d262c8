"""Verification: a resolved incident with a customer goes to `verifying` and its contacts get
two signed links ("service is back", "still broken"); the answer (by link or by reply) closes
or reopens it under the same number, with the satisfaction rating stored; no answer within
the quiet period closes it by the lifecycle's timer, recorded here as verified by timeout."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from collector.incidents.customers import Contact, CustomerBook
from collector.incidents.events import AddNote, Close, Reopen, RequestVerification
from collector.incidents.model import Incident, IncidentState
from collector.incidents.service import IncidentService
from collector.incidents.transitions import Transition, TransitionRefusedError
from collector.intake.parse import InboundMail
from collector.intake.replies import message_id_of, reply_row
from collector.intake.settings import VerificationConfig
from collector.notify.message import Language
from collector.store import incidents as rows
from collector.store.feedback import (
    PENDING,
    Satisfaction,
    record_answer,
    satisfaction_of,
    settle_pending,
)
from collector.store.intake import remember_thread
from collector.store.outbox import enqueue
from collector.verification.answers import own_words, read_reply
from collector.verification.links import VERDICTS, LinkClaim, LinkSigner, Verdict
from collector.verification.text import link_lines, request_text

log = logging.getLogger(__name__)


class AnswerRefusedError(Exception):
    """The incident is no longer waiting for this answer (answered, reopened, closed)."""


@dataclass(frozen=True)
class Addressee:
    """Who is asked to verify: an address and the language they read."""

    email: str
    language: Language


class Verifier:
    """Asks customers to verify, and applies their answers."""

    def __init__(
        self,
        config: VerificationConfig,
        engine: Engine,
        incidents: IncidentService,
        book: CustomerBook | None,
        clock: Callable[[], float],
        *,
        still_broken: tuple[str, ...] = (),
        language: Language = "en",
        on_commit: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.signer = LinkSigner(config.secret())
        self._engine = engine
        self._incidents = incidents
        self._book = book
        self._clock = clock
        self._still_broken = still_broken
        self._language = language
        self._on_commit = on_commit
        # True when the customer notices ask the customer's contacts (with `lines`); this
        # verifier then asks only a reporter by mail who is not one of them.
        self.contacts_asked_elsewhere = False

    def lines(self, incident: Incident, contact: Contact) -> str:
        """The signed links for a contact, as the lines a customer notice carries."""
        assert incident.id is not None and contact.email is not None
        expires = self._clock() + self.config.link_lifetime
        links = self._links(incident, contact.email, expires)
        return link_lines(links, contact.language, expires)

    def _links(self, incident: Incident, email: str, expires: float) -> dict[str, str]:
        assert incident.id is not None
        return {
            verdict: self.link_url(LinkClaim(incident.id, incident.number, verdict, expires, email))
            for verdict in VERDICTS
        }

    def on_transition(self, incident: Incident, transition: Transition) -> None:
        """The lifecycle hook: resolve -> verify, verify -> ask, close -> settle a wait."""
        try:
            if transition is Transition.RESOLVE and self.addressees(incident):
                self._incidents.act(
                    incident.number, RequestVerification("system", "asking the customer")
                )
            elif transition is Transition.VERIFY:
                self._ask(incident)
            elif transition is Transition.CLOSE:
                self._closed(incident)
        except Exception:  # the transition is stored; a failed request must not undo it
            log.exception("verification of %s after %s failed", incident.number, transition)

    def addressees(self, incident: Incident) -> list[Addressee]:
        """The customer's contacts with e-mail, and the ticket's reporter by mail."""
        found: dict[str, Addressee] = {}
        for contact in self._contacts(incident):
            if contact.email:
                found.setdefault(contact.email.lower(), Addressee(contact.email, contact.language))
        if incident.contact and "@" in incident.contact:
            found.setdefault(incident.contact.lower(), Addressee(incident.contact, self._language))
        return list(found.values())

    def _contacts(self, incident: Incident) -> list[Contact]:
        customer = self._book.customer_of(incident) if self._book else None
        return list(customer.contacts) if customer else []

    def _asked_here(self, incident: Incident) -> list[Addressee]:
        """Whom this verifier mails itself (the customer notices may ask the contacts)."""
        if not self.contacts_asked_elsewhere:
            return self.addressees(incident)
        told = {c.email.lower() for c in self._contacts(incident) if c.email}
        return [a for a in self.addressees(incident) if a.email.lower() not in told]

    def _ask(self, incident: Incident) -> None:
        assert incident.id is not None
        now = self._clock()
        expires = now + self.config.link_lifetime
        messages, ids = [], []
        for who in self._asked_here(incident):
            links = self._links(incident, who.email, expires)
            title, body = request_text(incident, links, who.language, expires)
            row = reply_row(incident, who.email, title, body, "verify", None, now)
            messages.append(row)
            ids.append(message_id_of(row["idempotency_key"]))
        with self._engine.begin() as conn:
            enqueue(conn, messages, now)
            remember_thread(conn, ids, incident.id, now)
            record_answer(conn, incident.id, Satisfaction(PENDING, "", None, None, "", now))
        self._on_commit()
        log.info("verification of %s asked of %d contact(s)", incident.number, len(messages))

    def link_url(self, claim: LinkClaim) -> str:
        """The public address of a signed link."""
        return f"{self.config.public_url.rstrip('/')}/verify/{self.signer.sign(claim)}"

    def _closed(self, incident: Incident) -> None:
        """Closed while still waiting: the quiet period ran out (or staff closed it)."""
        assert incident.id is not None
        now = self._clock()
        with self._engine.begin() as conn:
            asked = satisfaction_of(conn, incident.id)
            if asked is None or asked.verdict != PENDING:
                return
            timed_out = now >= asked.answered_at + self.config.quiet_period - 1
            settle_pending(conn, incident.id, "timeout" if timed_out else "closed",
                           "timer" if timed_out else "staff", now)  # fmt: skip
        log.info("%s verified by %s", incident.number, "timeout" if timed_out else "staff close")

    def answer(
        self,
        incident_id: int,
        verdict: Verdict,
        by: str,
        via: str,
        rating: int | None = None,
        comment: str | None = None,
    ) -> Incident:
        """Apply a customer's answer; AnswerRefusedError when it no longer waits for one."""
        answer = Satisfaction(verdict, via, rating, comment, by, self._clock())
        return apply_answer(self._engine, self._incidents, incident_id, answer)

    def answer_mail(self, incident: Incident, mail: InboundMail) -> bool:
        """A reply to a verifying ticket: True when it said fixed or broken (then applied)."""
        if incident.state is not IncidentState.VERIFYING or incident.id is None:
            return False
        said = read_reply(mail.body or mail.subject, self._still_broken)
        if said.verdict is None:
            return False
        comment = own_words(mail.body)[:2000] or None
        self.answer(incident.id, said.verdict, mail.sender, "reply", said.rating, comment)
        return True


def apply_answer(
    engine: Engine, incidents: IncidentService, incident_id: int, answer: Satisfaction
) -> Incident:
    """A customer's verdict (by link, reply or the console): "broken" reopens, "fixed" closes
    (a P1/P2 without its root cause gets a note instead); the answer is stored. Raises
    AnswerRefusedError when the ticket no longer waits for one."""
    with engine.connect() as conn:
        current = rows.by_reference(conn, incident_id)
    if current is None or current.state is not IncidentState.VERIFYING:
        raise AnswerRefusedError("this ticket is no longer waiting for your answer")
    actor = f"customer:{answer.by}"
    words = f" ({answer.comment})" if answer.comment else ""
    if answer.verdict == "broken":
        changed = incidents.act(
            incident_id, Reopen(actor, f"the customer says it is still broken{words}")
        )
    else:
        changed = _confirmed(incidents, incident_id, actor, words)
    with engine.begin() as conn:
        record_answer(conn, incident_id, answer)
    return changed


def _confirmed(incidents: IncidentService, incident_id: int, actor: str, words: str) -> Incident:
    note = f"the customer confirmed the service is back{words}"
    try:
        return incidents.act(incident_id, Close(actor, note))
    except TransitionRefusedError as exc:  # a P1/P2 closes only with its root cause
        log.info("customer confirmed %s; closing waits: %s", incident_id, exc)
        return incidents.act(incident_id, AddNote(actor, note, from_customer=True))

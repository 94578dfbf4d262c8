"""Which of an incident's messages its customer's contacts get, as outbox rows.

The opening (their ticket number), a reopening, each progress update, each new expected
resolution time, the resolution and the verification request go to every contact with an
e-mail address, through the same `customer://` channels as maintenance notices, and as one
SMS to a contact with only a phone when `customer_sms` is configured. Each row's
key is one (incident, event occurrence, contact): a retold opening, a restart or a second
collector never repeats one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from collector.incidents.customers import Contact, Customer, CustomerBook
from collector.incidents.model import Incident
from collector.noise.contacts import contact_key, phone_number
from collector.notify.customer_message import CustomerEvent, compose_customer_message
from collector.notify.message import MESSAGE_ID_DOMAIN, sms_text

# The incident's own message events a customer hears about (others are for responders).
TOLD: dict[str, CustomerEvent] = {
    "opened": "opened",
    "reopened": "reopened",
    "update": "update",
    "resolved": "resolved",
    "verification": "verification",
    "eta": "eta",  # an expected resolution time set, moved or cleared
}

# (incident, contact) -> extra lines of a verification request, e.g. its signed links.
VerificationLines = Callable[[Incident, Contact], str]


class CustomerNotices:
    """Writes the customer's share of an incident's messages."""

    def __init__(
        self,
        book: CustomerBook,
        verification: VerificationLines | None = None,
        *,
        mail: bool = True,
        sms: bool = False,
    ) -> None:
        self._book = book
        self.verification = verification  # set by whoever builds the verification links
        self._mail = mail  # customer_mail is configured: contacts with an address hear by mail
        self._sms = sms  # customer_sms is: contacts with only a phone hear by SMS

    def rows(self, incident: Incident, event: str, text: str, now: float) -> list[dict[str, Any]]:
        """Outbox rows for `event` of `incident` to its customer's contacts (none when the
        event is not for customers or no customer owns the incident)."""
        told = TOLD.get(event)
        customer = self._customer(incident)
        if told is None or customer is None or incident.id is None:
            return []
        rows = []
        for contact in customer.contacts:
            if contact.email and self._mail:
                if not answered_by_mail(incident, told, contact.email):
                    rows.append(self._row(incident, told, customer, contact, text, now))
            elif contact.phone and not contact.email and self._sms:
                rows.append(self._sms_row(incident, told, customer, contact, text, now))
        return rows

    def _sms_row(
        self,
        incident: Incident,
        event: CustomerEvent,
        customer: Customer,
        contact: Contact,
        text: str,
        now: float,
    ) -> dict[str, Any]:
        """One SMS: the message's title (ticket number first) cut to one segment."""
        assert contact.phone is not None
        message = compose_customer_message(
            incident, event, contact.name, contact.language, now, text
        )
        channel = contact_key(customer.name, phone_number(contact.phone))
        short = sms_text(message.title, contact.language)
        return _outbox_row(incident, event, channel, now, title="", body=short, summary=short)

    def _customer(self, incident: Incident) -> Customer | None:
        # The customer frozen at opening, else whoever the file says now.
        frozen = incident.annotations.get("customer")
        found = self._book.named(frozen) if frozen else None
        return found or self._book.customer_of(incident)

    def _row(
        self,
        incident: Incident,
        event: CustomerEvent,
        customer: Customer,
        contact: Contact,
        text: str,
        now: float,
    ) -> dict[str, Any]:
        assert contact.email is not None
        if event == "verification" and self.verification is not None:
            text = self.verification(incident, contact)
        message = compose_customer_message(
            incident, event, contact.name, contact.language, now, text
        )
        channel = contact_key(customer.name, contact.email)
        key = customer_key(incident, event, channel)
        root = f"<customer-{incident.number or incident.id}@{MESSAGE_ID_DOMAIN}>"
        opening = event == "opened"
        threading = {  # one mail thread per ticket at the contact's end
            "message_id": root if opening else f"<{key}@{MESSAGE_ID_DOMAIN}>",
            "in_reply_to": None if opening else root,
        }
        return _outbox_row(
            incident,
            event,
            channel,
            now,
            title=message.title,
            body=message.body,
            summary=message.title,
            **threading,
        )


def answered_by_mail(incident: Incident, event: CustomerEvent, email: str) -> bool:
    """The sender of a ticket by e-mail has its number already, in their own thread (the mail
    intake's reply): no second opening message to them."""
    sender = (incident.contact or "").lower()
    return event == "opened" and incident.labels.get("via") == "email" and sender == email.lower()


def occurrence(incident: Incident, event: CustomerEvent) -> str:
    """Which time of `event` this is: one opening; a reopening, resolution or verification
    per reopen count; an update per update time; an ETA per change."""
    if event == "opened":
        return "opened"
    if event == "update":
        return f"update:{incident.last_update_at or incident.updated_at}"
    if event == "eta":
        return f"eta:{incident.updated_at}"
    return f"{event}:{incident.reopen_count}"


def customer_key(incident: Incident, event: CustomerEvent, channel: str) -> str:
    """The outbox key of one (incident, event occurrence, contact)."""
    identity = f"customer\x1f{incident.id}\x1f{occurrence(incident, event)}\x1f{channel}"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def _outbox_row(
    incident: Incident, event: CustomerEvent, channel: str, now: float, **message: Any
) -> dict[str, Any]:
    """The outbox row of one customer message (`message`: title, body, summary — never the
    engineer's — and any mail threading) on `channel`."""
    payload = {
        "event": event,
        "priority": incident.priority.value,
        "number": incident.number,
        "time": now,
        **message,
    }
    return {
        "idempotency_key": customer_key(incident, event, channel),
        "incident_id": incident.id,
        "channel": channel,
        "event": f"customer_{event}",
        "payload": payload,
        "due_at": now,
        "group_key": None,
    }

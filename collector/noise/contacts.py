"""Customers' contacts as delivery channels: the configured mailto:// URL sent to each address,
and the configured SMS URL to each contact that has only a phone.

The collector's `customer_mail` URL says how e-mail leaves (server, login, sender); each contact
with an e-mail address gets a channel of its own (`customer://acme/lilei@acme.example.cn`), so
the outbox delivers, retries and records a customer's notice like any other message. With
`customer_sms`, a contact with a phone and no address gets one too
(`customer://acme/+8613800000000`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from collector.incidents.customers import CustomerBook
from collector.notify.channels import Channel
from collector.notify.message import Notification
from rules.priority import Priority

CHANNEL_PREFIX = "customer://"


def contact_key(customer: str, address: str) -> str:
    """The outbox channel of one contact's e-mail address (or phone number, for SMS)."""
    return f"{CHANNEL_PREFIX}{customer}/{address}"


def phone_number(phone: str) -> str:
    """A phone number as SMS gateways take it: +8613800000000 (spaces, dashes, dots and
    parentheses dropped)."""
    return re.sub(r"[\s().-]", "", phone)


def sms_url(template: str, phone: str) -> str:
    """`template` (an Apprise SMS URL with {phone}) for one number."""
    return template.replace("{phone}", quote(phone_number(phone), safe="+"))


def contact_url(url: str, email: str) -> str:
    """`url` with its recipients replaced by `email` (to=; path targets dropped)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() not in ("to", "cc", "bcc")]
    query.append(("to", email))
    return urlunsplit((parts.scheme, parts.netloc, "", urlencode(query, safe="@:"), ""))


class ContactChannel:
    """One contact's e-mail, sent through the channel built for it."""

    def __init__(self, key: str, inner: Channel) -> None:
        self.min_priority: Priority | None = None  # a notice is no incident: no floor
        self._key = key
        self._inner = inner

    def describe(self) -> str:
        """customer://CUSTOMER/ADDRESS."""
        return self._key

    def send(self, notification: Notification) -> None:
        """Send through the contact's own mail channel."""
        self._inner.send(notification)

    def close(self) -> None:
        """Close the mail connection."""
        self._inner.close()


def contact_channels(
    mail: str | None, book: CustomerBook, make: Callable[[str], Channel], sms: str | None = None
) -> list[ContactChannel]:
    """A channel for every contact with an e-mail address when `mail` is given, and for every
    contact with only a phone when `sms` is (each address or number once per customer)."""
    channels: dict[str, ContactChannel] = {}
    for customer in book.customers:
        for contact in customer.contacts:
            if contact.email and mail:
                key = contact_key(customer.name, contact.email)
                url = contact_url(mail, contact.email)
            elif contact.phone and not contact.email and sms:
                key = contact_key(customer.name, phone_number(contact.phone))
                url = sms_url(sms, contact.phone)
            else:
                continue
            if key not in channels:
                channels[key] = ContactChannel(key, make(url))
    return list(channels.values())

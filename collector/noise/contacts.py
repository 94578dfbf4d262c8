"""Customers' contacts as delivery channels: the configured mailto:// URL sent to each address.

The collector's `customer_mail` URL says how e-mail leaves (server, login, sender); each contact
with an e-mail address gets a channel of its own (`customer://acme/lilei@acme.example.cn`), so
the outbox delivers, retries and records a customer's notice like any other message.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from collector.incidents.customers import CustomerBook
from collector.notify.channels import Channel
from collector.notify.message import Notification
from rules.priority import Priority

CHANNEL_PREFIX = "customer://"


def contact_key(customer: str, email: str) -> str:
    """The outbox channel of one contact's e-mail."""
    return f"{CHANNEL_PREFIX}{customer}/{email}"


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
    url: str, book: CustomerBook, make: Callable[[str], Channel]
) -> list[ContactChannel]:
    """A channel for every contact with an e-mail address (each address once per customer)."""
    channels: dict[str, ContactChannel] = {}
    for customer in book.customers:
        for contact in customer.contacts:
            if contact.email:
                key = contact_key(customer.name, contact.email)
                channels.setdefault(key, ContactChannel(key, make(contact_url(url, contact.email))))
    return list(channels.values())

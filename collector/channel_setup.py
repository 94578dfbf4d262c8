"""The collector's notification channels as its config describes them: the `notify:` URLs,
customers' contacts (e-mail, and SMS for phone-only contacts), and the redactor that knows
every secret those URLs carry."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from collector.config import CollectorConfig
from collector.incidents.customers import CustomerBook
from collector.noise.contacts import ContactChannel, contact_channels
from collector.notify.channels import Channel, channel_from_url
from collector.redaction import Redactor, url_secrets

log = logging.getLogger(__name__)


def channels_from_config(config: CollectorConfig) -> list[Channel]:
    """Channels for every configured notification URL (outbox paths relative to cwd)."""
    return [
        channel_from_url(
            c.url_value(),
            c.min_priority,
            base_dir=Path.cwd(),
            timeout=config.delivery.send_timeout,
        )
        for c in config.notify
    ]


def known_secrets(config: CollectorConfig) -> Redactor:
    """A redactor that knows every secret in `config`: tokens and notification URL secrets."""
    tokens = [t.secret() for t in (*config.agents, *config.api_tokens, *config.integrations)]
    urls = [secret for c in config.notify for secret in url_secrets(c.url_value())]
    for customer_url in (config.customer_mail, config.customer_sms):
        if customer_url is not None:
            urls += url_secrets(customer_url.get_secret_value())
    return Redactor([*filter(None, tokens), *urls])


def registering(make: Callable[..., Channel], redactor: Redactor) -> Callable[..., Channel]:
    """`make`, telling `redactor` the secrets of every URL it is given."""

    def registered(url: str, *args: Any, **kwargs: Any) -> Channel:
        redactor.add(url_secrets(url))
        return make(url, *args, **kwargs)

    return registered


def contact_channels_of(
    config: CollectorConfig, book: CustomerBook | None, redactor: Redactor
) -> list[ContactChannel]:
    """Customers' contacts' e-mail (customer_mail) and SMS for phone-only contacts
    (customer_sms); a contact nothing can reach is named in the log."""
    if book is None:
        return []
    mail = config.customer_mail.get_secret_value() if config.customer_mail else None
    sms = config.customer_sms.get_secret_value() if config.customer_sms else None
    for customer in book.customers:
        for contact in customer.contacts:
            if not (contact.email and mail) and not (contact.phone and sms):
                log.warning(
                    "customer %s: contact %r hears nothing about its incidents: it has %s, and "
                    "%s is not configured",
                    customer.name,
                    contact.name,
                    "an e-mail address" if contact.email else "only a phone",
                    "customer_mail" if contact.email else "customer_sms",
                )
    if mail is None and sms is None:
        return []
    make = registering(partial(channel_from_url, timeout=config.delivery.send_timeout), redactor)
    return contact_channels(mail, book, make, sms)

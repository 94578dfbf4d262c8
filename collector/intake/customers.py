"""Who a mail is from: the customer whose contact has the sender's address, else the one
whose contacts share its domain; and the hosts a mail names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from collector.incidents.customers import Contact, Customer, CustomerBook
from collector.intake.parse import address_domain


def sender_customer(
    book: CustomerBook | None, sender: str
) -> tuple[Customer, Contact | None] | None:
    """The sender's customer and contact (by address), else a customer by domain."""
    if book is None or not sender:
        return None
    for customer in book.customers:
        for contact in customer.contacts:
            if contact.email and contact.email.lower() == sender:
                return customer, contact
    domain = address_domain(sender)
    for customer in book.customers:
        if any(c.email and address_domain(c.email.lower()) == domain for c in customer.contacts):
            return customer, None
    return None


def named_hosts(text: str, hosts: Iterable[str]) -> tuple[str, ...]:
    """The known hosts `text` names as whole words, in the order given."""
    return tuple(h for h in hosts if re.search(r"(?<![\w.-])" + re.escape(h) + r"(?![\w-])", text))

"""Whom a ticket may be opened for: staff open tickets for anyone; role customer only for its
own customer (the `customer` label forced, only its own hosts, never P1). The API and the
console's ticket form both open through here, so they agree."""

from __future__ import annotations

from dataclasses import replace

from collector.api.scoping import CustomerScopes
from collector.auth.roles import Principal
from collector.incidents.customers import CUSTOMER_LABEL
from collector.incidents.events import PersonOpened
from rules.priority import Priority


class OpeningRefusedError(ValueError):
    """The ticket cannot be opened as asked; the message says what to change."""


def confined_opening(
    scopes: CustomerScopes, principal: Principal, event: PersonOpened
) -> PersonOpened:
    """`event` as `principal` may open it: unchanged for staff; for a customer, labelled with
    its own customer whatever was asked, and refused for a host not its own or for P1."""
    scope = scopes.scope(principal)
    if scope is None:
        return event
    if scopes.book is None or scopes.book.named(scope.customer) is None:
        raise OpeningRefusedError(
            f"customer {scope.customer!r} is not in the collector's customers file; "
            "ask your support team to add it"
        )
    foreign = [host for host in event.hosts if not scope.owns_host(host)]
    if foreign:
        raise OpeningRefusedError(
            f"not among {scope.customer}'s hosts: {', '.join(foreign)}; "
            "name only your own hosts (or none)"
        )
    if event.priority is Priority.P1:
        raise OpeningRefusedError(
            "a ticket opens at P2 to P4; our staff raise it to P1 when it is that urgent"
        )
    labels = {**event.labels, CUSTOMER_LABEL: scope.customer}
    return replace(event, labels=labels, reporter=event.reporter or principal.name)

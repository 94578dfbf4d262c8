"""Link suggestions: the monitoring incidents a customer-reported ticket may be about — on a
host the mail named or one of the customer's hosts, open at about the same time."""

from __future__ import annotations

from sqlalchemy import Connection, select

from collector.incidents.customers import CustomerBook
from collector.incidents.model import Incident, Source
from collector.store.incidents import incident_from
from collector.store.schema import incidents

LOOK_BACK = 7 * 86400.0  # a monitoring incident opened longer ago is not considered


def suggest(
    conn: Connection, ticket: Incident, book: CustomerBook | None, window: float
) -> list[Incident]:
    """Rule and alert incidents overlapping the ticket's time (± `window`) on its hosts or
    its customer's, most recent first."""
    if ticket.source is not Source.PERSON:
        return []
    start, end = ticket.opened_at - window, ticket.opened_at + window
    query = (
        select(incidents)
        .where(
            incidents.c.source != Source.PERSON.value,
            incidents.c.opened_at >= ticket.opened_at - LOOK_BACK,
            incidents.c.opened_at <= end,
        )
        .order_by(incidents.c.opened_at.desc())
        .limit(500)
    )
    found = [incident_from(row) for row in conn.execute(query)]
    return [i for i in found if _overlaps(i, start) and _same_place(ticket, i, book)]


def _overlaps(incident: Incident, start: float) -> bool:
    over = incident.resolved_at if incident.resolved_at is not None else incident.closed_at
    return over is None or over >= start


def _same_place(ticket: Incident, incident: Incident, book: CustomerBook | None) -> bool:
    named = {h for h in (ticket.host, *ticket.hosts) if h}
    theirs = {h for h in (incident.host, *incident.hosts) if h}
    if named:
        return bool(named & theirs)
    customer = ticket.labels.get("customer")
    if not customer or book is None:
        return False
    owner = book.customer_of(incident)
    return owner is not None and owner.name == customer

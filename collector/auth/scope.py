"""A customer principal's share of the data: its own customer's hosts and incidents, decided by
the customers file exactly as incidents are attributed (the `customer` label, else the first
customer in file order whose host patterns match)."""

from __future__ import annotations

from dataclasses import dataclass

from collector.incidents.customers import CustomerBook
from collector.incidents.model import Incident


@dataclass(frozen=True)
class CustomerScope:
    """What one customer may see; a customer missing from the file (or no file) owns nothing."""

    customer: str
    book: CustomerBook | None

    @property
    def patterns(self) -> tuple[str, ...]:
        """The customer's host-name patterns (none when it is not in the file)."""
        found = self.book.named(self.customer) if self.book else None
        return tuple(found.hosts) if found else ()

    def owns_host(self, name: str) -> bool:
        """Whether `name` is this customer's: the first customer whose patterns match it."""
        if self.book is None:
            return False
        owner = next((c for c in self.book.customers if c.owns(name)), None)
        return owner is not None and owner.name == self.customer

    def owns_incident(self, incident: Incident) -> bool:
        """Whether `incident` belongs to this customer (as the customers file attributes it)."""
        owner = self.book.customer_of(incident) if self.book else None
        return owner is not None and owner.name == self.customer

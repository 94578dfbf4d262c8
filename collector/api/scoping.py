"""Reads as a principal may see them: everything for staff roles, its own customer's hosts and
incidents for role customer. The API and the console read incidents and hosts through here."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import Engine

from collector.auth.roles import Principal, Role
from collector.auth.scope import CustomerScope
from collector.incidents.customers import CustomerBook
from collector.incidents.model import Incident, IncidentState
from collector.ingest.hosts import HostRegistry, HostState
from collector.store.customer_incidents import CustomerIncidentReader
from collector.store.incidents import Change, IncidentReader
from rules.priority import Priority


class IncidentReading(Protocol):
    """The incident reads the API and console use (IncidentReader's, maybe confined)."""

    def get(self, reference: str | int) -> Incident | None: ...

    def timeline(self, incident_id: int) -> list[dict[str, Any]]: ...

    def active(self) -> list[Incident]: ...

    def changes(self, since: float, limit: int = 20) -> list[Change]: ...

    def search(
        self,
        states: list[IncidentState] | None = None,
        limit: int = 500,
        host: str | None = None,
        *,
        priorities: list[Priority] | None = None,
        rule: str | None = None,
        number: str | None = None,
        offset: int = 0,
        opened_after: float | None = None,
        order: str = "newest",
        team: str | None = None,
    ) -> list[Incident]: ...


class CustomerScopes:
    """Hands each principal the reads it may make."""

    def __init__(
        self,
        book: CustomerBook | None,
        reader: IncidentReader,
        hosts: HostRegistry,
        engine: Engine,
    ) -> None:
        self.book = book
        self._reader = reader
        self._hosts = hosts
        self._engine = engine  # read-only, as behind `reader`

    def scope(self, principal: Principal) -> CustomerScope | None:
        """The customer's scope, or None for a staff role (sees everything)."""
        if principal.role is not Role.CUSTOMER:
            return None
        return CustomerScope(principal.customer or "", self.book)

    def incidents(self, principal: Principal) -> IncidentReading:
        """The incident reads open to `principal`."""
        scope = self.scope(principal)
        if scope is None:
            return self._reader
        return CustomerIncidentReader(
            self._engine, scope.customer, scope.patterns, scope.owns_incident
        )

    def customer_incidents(self, customer: str) -> IncidentReading:
        """One customer's incidents, as that customer sees them (staff filter by customer)."""
        scope = CustomerScope(customer, self.book)
        return CustomerIncidentReader(
            self._engine, scope.customer, scope.patterns, scope.owns_incident
        )

    def hosts(self, principal: Principal) -> list[HostState]:
        """The hosts open to `principal`, by name."""
        scope = self.scope(principal)
        listed = sorted(self._hosts, key=lambda s: s.name)
        return listed if scope is None else [h for h in listed if scope.owns_host(h.name)]

    def owns_host(self, principal: Principal, name: str) -> bool:
        """Whether `principal` may see host `name` (staff: any)."""
        scope = self.scope(principal)
        return scope is None or scope.owns_host(name)

    def owns_incident(self, principal: Principal, reference: str) -> bool:
        """Whether `principal` may see incident `reference` (call it off the event loop)."""
        scope = self.scope(principal)
        return scope is None or self.incidents(principal).get(reference) is not None

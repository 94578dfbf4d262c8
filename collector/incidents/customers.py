"""Customers: who they are, how to reach them, their SLA commitment, whether they are VIPs,
and which hosts are theirs (an agent label `customer: NAME`, else host-name patterns).

Read once from a YAML file into frozen models (file:line errors); a VIP's incident opens one
priority level higher (never above P1), through the lifecycle's `adjust_priority` hook.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.configfile import load_yaml_file
from collector.incidents.model import Incident
from collector.notify.message import Language
from rules.loader import RuleLoadError, validation_errors
from rules.priority import Priority

CUSTOMER_LABEL = "customer"
VIP_MARK = "vip"  # annotation: "yes" when the incident's customer was a VIP at its opening


class CustomerModel(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Contact(CustomerModel):
    """A person at the customer who hears about their incidents."""

    name: str = Field(min_length=1, description="Who, e.g. 'Li Lei (IT manager)'.")
    email: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+$", description="E-mail address.")
    phone: str | None = Field(None, description="Phone number, e.g. '+86 138 0000 0000'.")
    language: Language = Field("en", description="Language of their messages: en or zh.")

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if not self.email and not self.phone:
            raise ValueError(f"contact {self.name!r} needs an email or a phone (or both)")
        return self


class SlaCommitment(CustomerModel):
    """What was promised to the customer."""

    availability: float | None = Field(
        None, gt=0, le=100, description="Monthly availability in percent, e.g. 99.9."
    )
    plan: str | None = Field(None, description="The response file's SLA plan they are on.")


class Customer(CustomerModel):
    """One customer."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Id, e.g. acme.")
    vip: bool = Field(False, description="Incidents open one priority level higher.")
    sla: SlaCommitment = Field(default_factory=SlaCommitment, description="The commitment.")
    contacts: list[Contact] = Field(default_factory=list, description="Who hears about it.")
    hosts: list[str] = Field(
        default_factory=list, description="Host-name patterns (shell globs), e.g. 'acme-*'."
    )

    def owns(self, host: str) -> bool:
        """Whether `host` matches one of the customer's host patterns."""
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.hosts)


class CustomerBook(CustomerModel):
    """The customers file."""

    customers: list[Customer] = Field(default_factory=list, description="Every customer.")

    @model_validator(mode="after")
    def _unique(self) -> CustomerBook:
        names = [c.name for c in self.customers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"customer names must be unique; given twice: {', '.join(twice)}")
        return self

    def named(self, name: str) -> Customer | None:
        """The customer called `name`."""
        return next((c for c in self.customers if c.name == name), None)

    def customer_of(self, incident: Incident) -> Customer | None:
        """The incident's customer: its `customer` label, else the first whose host patterns
        match one of its hosts (in file order)."""
        label = incident.labels.get(CUSTOMER_LABEL)
        if label:
            return self.named(label)
        hosts = [h for h in (incident.host, *incident.hosts) if h]
        return next((c for c in self.customers if any(c.owns(h) for h in hosts)), None)

    def marks(self, incident: Incident) -> dict[str, str]:
        """What is frozen into the incident when it opens: its customer and VIP status (so
        every message says VIP even if the file changes later)."""
        customer = self.customer_of(incident)
        if customer is None:
            return {}
        return {CUSTOMER_LABEL: customer.name, VIP_MARK: "yes" if customer.vip else "no"}

    def adjust_priority(self, incident: Incident) -> Priority:
        """A VIP customer's incident one level more urgent (P3 -> P2), never above P1."""
        customer = self.customer_of(incident)
        if customer is None or not customer.vip:
            return incident.priority
        return raised(incident.priority)


def raised(priority: Priority) -> Priority:
    """One level more urgent; P1 stays P1."""
    order = list(Priority)  # P1, P2, P3, P4
    return order[max(0, order.index(priority) - 1)]


def load_customers(path: Path) -> CustomerBook:
    """Read the customers file; every problem raised as one RuleLoadError with file:line."""
    document = load_yaml_file(path)
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise RuleLoadError([document.error((), "the customers file is a mapping: customers:")])
    try:
        return CustomerBook.model_validate(data)
    except ValidationError as exc:
        raise RuleLoadError(validation_errors(exc, document, CustomerBook)) from exc

"""An incident: one problem that people work on, opened by a rule or by a person.

A rule's incident is identified by `key` (rule, host, labels): at most one active incident has
a key. Every incident has a ticket `number` from the database. Times are Unix seconds from the
collector's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from collector.incidents.plan import ResponsePlan
from rules.priority import Priority


class IncidentState(StrEnum):
    """Where an incident stands in its lifecycle."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    WAITING = "waiting"  # on the customer: resolve and update clocks pause
    RESOLVED = "resolved"
    VERIFYING = "verifying"
    CLOSED = "closed"

    @property
    def active(self) -> bool:
        """Still a problem: triggered, acknowledged or waiting on the customer."""
        return self in ACTIVE_STATES


ACTIVE_STATES = (IncidentState.TRIGGERED, IncidentState.ACKNOWLEDGED, IncidentState.WAITING)


class Source(StrEnum):
    """Who opened the incident."""

    RULE = "rule"
    PERSON = "person"
    ALERT = "alert"  # another monitor's alert (Alertmanager, Zabbix, Checkmk)


@dataclass(frozen=True)
class Incident:
    """The stored incident (`id` and `number` are empty until the database gives them)."""

    source: Source
    priority: Priority
    state: IncidentState
    summary: str
    opened_at: float
    updated_at: float
    key: str | None = None
    rule: str = ""
    host: str = ""
    hosts: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    description: str = ""
    value: float | str | None = None
    auto_resolve: bool = True
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    resolved_at: float | None = None
    closed_at: float | None = None
    assignee: str | None = None
    reporter: str | None = None
    contact: str | None = None
    reopen_count: int = 0
    annotations: dict[str, str] = field(default_factory=dict)
    plan: ResponsePlan | None = None  # frozen at OPEN: escalation tiers and SLA targets
    escalation_step: int = -1  # the last step paged (0: the first tier); -1 none
    last_note: str | None = None
    last_note_at: float | None = None
    last_update_at: float | None = None  # the last progress update sent
    flap_times: tuple[float, ...] = ()  # recent rule-driven state changes
    flapping: bool = False
    eta_at: float | None = None  # when we expect it fixed, as told to the customer
    eta_reason: str | None = None
    id: int | None = None
    number: str = ""
    version: int = 0

    @property
    def active(self) -> bool:
        """Triggered, acknowledged or waiting."""
        return self.state.active

    def match_labels(self) -> dict[str, str]:
        """What routes and silences match on: its labels plus host, rule, priority, source."""
        return {
            **self.labels,
            "host": self.host,
            "rule": self.rule,
            "priority": self.priority.value,
            "source": self.source.value,
        }

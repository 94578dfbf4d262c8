"""An incident: one ongoing breach of one rule on one host for one set of labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rules.priority import Priority


class IncidentState(StrEnum):
    """Where an incident stands."""

    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Incident:
    """The stored view of an incident.

    `key` identifies the (rule, host, labels) triple: at most one open incident has a key.
    Times are Unix seconds from the collector's clock.
    """

    key: str
    rule: str
    host: str
    labels: dict[str, str]
    priority: Priority
    state: IncidentState
    summary: str
    value: float | str | None
    opened_at: float
    updated_at: float
    resolved_at: float | None = None
    breach_count: int = 1
    id: int | None = None
    annotations: dict[str, str] = field(default_factory=dict)

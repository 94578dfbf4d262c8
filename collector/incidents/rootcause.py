"""The root-cause record a P1 or P2 needs before it may close: cause, fix, category and the
follow-up actions, each with an owner and a due date.

Pure: the lifecycle asks `closing_refusal` whether a close may go ahead; the store keeps the
records, the knowledge base learns from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from collector.incidents.model import Incident
from rules.priority import Priority

GATED_PRIORITIES = (Priority.P1, Priority.P2)


class Category(StrEnum):
    """Where the fault lay."""

    HARDWARE = "hardware"
    SOFTWARE = "software"
    NETWORK = "network"
    CONFIGURATION = "configuration"
    EXTERNAL = "external"


@dataclass(frozen=True)
class FollowUp:
    """One thing to do so that it does not happen again: what, who, by when."""

    action: str
    owner: str
    due: date

    def to_json(self) -> dict[str, str]:
        """A JSON-ready form (due as YYYY-MM-DD)."""
        return {"action": self.action, "owner": self.owner, "due": self.due.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> FollowUp:
        """The inverse of to_json."""
        return cls(data["action"], data["owner"], date.fromisoformat(data["due"]))


@dataclass(frozen=True)
class RootCause:
    """Why an incident happened and what was done; `recorded_at` in Unix seconds."""

    cause: str
    fix: str
    category: Category
    actions: tuple[FollowUp, ...]
    author: str
    recorded_at: float
    incident_id: int | None = None


def needs_root_cause(incident: Incident) -> bool:
    """Whether closing `incident` needs a root-cause record (P1 and P2 do)."""
    return incident.priority in GATED_PRIORITIES


def closing_refusal(incident: Incident, has_root_cause: bool) -> str | None:
    """Why `incident` may not close yet, naming what is missing; None when it may."""
    if has_root_cause or not needs_root_cause(incident):
        return None
    what = incident.number or f"incident {incident.id}"
    return (
        f"cannot close {what}: a {incident.priority.value} incident needs a root-cause record "
        "first; missing: cause, fix, category (hardware, software, network, configuration, "
        "external) and follow-up actions, each with an owner and a due date"
    )

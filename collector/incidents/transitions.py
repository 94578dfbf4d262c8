"""Incident state changes as a pure function: (incident, signal) -> (incident, commands).

Nothing here touches the database or the network; the service executes the commands. Every
transition has a name (OPEN, RESOLVE) that is stored with the incident's history.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from collector.incidents.model import Incident, IncidentState
from rules.engine import AlertSignal, SignalKind


class Transition(StrEnum):
    """Named state changes, kept in the incident's audit trail."""

    OPEN = "OPEN"
    RESOLVE = "RESOLVE"


@dataclass(frozen=True)
class Persist:
    """Store the incident after `transition`."""

    incident: Incident
    transition: Transition
    detail: str


@dataclass(frozen=True)
class Notify:
    """Tell people about the incident (`event` is "opened" or "resolved")."""

    incident: Incident
    event: Literal["opened", "resolved"]


Command = Persist | Notify


def apply_signal(
    current: Incident | None, signal: AlertSignal, summary: str
) -> tuple[Incident | None, list[Command]]:
    """The incident after `signal`, and what must happen because of it.

    A repeated FIRE for an open incident changes nothing (no duplicate incident, no second
    message); a RESOLVE without an open incident is ignored.
    """
    if signal.kind is SignalKind.FIRE:
        if current is not None and current.state is IncidentState.OPEN:
            return current, []
        opened = _new_incident(signal, summary)
        return opened, [Persist(opened, Transition.OPEN, signal.reason), Notify(opened, "opened")]
    if current is None or current.state is not IncidentState.OPEN:
        return current, []
    resolved = replace(
        current,
        state=IncidentState.RESOLVED,
        resolved_at=signal.time,
        updated_at=signal.time,
        value=signal.value if signal.value is not None else current.value,
    )
    return resolved, [
        Persist(resolved, Transition.RESOLVE, signal.reason),
        Notify(resolved, "resolved"),
    ]


def _new_incident(signal: AlertSignal, summary: str) -> Incident:
    rule = signal.rule.rule
    return Incident(
        key=signal.key,
        rule=rule.name,
        host=signal.host,
        labels={**signal.labels, **rule.labels},
        priority=rule.priority,
        state=IncidentState.OPEN,
        summary=summary,
        value=signal.value,
        opened_at=signal.time,
        updated_at=signal.time,
        annotations={"probe": signal.probe, "description": rule.description},
    )

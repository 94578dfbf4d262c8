"""The expected time of resolution: set, moved or cleared by a responder with a reason (pure),
and what a customer is told to expect when no one has set one (the SLA's resolution target)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from collector.incidents.events import SetEta
from collector.incidents.model import Incident
from collector.incidents.outcome import Outcome, Transition
from collector.notify.message import format_time

MAX_AHEAD = 366 * 86400.0  # an ETA further out than a year is a typing slip


class EtaRefusedError(ValueError):
    """An ETA that cannot be right (in the past, too far ahead, no reason given)."""


def eta_outcome(incident: Incident, event: SetEta, now: float) -> Outcome:
    """The incident with its ETA set (or cleared), named ETA on the timeline; raises
    EtaRefusedError naming what is wrong."""
    at = event.at if event.after is None else now + event.after
    reason = event.reason.strip()
    if at is None:
        if incident.eta_at is None:
            raise EtaRefusedError(f"{incident.number} has no expected resolution time to clear")
        cleared = replace(incident, eta_at=None, eta_reason=reason or None, updated_at=now)
        detail = "expected resolution time cleared" + (f": {reason}" if reason else "")
        return Outcome(cleared, Transition.ETA, event.actor, detail)
    if not reason:
        raise EtaRefusedError("an expected resolution time needs a reason (the customer sees it)")
    if at <= now:
        raise EtaRefusedError(
            f"the expected resolution time {format_time(at)} is not in the future "
            f"(now {format_time(now)})"
        )
    if at > now + MAX_AHEAD:
        raise EtaRefusedError(f"the expected resolution time {format_time(at)} is over a year away")
    moved = "moved" if incident.eta_at is not None else "set"
    changed = replace(incident, eta_at=at, eta_reason=reason, updated_at=now)
    detail = f"expected resolution {moved} to {format_time(at)}: {reason}"
    return Outcome(changed, Transition.ETA, event.actor, detail)


@dataclass(frozen=True)
class Expected:
    """When a customer may expect the fix: our ETA, else the SLA's resolution target."""

    at: float
    source: Literal["eta", "target"]
    reason: str = ""


def expected_resolution(incident: Incident, now: float) -> Expected | None:
    """What to tell a customer about when it will be fixed (nothing once it is)."""
    if not incident.active:
        return None
    if incident.eta_at is not None:
        return Expected(incident.eta_at, "eta", incident.eta_reason or "")
    if incident.plan is None:
        return None
    stops = {"resolve": incident.resolved_at}
    for clock in incident.plan.clock_states(stops, now):
        if clock.name == "resolve":
            return Expected(clock.due_at, "target")
    return None

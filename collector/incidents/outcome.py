"""What a transition produces: its stored name, the changed incident and its commands, and
the lifecycle settings every transition reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from collector.incidents.clocks import Deadline, Elapsed, always, wall_seconds
from collector.incidents.commands import Command, Schedule
from collector.incidents.events import TimerKind
from collector.incidents.flapping import FlapPolicy
from collector.incidents.model import Incident
from collector.incidents.plan import ResponsePlan
from rules.priority import Priority


class Transition(StrEnum):
    """Named changes, kept on the incident's timeline."""

    OPEN = "OPEN"
    ACK = "ACK"
    ASSIGN = "ASSIGN"
    NOTE = "NOTE"
    REGRADE = "REGRADE"
    RESOLVE = "RESOLVE"
    REOPEN = "REOPEN"
    VERIFY = "VERIFY"
    CLOSE = "CLOSE"
    RENOTIFY = "RENOTIFY"
    CLEAR = "CLEAR"  # the condition cleared, but the rule leaves resolving to a person
    RECUR = "RECUR"  # an event rule matched again while its incident is active
    ESCALATE = "ESCALATE"
    SLA_WARNING = "SLA_WARNING"
    SLA_BREACH = "SLA_BREACH"
    UPDATE = "UPDATE"
    UPDATE_MISSED = "UPDATE_MISSED"
    UNSILENCED = "UNSILENCED"  # a silence ended with the incident still unacknowledged
    FLAPPING = "FLAPPING"  # too many changes: messages wait until it holds still
    SETTLED = "SETTLED"  # held still again: its final state was told
    WAIT = "WAIT"  # waiting on the customer: resolve and update clocks pause
    RESUME = "RESUME"  # the wait is over: back to acknowledged, clocks run on
    CLOCKS_PAUSED = "CLOCKS_PAUSED"  # a maintenance window covers the host
    CLOCKS_RESUMED = "CLOCKS_RESUMED"  # ...and has ended
    UPDATE_REMINDER = "UPDATE_REMINDER"  # an update is due soon and nobody wrote a note
    ETA = "ETA"  # the expected resolution time was set, moved or cleared


def _no_plan(_incident: Incident) -> ResponsePlan | None:
    return None


def _same_priority(incident: Incident) -> Priority:
    return incident.priority


@dataclass(frozen=True)
class LifecyclePolicy:
    """The settings the lifecycle needs (the collector's `incidents:` config and, through
    `plan_for`, the response process: which escalation policy and SLA an incident follows)."""

    reopen_window: float = 3600.0
    verify_timeout: float = 72 * 3600.0
    renotify_after: Mapping[Priority, float] = field(default_factory=dict)
    plan_for: Callable[[Incident], ResponsePlan | None] = _no_plan
    # At OPEN, before the plan is chosen: e.g. a VIP customer's incident one level higher.
    adjust_priority: Callable[[Incident], Priority] = _same_priority
    # At OPEN: annotations frozen into the incident, e.g. its customer and VIP status.
    marks: Callable[[Incident], Mapping[str, str]] = lambda _incident: {}
    deadline: Deadline = always
    elapsed: Elapsed = wall_seconds
    flap: FlapPolicy = field(default_factory=FlapPolicy)

    def renotify(self, incident: Incident, now: float) -> list[Command]:
        """Schedule the next reminder for an unacknowledged incident, if its priority has one."""
        after = self.renotify_after.get(incident.priority, 0.0)
        return [Schedule(TimerKind.RENOTIFY, now + after)] if after > 0 else []


@dataclass(frozen=True)
class Outcome:
    """The incident after an event, the change's name, and what must happen because of it."""

    incident: Incident
    transition: Transition
    actor: str
    detail: str = ""
    commands: tuple[Command, ...] = ()

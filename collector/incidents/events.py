"""What can happen to an incident: one event union for rules, people and timers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rules.priority import Priority


class TimerKind(StrEnum):
    """Work that only time reveals; each is a row in the due-work table."""

    RENOTIFY = "renotify"  # an unacknowledged incident is told again
    AUTO_CLOSE = "auto_close"  # the reopen window (or the verification wait) has passed
    ESCALATE = "escalate"  # a tier's time to acknowledge is up: page the next one
    SLA = "sla"  # an SLA clock reaches a warning level or its target
    UPDATE = "update"  # a progress update is due
    UNSILENCE = "unsilence"  # the silence that held its messages back has ended
    SETTLE = "settle"  # a flapping incident has held still: tell its final state
    REMIND = "remind"  # a progress update is due soon and nobody wrote a note
    MAINTENANCE = "maintenance"  # the maintenance window pausing its clocks ends


@dataclass(frozen=True)
class RuleFired:
    """A rule's condition holds for a series (or an event rule matched an event, or another
    monitor's alert fired: `external`)."""

    key: str
    rule: str
    host: str
    labels: dict[str, str]
    priority: Priority
    summary: str
    description: str
    value: float | str | None
    reason: str
    auto_resolve: bool = True
    annotations: dict[str, str] = field(default_factory=dict)
    external: bool = False  # another monitor's alert (an integration), not one of our rules


@dataclass(frozen=True)
class RuleCleared:
    """A rule's condition no longer holds for a series."""

    key: str
    value: float | str | None
    reason: str


@dataclass(frozen=True)
class PersonOpened:
    """A person reports a problem (API, CLI, later e-mail)."""

    actor: str
    title: str
    priority: Priority
    description: str = ""
    hosts: tuple[str, ...] = ()
    reporter: str | None = None
    contact: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  # routing: e.g. team, customer


@dataclass(frozen=True)
class Acknowledge:
    """Someone is on it: stops re-notification (and, later, escalation)."""

    actor: str
    note: str = ""


@dataclass(frozen=True)
class Assign:
    """Give the incident to a person."""

    actor: str
    assignee: str


@dataclass(frozen=True)
class AddNote:
    """A note on the timeline; a customer's note answers a waiting incident."""

    actor: str
    text: str
    from_customer: bool = False


@dataclass(frozen=True)
class Wait:
    """The responder waits on the customer: resolve and update clocks pause."""

    actor: str
    note: str = ""


@dataclass(frozen=True)
class Resume:
    """The wait is over (the customer answered, or the responder says so): clocks run again."""

    actor: str
    note: str = ""


@dataclass(frozen=True)
class Regrade:
    """Change the priority, with a reason."""

    actor: str
    priority: Priority
    reason: str


@dataclass(frozen=True)
class Resolve:
    """A person says the problem is fixed."""

    actor: str
    note: str = ""


@dataclass(frozen=True)
class Reopen:
    """A person says the problem is back (or was never fixed)."""

    actor: str
    reason: str = ""


@dataclass(frozen=True)
class RequestVerification:
    """Ask the affected people to confirm the fix before closing."""

    actor: str
    note: str = ""


@dataclass(frozen=True)
class SetEta:
    """When we expect the problem to be fixed, and why; the customer sees both. `at` is a
    time, `after` seconds from now (the transition knows now); neither clears the ETA."""

    actor: str
    reason: str = ""
    at: float | None = None
    after: float | None = None


@dataclass(frozen=True)
class Close:
    """Done: nothing more will happen to this incident.

    `has_root_cause` is filled by the service from the store (a P1/P2 needs one to close)."""

    actor: str
    note: str = ""
    has_root_cause: bool = False


@dataclass(frozen=True)
class MaintenanceSeen:
    """What the maintenance windows say about an incident now: `until` is the end of the window
    covering its host (None: none covers it), `window` names it for the timeline."""

    until: float | None
    window: str = ""


@dataclass(frozen=True)
class TimerDue:
    """A due-work row came due; `tag` and `data` say which clock or step it belongs to."""

    kind: TimerKind
    tag: str = ""
    data: dict[str, object] = field(default_factory=dict)


PersonAction = (
    Acknowledge
    | Assign
    | AddNote
    | Regrade
    | Resolve
    | Reopen
    | RequestVerification
    | Close
    | Wait
    | Resume
    | SetEta
)
Event = RuleFired | RuleCleared | PersonOpened | PersonAction | TimerDue | MaintenanceSeen

# The API and CLI name person actions by these verbs.
ACTION_NAMES: dict[type[PersonAction], str] = {
    Acknowledge: "ack",
    Assign: "assign",
    AddNote: "note",
    Regrade: "regrade",
    Resolve: "resolve",
    Reopen: "reopen",
    RequestVerification: "verify",
    Close: "close",
    Wait: "wait",
    Resume: "resume",
    SetEta: "eta",
}

"""The incident lifecycle as one pure function: (incident, event, now) -> outcome.

Nothing here touches the database, the network or a clock; the service runs the commands of
an outcome in one transaction. Every change has a stored name (OPEN, ACK, RESOLVE, ...).

                        waiting (WAIT / RESUME, or a customer's note: clocks pause)
                           ||
    triggered --ACK--> acknowledged --RESOLVE--> resolved --CLOSE--> closed
        \\_______________RESOLVE________________/    |  ^ \\--VERIFY--> verifying --CLOSE--/
                 ^---------------REOPEN---------------/                 |
                 ^---------------REOPEN----------------------------------/
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from collector.incidents.clocks import (
    Deadline,
    Elapsed,
    always,
    arm,
    on_timer,
    stop_on_ack,
    stop_on_resolve,
    wall_seconds,
)
from collector.incidents.commands import Cancel, Command, Notify, Schedule
from collector.incidents.events import (
    ACTION_NAMES,
    Acknowledge,
    AddNote,
    Assign,
    Close,
    Event,
    MaintenanceSeen,
    PersonAction,
    PersonOpened,
    Regrade,
    Reopen,
    RequestVerification,
    Resolve,
    Resume,
    RuleCleared,
    RuleFired,
    TimerDue,
    TimerKind,
    Wait,
)
from collector.incidents.flapping import FlapPolicy, damp, settled
from collector.incidents.model import Incident, IncidentState, Source
from collector.incidents.pauses import maintenance_seen, set_waiting
from collector.incidents.plan import ResponsePlan
from collector.incidents.rootcause import closing_refusal
from rules.priority import Priority

S = IncidentState


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


class TransitionRefusedError(Exception):
    """A person asked for something the incident's state does not allow."""

    def __init__(self, incident: Incident, action: str, reason: str = "") -> None:
        self.state = incident.state
        self.action = action
        self.allowed = allowed_actions(incident.state)
        what = incident.number or f"incident {incident.id}"
        message = reason or (
            f"cannot {action} {what}: it is {incident.state.value}; "
            f"allowed now: {', '.join(self.allowed) or 'nothing'}"
        )
        super().__init__(message)
        self.message = message


_ALLOWED: dict[IncidentState, tuple[type[PersonAction], ...]] = {
    S.TRIGGERED: (Acknowledge, Assign, AddNote, Regrade, Resolve),
    S.ACKNOWLEDGED: (Assign, AddNote, Regrade, Resolve, Wait),
    S.WAITING: (Assign, AddNote, Regrade, Resolve, Resume),
    S.RESOLVED: (Assign, AddNote, Reopen, RequestVerification, Close),
    S.VERIFYING: (Assign, AddNote, Reopen, Close),
    S.CLOSED: (AddNote,),
}


def allowed_actions(state: IncidentState) -> list[str]:
    """The person actions a state allows, by their API verbs."""
    return [ACTION_NAMES[action] for action in _ALLOWED[state]]


def transition(  # noqa: PLR0911 - one branch per kind of event
    incident: Incident | None, event: Event, now: float, policy: LifecyclePolicy
) -> Outcome | None:
    """What `event` does to `incident` at `now`; None when it changes nothing.

    Rule and timer events that no longer apply are ignored; a person's action that the state
    does not allow raises TransitionRefusedError naming the state and what it allows.
    """
    if isinstance(event, RuleFired):
        return _damped(incident, _fired(incident, event, now, policy), now, policy)
    if isinstance(event, PersonOpened):
        return _opened_by_person(event, now, policy)
    if incident is None:
        return None
    if isinstance(event, RuleCleared):
        return _damped(incident, _cleared(incident, event, now, policy), now, policy)
    if isinstance(event, MaintenanceSeen):
        return _maintenance(incident, event, now, policy)
    if isinstance(event, TimerDue):
        return _timer(incident, event, now, policy)
    if not isinstance(event, _ALLOWED[incident.state]):
        raise TransitionRefusedError(incident, ACTION_NAMES[type(event)])
    return _person(incident, event, now, policy)


def _damped(
    before: Incident | None, outcome: Outcome | None, now: float, policy: LifecyclePolicy
) -> Outcome | None:
    """Count a rule's REOPEN or RESOLVE of an existing ticket towards flapping."""
    if (
        outcome is None
        or before is None
        or outcome.transition
        not in (
            Transition.REOPEN,
            Transition.RESOLVE,
        )
    ):
        return outcome
    incident, commands, note = damp(outcome.incident, outcome.commands, now, policy.flap)
    detail = f"{outcome.detail}; {note}" if note else outcome.detail
    return replace(outcome, incident=incident, commands=commands, detail=detail)


def _fired(
    incident: Incident | None, event: RuleFired, now: float, policy: LifecyclePolicy
) -> Outcome | None:
    actor = f"rule:{event.rule}"
    if incident is not None and incident.active:
        if incident.auto_resolve:
            return None  # the same breach seen again: one incident, one message
        recurred = replace(incident, value=event.value, updated_at=now)
        return Outcome(recurred, Transition.RECUR, actor, event.summary)
    if incident is not None and incident.state in (S.RESOLVED, S.VERIFYING):
        return _reopening(
            incident, event.value, actor, f"{event.reason}: {event.summary}", now, policy
        )
    opened = Incident(
        source=Source.ALERT if event.external else Source.RULE,
        priority=event.priority,
        state=S.TRIGGERED,
        summary=event.summary,
        opened_at=now,
        updated_at=now,
        key=event.key,
        rule=event.rule,
        host=event.host,
        hosts=(event.host,),
        labels=dict(event.labels),
        description=event.description,
        value=event.value,
        auto_resolve=event.auto_resolve,
        annotations=dict(event.annotations),
    )
    return _opening(opened, actor, event.reason, now, policy)


def _opened_by_person(event: PersonOpened, now: float, policy: LifecyclePolicy) -> Outcome:
    opened = Incident(
        source=Source.PERSON,
        priority=event.priority,
        state=S.TRIGGERED,
        summary=event.title,
        opened_at=now,
        updated_at=now,
        host=event.hosts[0] if event.hosts else "",
        hosts=event.hosts,
        description=event.description,
        auto_resolve=False,
        reporter=event.reporter or event.actor,
        contact=event.contact,
    )
    return _opening(opened, event.actor, "opened by a person", now, policy)


def _opening(
    opened: Incident, actor: str, detail: str, now: float, policy: LifecyclePolicy
) -> Outcome:
    priority = policy.adjust_priority(opened)
    if priority != opened.priority:
        detail = f"{detail}; raised from {opened.priority.value} to {priority.value} (VIP customer)"
        opened = replace(opened, priority=priority)
    armed, clocks = arm(replace(opened, plan=policy.plan_for(opened)), now, policy.deadline)
    commands = (Notify("opened"), *policy.renotify(armed, now), *clocks)
    return Outcome(armed, Transition.OPEN, actor, detail, commands)


def _cleared(
    incident: Incident, event: RuleCleared, now: float, policy: LifecyclePolicy
) -> Outcome | None:
    if not incident.active:
        return None
    actor = f"rule:{incident.rule}"
    value = event.value if event.value is not None else incident.value
    if not incident.auto_resolve:
        cleared = replace(incident, value=value, updated_at=now)
        return Outcome(cleared, Transition.CLEAR, actor, f"{event.reason}; a person resolves it")
    return _resolved(incident, now, actor, event.reason, policy, value)


def _maintenance(
    incident: Incident, event: MaintenanceSeen, now: float, policy: LifecyclePolicy
) -> Outcome | None:
    seen = maintenance_seen(
        incident, event.until, event.window, now, policy.deadline, policy.elapsed
    )
    if seen is None:
        return None
    return Outcome(seen[0], Transition(seen[1]), "system", seen[2], tuple(seen[3]))


def _timer(
    incident: Incident, event: TimerDue, now: float, policy: LifecyclePolicy
) -> Outcome | None:
    if event.kind in (TimerKind.RENOTIFY, TimerKind.UNSILENCE):
        return _retell(incident, event.kind, now, policy)
    if event.kind is TimerKind.SETTLE:
        calm = settled(incident, now)
        return (
            None
            if calm is None
            else Outcome(calm[0], Transition.SETTLED, "system", calm[2], calm[1])
        )
    if event.kind is not TimerKind.AUTO_CLOSE:
        clocked = on_timer(incident, event, now, policy.deadline)
        if clocked is None:
            return None
        changed, name, detail, more = clocked
        return Outcome(changed, Transition(name), "system", detail, tuple(more))
    if incident.state not in (S.RESOLVED, S.VERIFYING):
        return None
    why = (
        "no answer within the verification time"
        if incident.state is S.VERIFYING
        else "did not return within the reopen window"
    )
    return Outcome(_closed(incident, now), Transition.CLOSE, "system", why)


def _retell(
    incident: Incident, kind: TimerKind, now: float, policy: LifecyclePolicy
) -> Outcome | None:
    """A reminder, or the message a silence held back: only while nobody has acknowledged."""
    if incident.state is not S.TRIGGERED:
        return None  # acknowledged or over meanwhile: a stale timer
    told = replace(incident, updated_at=now)
    if kind is TimerKind.UNSILENCE:
        detail = "the silence ended and it is still open"
        commands = (Notify("opened"), *policy.renotify(incident, now))
        return Outcome(told, Transition.UNSILENCED, "system", detail, commands)
    commands = (Notify("renotify"), *policy.renotify(incident, now))
    return Outcome(told, Transition.RENOTIFY, "system", "still unacknowledged", commands)


def _person(  # noqa: PLR0911 - one branch per action reads best as a flat dispatch
    incident: Incident, event: PersonAction, now: float, policy: LifecyclePolicy
) -> Outcome:
    actor = event.actor
    if isinstance(event, Acknowledge):
        acked = replace(
            incident,
            state=S.ACKNOWLEDGED,
            acknowledged_at=now,
            acknowledged_by=actor,
            updated_at=now,
        )
        commands = (Cancel(TimerKind.RENOTIFY), *stop_on_ack())
        return Outcome(acked, Transition.ACK, actor, event.note, commands)
    if isinstance(event, Assign):
        assigned = replace(incident, assignee=event.assignee, updated_at=now)
        return Outcome(assigned, Transition.ASSIGN, actor, f"assigned to {event.assignee}")
    if isinstance(event, AddNote):
        noted = replace(incident, last_note=event.text, last_note_at=now, updated_at=now)
        if event.from_customer and incident.state is S.WAITING:
            answered = f"the customer answered: {event.text}"
            return _waiting(noted, False, actor, answered, now, policy)
        return Outcome(noted, Transition.NOTE, actor, event.text)
    if isinstance(event, Wait | Resume):
        return _waiting(incident, isinstance(event, Wait), actor, event.note, now, policy)
    if isinstance(event, Regrade):
        return _regraded(incident, event, now, policy)
    if isinstance(event, Resolve):
        return _resolved(incident, now, actor, event.note, policy, incident.value)
    if isinstance(event, Reopen):
        return _reopening(incident, incident.value, actor, event.reason, now, policy)
    if isinstance(event, RequestVerification):
        verifying = replace(incident, state=S.VERIFYING, updated_at=now)
        commands = (
            Cancel(TimerKind.AUTO_CLOSE),
            Schedule(TimerKind.AUTO_CLOSE, now + policy.verify_timeout),
        )
        return Outcome(verifying, Transition.VERIFY, actor, event.note, commands)
    refusal = closing_refusal(incident, event.has_root_cause)
    if refusal is not None:
        raise TransitionRefusedError(incident, "close", refusal)
    closed = _closed(incident, now)
    return Outcome(closed, Transition.CLOSE, actor, event.note, (Cancel(TimerKind.AUTO_CLOSE),))


def _waiting(
    incident: Incident, waiting: bool, actor: str, detail: str, now: float, policy: LifecyclePolicy
) -> Outcome:
    moved, commands = set_waiting(incident, waiting, now, policy.deadline, policy.elapsed)
    name = Transition.WAIT if waiting else Transition.RESUME
    return Outcome(moved, name, actor, detail, tuple(commands))


def _regraded(incident: Incident, event: Regrade, now: float, policy: LifecyclePolicy) -> Outcome:
    if event.priority == incident.priority:
        raise TransitionRefusedError(
            incident, "regrade", f"{incident.number} is already {incident.priority.value}"
        )
    regraded = replace(incident, priority=event.priority, updated_at=now)
    detail = f"{incident.priority.value} -> {event.priority.value}: {event.reason}"
    commands: list[Command] = []
    if incident.state is S.TRIGGERED:
        commands += [Cancel(TimerKind.RENOTIFY), *policy.renotify(regraded, now)]
    if event.priority.rank < incident.priority.rank:
        commands.append(Notify("regraded"))  # more urgent now: people must hear it
    return Outcome(regraded, Transition.REGRADE, event.actor, detail, tuple(commands))


def _resolved(
    incident: Incident,
    now: float,
    actor: str,
    detail: str,
    policy: LifecyclePolicy,
    value: float | str | None,
) -> Outcome:
    resolved = replace(incident, state=S.RESOLVED, resolved_at=now, updated_at=now, value=value)
    commands = (
        Cancel(TimerKind.RENOTIFY),
        *stop_on_resolve(),
        Notify("resolved"),
        Schedule(TimerKind.AUTO_CLOSE, now + policy.reopen_window),
    )
    return Outcome(resolved, Transition.RESOLVE, actor, detail, commands)


def _reopening(
    incident: Incident,
    value: float | str | None,
    actor: str,
    detail: str,
    now: float,
    policy: LifecyclePolicy,
) -> Outcome:
    """Back to triggered under the same number; the clocks start again from now."""
    reopened, clocks = arm(_reopened(incident, now, value), now, policy.deadline)
    commands = (
        Cancel(TimerKind.AUTO_CLOSE),
        Notify("reopened"),
        *policy.renotify(reopened, now),
        *clocks,
    )
    return Outcome(reopened, Transition.REOPEN, actor, detail, commands)


def _reopened(incident: Incident, now: float, value: float | str | None) -> Incident:
    return replace(
        incident,
        state=S.TRIGGERED,
        resolved_at=None,
        acknowledged_at=None,
        acknowledged_by=None,
        escalation_step=-1,
        last_update_at=None,
        reopen_count=incident.reopen_count + 1,
        updated_at=now,
        value=value,
    )


def _closed(incident: Incident, now: float) -> Incident:
    return replace(incident, state=S.CLOSED, closed_at=now, updated_at=now)

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

from dataclasses import replace

from collector.incidents.clocks import arm, stop_on_ack, stop_on_resolve
from collector.incidents.commands import Cancel, Command, Notify, Schedule
from collector.incidents.eta import EtaRefusedError, eta_outcome
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
    SetEta,
    TimerDue,
    TimerKind,
    Wait,
)
from collector.incidents.flapping import damp
from collector.incidents.model import Incident, IncidentState, Source
from collector.incidents.outcome import LifecyclePolicy, Outcome, Transition
from collector.incidents.pauses import set_waiting
from collector.incidents.rootcause import closing_refusal
from collector.incidents.timed import closed, maintenance_outcome, timer_outcome

# The annotation keeping the priority another monitor last gave an alert (to follow changes).
SOURCE_PRIORITY = "source_priority"

__all__ = [  # the outcome's names are imported from here throughout
    "LifecyclePolicy",
    "Outcome",
    "Transition",
    "TransitionRefusedError",
    "allowed_actions",
    "transition",
]

S = IncidentState


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
    S.TRIGGERED: (Acknowledge, Assign, AddNote, Regrade, Resolve, SetEta),
    S.ACKNOWLEDGED: (Assign, AddNote, Regrade, Resolve, Wait, SetEta),
    S.WAITING: (Assign, AddNote, Regrade, Resolve, Resume, SetEta),
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
        return maintenance_outcome(incident, event, now, policy)
    if isinstance(event, TimerDue):
        return timer_outcome(incident, event, now, policy)
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
        regraded = _source_regrade(incident, event, now, policy) if event.external else None
        if regraded is not None:
            return regraded
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
        annotations={**event.annotations, **_source_priority(event)},
    )
    return _opening(opened, actor, event.reason, now, policy)


def _source_priority(event: RuleFired) -> dict[str, str]:
    """What another monitor said the alert's priority was (kept to see it change)."""
    return {SOURCE_PRIORITY: event.priority.value} if event.external else {}


def _source_regrade(
    incident: Incident, event: RuleFired, now: float, policy: LifecyclePolicy
) -> Outcome | None:
    """Another monitor changed an open alert's severity (warning -> critical): the incident
    follows (as a re-grade, VIP raise kept); a person's re-grade stays until the source changes
    its mind again."""
    sent = incident.annotations.get(SOURCE_PRIORITY)
    if sent is None or sent == event.priority.value:
        return None
    marked = replace(incident, annotations={**incident.annotations, **_source_priority(event)})
    wanted = policy.adjust_priority(replace(marked, priority=event.priority))
    if wanted == incident.priority:  # e.g. a VIP's P2 raised to P1 already: nothing to tell
        return None
    reason = f"the source's severity changed ({sent} -> {event.priority.value})"
    return _regraded(marked, Regrade(f"rule:{event.rule}", wanted, reason), now, policy)


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
        labels=dict(event.labels),
        description=event.description,
        auto_resolve=False,
        reporter=event.reporter or event.actor,
        contact=event.contact,
    )
    return _opening(opened, event.actor, "opened by a person", now, policy)


def _opening(
    opened: Incident, actor: str, detail: str, now: float, policy: LifecyclePolicy
) -> Outcome:
    opened = replace(opened, annotations={**opened.annotations, **policy.marks(opened)})
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
    if isinstance(event, SetEta):
        try:
            return eta_outcome(incident, event, now)
        except EtaRefusedError as exc:
            raise TransitionRefusedError(incident, "eta", str(exc)) from exc
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
    done = closed(incident, now)
    return Outcome(done, Transition.CLOSE, actor, event.note, (Cancel(TimerKind.AUTO_CLOSE),))


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
        eta_at=None,  # the old promise is void: a new one is set for the new attempt
        eta_reason=None,
        reopen_count=incident.reopen_count + 1,
        updated_at=now,
        value=value,
    )

"""Events no person causes, as outcomes: timers coming due (reminders, a silence's end,
settling, SLA clocks, escalation, updates, auto-close) and maintenance windows."""

from __future__ import annotations

from dataclasses import replace

from collector.incidents.clocks import on_timer
from collector.incidents.commands import Notify
from collector.incidents.events import MaintenanceSeen, TimerDue, TimerKind
from collector.incidents.flapping import settled
from collector.incidents.model import Incident, IncidentState
from collector.incidents.outcome import LifecyclePolicy, Outcome, Transition
from collector.incidents.pauses import maintenance_seen

S = IncidentState


def maintenance_outcome(
    incident: Incident, event: MaintenanceSeen, now: float, policy: LifecyclePolicy
) -> Outcome | None:
    seen = maintenance_seen(
        incident, event.until, event.window, now, policy.deadline, policy.elapsed
    )
    if seen is None:
        return None
    return Outcome(seen[0], Transition(seen[1]), "system", seen[2], tuple(seen[3]))


def timer_outcome(
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
    return Outcome(closed(incident, now), Transition.CLOSE, "system", why)


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


def closed(incident: Incident, now: float) -> Incident:
    """Nothing more will happen to it."""
    return replace(incident, state=S.CLOSED, closed_at=now, updated_at=now)

"""Pausing and resuming SLA clocks, pure: while an incident waits on the customer or a
maintenance window covers its host, its clocks stand still and later go on with the time
they had left.

Waiting pauses the resolve and update clocks (the first response was given); maintenance
pauses every clock. A paused clock's time left is kept in the incident's plan, counted in
the clock's own time (business seconds for a business-hours clock), and its timer rows are
cancelled; resuming schedules them again from that time left.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from collector.incidents.clocks import Deadline, Elapsed, level_name, update_timers
from collector.incidents.commands import Cancel, Command, Schedule
from collector.incidents.events import TimerKind
from collector.incidents.model import Incident, IncidentState
from collector.incidents.plan import ResponsePlan

WAITING = "waiting"
MAINTENANCE = "maintenance"
PAUSED_CLOCKS: dict[str, tuple[str, ...]] = {
    WAITING: ("resolve", "update"),
    MAINTENANCE: ("ack", "resolve", "update"),
}
CLOCKS = ("ack", "resolve", "update")


def holding(incident: Incident, reason: str, on: bool) -> tuple[str, ...]:
    """The incident's pause reasons with `reason` added (on) or taken away."""
    held = incident.plan.held_by if incident.plan else ()
    rest = tuple(r for r in held if r != reason)
    return (*rest, reason) if on else rest


def repause(
    incident: Incident,
    held_by: tuple[str, ...],
    now: float,
    deadline: Deadline,
    elapsed: Elapsed,
) -> tuple[Incident, list[Command]]:
    """Pause the running clocks `held_by` covers and resume the paused ones it no longer does."""
    plan = incident.plan
    if plan is None:
        return incident, []
    covered = {clock for reason in held_by for clock in PAUSED_CLOCKS.get(reason, ())}
    # A fresh copy whose dicts the steps below change in place.
    changed = replace(plan, held_by=held_by, paused=dict(plan.paused), clocks=dict(plan.clocks))
    commands: list[Command] = []
    for clock in CLOCKS:
        if clock in covered and clock not in changed.paused:
            commands += _pause(incident, changed, clock, now, elapsed)
        elif clock not in covered and clock in changed.paused:
            commands += _resume(incident, changed, clock, now, deadline)
    if "update" in plan.paused and "update" not in changed.paused:
        updates = [c.due_at for c in commands if isinstance(c, Schedule) and _is_update(c)]
        changed = replace(changed, update_due=updates[0] if updates else None)
    return replace(incident, plan=changed), commands


def _is_update(command: Schedule) -> bool:
    return command.kind is TimerKind.UPDATE


def _running(incident: Incident, plan: ResponsePlan, clock: str) -> bool:
    if clock == "update":
        return incident.active and plan.update_due is not None and bool(plan.sla.update)
    if clock not in plan.clocks:
        return False
    return incident.state is IncidentState.TRIGGERED if clock == "ack" else incident.active


def _pause(
    incident: Incident, plan: ResponsePlan, clock: str, now: float, elapsed: Elapsed
) -> list[Command]:
    """Keep the clock's time left (mutating the fresh copy `plan`) and cancel its timers."""
    if not _running(incident, plan, clock):
        return []
    due = plan.update_due if clock == "update" else plan.clocks[clock][1]
    assert due is not None
    left = elapsed(now, due, plan.sla.calendar_of(clock))
    if left <= 0:
        return []  # already breached (or due this instant): nothing left to keep
    plan.paused[clock] = left
    if clock == "update":
        return [Cancel(TimerKind.UPDATE), Cancel(TimerKind.REMIND)]
    return [Cancel(TimerKind.SLA, f"{clock}:{level_name(f)}") for f in _fractions(plan)]


def _resume(
    incident: Incident, plan: ResponsePlan, clock: str, now: float, deadline: Deadline
) -> list[Command]:
    """Move the clock's due time by the pause; schedule its timers if it still runs."""
    left = plan.paused.pop(clock)
    calendar = plan.sla.calendar_of(clock)
    due = deadline(now, left, calendar)
    if clock == "update":
        if not incident.active or not plan.sla.update:
            return []
        return update_timers(due, now, plan.sla.remind_before)
    start, old_due = plan.clocks[clock]
    plan.clocks[clock] = (due - (old_due - start), due)
    target = plan.sla.target_of(clock)
    if not _running(incident, plan, clock) or not target:
        return []  # stopped while paused (acknowledged, resolved): the new due says "met"
    commands: list[Command] = []
    for fraction in _fractions(plan):
        rest = left - target * (1.0 - fraction)
        if rest > 0:
            data: dict[str, object] = {"level": level_name(fraction), "target": target}
            tag = f"{clock}:{level_name(fraction)}"
            commands.append(Schedule(TimerKind.SLA, deadline(now, rest, calendar), tag, data))
    return commands


def _fractions(plan: ResponsePlan) -> tuple[float, ...]:
    return (*sorted(plan.sla.warn_at), 1.0)


def set_waiting(
    incident: Incident, waiting: bool, now: float, deadline: Deadline, elapsed: Elapsed
) -> tuple[Incident, list[Command]]:
    """Into waiting (resolve and update clocks pause) or back to acknowledged (they resume)."""
    state = IncidentState.WAITING if waiting else IncidentState.ACKNOWLEDGED
    moved = replace(incident, state=state, updated_at=now)
    return repause(moved, holding(incident, WAITING, waiting), now, deadline, elapsed)


def maintenance_seen(
    incident: Incident,
    until: float | None,
    window: str,
    now: float,
    deadline: Deadline,
    elapsed: Elapsed,
) -> tuple[Incident, str, str, list[Command]] | None:
    """(incident, transition, detail, commands) when a maintenance window starts covering the
    incident, goes on, or ends; None when nothing changes (or it has no clocks)."""
    plan = incident.plan
    if not incident.active or plan is None or not (plan.clocks or plan.update_due):
        return None
    held = MAINTENANCE in plan.held_by
    if until is None:
        if not held:
            return None
        resumed, commands = repause(
            incident, holding(incident, MAINTENANCE, False), now, deadline, elapsed
        )
        detail = "the maintenance window ended: SLA clocks run again with the time they had left"
        return replace(resumed, updated_at=now), "CLOCKS_RESUMED", detail, commands
    paused, commands = repause(
        incident, holding(incident, MAINTENANCE, True), now, deadline, elapsed
    )
    commands.append(Schedule(TimerKind.MAINTENANCE, until))
    verb = "goes on" if held else "covers the host"
    detail = f"maintenance window {window} {verb} until {_utc(until)}: SLA clocks paused"
    return replace(paused, updated_at=now), "CLOCKS_PAUSED", detail, commands


def _utc(unix_seconds: float) -> str:
    moment = dt.datetime.fromtimestamp(unix_seconds, dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")

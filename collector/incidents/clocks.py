"""The time-driven part of the lifecycle, pure: escalation steps, SLA clocks, progress updates.

Each clock is a set of timer rows armed by a transition and cancelled by another; a due row
is checked against the incident when it fires, so a stale one (acknowledged since, resolved
since, a step already taken) does nothing: no step is skipped or repeated across restarts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from collector.incidents.commands import Cancel, Command, Notify, Schedule, WithdrawPages
from collector.incidents.events import TimerDue, TimerKind
from collector.incidents.model import Incident, IncidentState
from collector.incidents.plan import AUTO_ESCALATING
from collector.notify.units import format_duration

# (start, seconds, calendar name) -> the wall time at which `seconds` of that calendar passed.
Deadline = Callable[[float, float, str | None], float]
# (start, end, calendar name) -> the seconds of that calendar's time between the two.
Elapsed = Callable[[float, float, str | None], float]


def always(start: float, seconds: float, _calendar: str | None) -> float:
    """The 24x7 deadline: clocks that run at night."""
    return start + seconds


def wall_seconds(start: float, end: float, _calendar: str | None) -> float:
    """The 24x7 elapsed time."""
    return end - start


def level_name(fraction: float) -> str:
    """An SLA timer's level: "50%", "80%", or "breach" at the target."""
    return "breach" if fraction >= 1.0 else f"{round(fraction * 100)}%"


def update_timers(due: float, now: float, remind_before: float) -> list[Command]:
    """The next progress update at `due`, and the responder's reminder `remind_before` it."""
    commands: list[Command] = [Schedule(TimerKind.UPDATE, due)]
    if remind_before > 0 and due - remind_before > now:
        commands.append(Schedule(TimerKind.REMIND, due - remind_before))
    return commands


def arm(incident: Incident, now: float, deadline: Deadline) -> tuple[Incident, list[Command]]:
    """Start an (re)opened incident's clocks: page the first tier, escalation, SLA, updates."""
    plan = incident.plan
    if plan is None:
        return incident, []
    commands: list[Command] = []
    armed = incident
    if plan.tiers:
        armed = replace(incident, escalation_step=0)
        commands.append(Notify("opened", step=0))
        commands += _next_escalation(armed, 0, now)
    sla = plan.sla
    clocks: dict[str, tuple[float, float]] = {}
    for clock, target in (("ack", sla.ack), ("resolve", sla.resolve)):
        if target:
            calendar = sla.calendar_of(clock)
            commands += _sla_timers(clock, target, now, sla.warn_at, calendar, deadline)
            clocks[clock] = (now, deadline(now, target, calendar))
    update_due = None
    if sla.update and incident.priority in AUTO_ESCALATING:
        update_due = deadline(now, sla.update, sla.calendar_of("update"))
        commands += update_timers(update_due, now, sla.remind_before)
    # When each clock started and falls due, kept with the plan: what the API shows as time left.
    fresh = replace(plan, clocks=clocks, update_due=update_due, held_by=(), paused={})
    return replace(armed, plan=fresh), commands


def stop_on_ack() -> list[Command]:
    """Acknowledged: no more escalation, the first-response clock is met."""
    return [Cancel(TimerKind.ESCALATE), Cancel(TimerKind.SLA, "ack"), WithdrawPages()]


def stop_on_resolve() -> list[Command]:
    """Resolved: every clock stops."""
    return [
        Cancel(TimerKind.ESCALATE),
        Cancel(TimerKind.SLA),
        Cancel(TimerKind.UPDATE),
        Cancel(TimerKind.REMIND),
        Cancel(TimerKind.MAINTENANCE),
        WithdrawPages(),
    ]


def on_timer(
    incident: Incident, event: TimerDue, now: float, deadline: Deadline
) -> tuple[Incident, str, str, list[Command]] | None:
    """(incident, transition name, detail, commands) for a due clock row, None if stale."""
    if event.kind is TimerKind.ESCALATE:
        step = int(str(event.data.get("step", -1)))
        if incident.state is not IncidentState.TRIGGERED or step != incident.escalation_step + 1:
            return None
        return escalate(incident, now, "nobody acknowledged in time")
    if event.kind is TimerKind.SLA:
        return _sla_due(incident, event, now)
    if event.kind is TimerKind.UPDATE:
        return _update_due(incident, now, deadline)
    if event.kind is TimerKind.REMIND:
        return _remind_due(incident, now)
    return None


def escalate(
    incident: Incident, now: float, why: str
) -> tuple[Incident, str, str, list[Command]] | None:
    """Page the next step of the plan (None when every tier and repeat has been paged)."""
    plan = incident.plan
    step = incident.escalation_step + 1
    if plan is None or plan.tier_of_step(step) is None:
        return None
    escalated = replace(incident, escalation_step=step, updated_at=now)
    tier_number = step % len(plan.tiers) + 1
    commands: list[Command] = [Notify("escalated", step=step), Cancel(TimerKind.ESCALATE)]
    commands += _next_escalation(escalated, step, now)
    return escalated, "ESCALATE", f"tier {tier_number} (step {step + 1}): {why}", commands


def _next_escalation(incident: Incident, step: int, now: float) -> list[Command]:
    plan = incident.plan
    tier = plan.tier_of_step(step) if plan else None
    if tier is None or incident.priority not in AUTO_ESCALATING:
        return []  # P3/P4 move up only when an SLA clock is breached
    if plan is None or plan.tier_of_step(step + 1) is None:
        return []
    return [Schedule(TimerKind.ESCALATE, now + tier.timeout, data={"step": step + 1})]


def _sla_timers(
    clock: str,
    target: float,
    start: float,
    warn_at: tuple[float, ...],
    calendar: str | None,
    deadline: Deadline,
) -> list[Command]:
    commands: list[Command] = []
    for fraction in (*sorted(warn_at), 1.0):
        level = level_name(fraction)
        due = deadline(start, target * fraction, calendar)
        data: dict[str, object] = {"level": level, "target": target}
        commands.append(Schedule(TimerKind.SLA, due, f"{clock}:{level}", data))
    return commands


def _sla_due(
    incident: Incident, event: TimerDue, now: float
) -> tuple[Incident, str, str, list[Command]] | None:
    clock, _, level = event.tag.partition(":")
    running = incident.state is IncidentState.TRIGGERED if clock == "ack" else incident.active
    if not running or (incident.plan is not None and clock in incident.plan.paused):
        return None
    target = float(str(event.data.get("target", 0.0)))
    what = {"ack": "first response", "resolve": "resolution"}.get(clock, clock)
    touched = replace(incident, updated_at=now)
    if level != "breach":
        detail = f"{what}: {level} of {format_duration(target)} used"
        return touched, "SLA_WARNING", detail, [Notify("sla_warning", text=detail)]
    detail = f"{what} target of {format_duration(target)} breached"
    commands: list[Command] = [Notify("sla_breach", text=detail)]
    step_up = escalate(touched, now, detail)
    if step_up is not None:
        touched, commands = step_up[0], commands + step_up[3]
    return touched, "SLA_BREACH", detail, commands


def _update_due(
    incident: Incident, now: float, deadline: Deadline
) -> tuple[Incident, str, str, list[Command]] | None:
    plan = incident.plan
    if not incident.active or plan is None or not plan.sla.update or "update" in plan.paused:
        return None
    wrote = _wrote_since_update(incident)
    text = incident.last_note or "" if wrote else ""
    due = deadline(now, plan.sla.update, plan.sla.calendar_of("update"))
    updated = replace(
        incident, last_update_at=now, updated_at=now, plan=replace(plan, update_due=due)
    )
    name = "UPDATE" if wrote else "UPDATE_MISSED"
    detail = text if wrote else "no note since the last update: an automatic status went out"
    following = update_timers(due, now, plan.sla.remind_before)
    return updated, name, detail, [Notify("update", text=text), *following]


def _wrote_since_update(incident: Incident) -> bool:
    since = incident.last_update_at or incident.opened_at
    return incident.last_note_at is not None and incident.last_note_at > since


def _remind_due(incident: Incident, now: float) -> tuple[Incident, str, str, list[Command]] | None:
    """Shortly before an update is due with no note written: remind whoever is on it."""
    plan = incident.plan
    if not incident.active or plan is None or not plan.sla.update or "update" in plan.paused:
        return None
    if _wrote_since_update(incident):
        return None  # the note will be the update
    due = plan.update_due if plan.update_due is not None else now + plan.sla.remind_before
    detail = (
        f"a progress update is due in {format_duration(max(0.0, due - now))} and nobody has "
        "written a note since the last one: write one, or an automatic status goes out"
    )
    who = incident.assignee or incident.acknowledged_by
    reminder = Notify(
        "update_reminder", step=max(incident.escalation_step, 0), text=detail, person=who
    )
    return replace(incident, updated_at=now), "UPDATE_REMINDER", detail, [reminder]

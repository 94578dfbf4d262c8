"""Flap damping that keeps the last word (pure).

A rule incident that opens and resolves more than `changes` times within `window` is marked
flapping: one message says so, further changes are recorded but not sent, and once it has
held still for `settle` seconds its final state — still failing, or recovered — is always
sent. A flapping incident never ends silently (the defect of icinga2 #10845 and #9449).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from collector.incidents.commands import Cancel, Command, Notify, Schedule
from collector.incidents.events import TimerKind
from collector.incidents.model import Incident

QUIET_EVENTS = ("opened", "reopened", "resolved")


@dataclass(frozen=True)
class FlapPolicy:
    """How many state changes within how long make a flap, and how long it must hold still."""

    changes: int = 4
    window: float = 1800.0
    settle: float = 600.0


def damp(
    incident: Incident, commands: tuple[Command, ...], now: float, policy: FlapPolicy
) -> tuple[Incident, tuple[Command, ...], str]:
    """Note a rule-driven state change; while flapping, its messages wait for the settle."""
    recent = (*(t for t in incident.flap_times if t > now - policy.window), now)
    changed = replace(incident, flap_times=recent[-(policy.changes + 1) :])
    if not incident.flapping and len(recent) < policy.changes:
        return changed, commands, ""
    kept = tuple(c for c in commands if not (isinstance(c, Notify) and c.event in QUIET_EVENTS))
    settle = (Cancel(TimerKind.SETTLE), Schedule(TimerKind.SETTLE, now + policy.settle))
    if incident.flapping:
        return changed, kept + settle, "flapping: held back until it holds still"
    started = (Notify("flapping", text=_flapping_text(len(recent), policy)),)
    return replace(changed, flapping=True), kept + started + settle, "started flapping"


def settled(incident: Incident, now: float) -> tuple[Incident, tuple[Command, ...], str] | None:
    """After holding still: the final state is told, whatever it is."""
    if not incident.flapping:
        return None
    calm = replace(incident, flapping=False, flap_times=(), updated_at=now)
    if incident.active:
        return calm, (Notify("settled", text="stopped flapping: still failing"),), "still failing"
    return calm, (Notify("resolved"),), "stopped flapping: recovered"


def _flapping_text(count: int, policy: FlapPolicy) -> str:
    minutes = round(policy.window / 60)
    return (
        f"flapping: {count} state changes in {minutes} minutes; further changes are recorded "
        "but not sent until it holds still, then its final state is sent"
    )

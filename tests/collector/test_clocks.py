"""The lifecycle's clocks, pure: escalation through the tiers, SLA warnings and breaches,
progress updates — each step taken once, stale timers doing nothing."""

from __future__ import annotations

from dataclasses import replace

from collector.incidents.commands import Cancel, Notify, Schedule
from collector.incidents.events import (
    Acknowledge,
    AddNote,
    PersonOpened,
    Reopen,
    Resolve,
    TimerDue,
    TimerKind,
)
from collector.incidents.model import Incident, IncidentState
from collector.incidents.plan import ResponsePlan, SlaTargets, Tier
from collector.incidents.transitions import LifecyclePolicy, Outcome, Transition, transition
from rules.priority import Priority

PLAN = ResponsePlan(
    policy="ops",
    tiers=(
        Tier(("schedule:t1",), 300.0),
        Tier(("schedule:t2",), 300.0),
        Tier(("team:t3",), 600.0),
    ),
    sla=SlaTargets(ack=300.0, update=900.0, resolve=3600.0),
)
POLICY = LifecyclePolicy(plan_for=lambda _incident: PLAN)


def opened(priority: Priority = Priority.P1) -> Outcome:
    outcome = transition(None, PersonOpened("alice", "db down", priority), 0.0, POLICY)
    assert outcome is not None
    return replace(outcome, incident=replace(outcome.incident, id=1, number="INC-1", version=1))


def due(
    incident: Incident, kind: TimerKind, at: float, tag: str = "", **data: object
) -> Outcome | None:
    return transition(incident, TimerDue(kind, tag, dict(data)), at, POLICY)


def test_opening_a_p1_pages_tier_one_and_arms_every_clock() -> None:
    outcome = opened()
    assert outcome.incident.plan is not None and outcome.incident.escalation_step == 0
    assert outcome.incident.plan.clocks == {"ack": (0.0, 300.0), "resolve": (0.0, 3600.0)}
    assert replace(outcome.incident.plan, clocks={}, update_due=None) == PLAN
    assert outcome.incident.plan.update_due == 900.0
    commands = outcome.commands
    assert Notify("opened") in commands and Notify("opened", step=0) in commands
    assert Schedule(TimerKind.ESCALATE, 300.0) in commands
    sla = sorted(
        (c.tag, c.due_at) for c in commands if isinstance(c, Schedule) and c.kind is TimerKind.SLA
    )
    assert sla == [
        ("ack:50%", 150.0),
        ("ack:80%", 240.0),
        ("ack:breach", 300.0),
        ("resolve:50%", 1800.0),
        ("resolve:80%", 2880.0),
        ("resolve:breach", 3600.0),
    ]
    assert Schedule(TimerKind.UPDATE, 900.0) in commands
    assert Schedule(TimerKind.REMIND, 600.0) in commands, "5 minutes before the update"


def test_unacknowledged_p1_climbs_the_tiers_once_each() -> None:
    incident = opened().incident
    first = due(incident, TimerKind.ESCALATE, 300.0, step=1)
    assert first is not None and first.transition is Transition.ESCALATE
    assert first.incident.escalation_step == 1
    assert Notify("escalated", step=1) in first.commands
    assert Schedule(TimerKind.ESCALATE, 600.0) in first.commands
    assert "tier 2" in first.detail
    assert due(first.incident, TimerKind.ESCALATE, 301.0, step=1) is None, "a step is taken once"
    second = due(first.incident, TimerKind.ESCALATE, 600.0, step=2)
    assert second is not None and second.incident.escalation_step == 2
    assert not any(
        isinstance(c, Schedule) and c.kind is TimerKind.ESCALATE for c in second.commands
    )
    assert due(second.incident, TimerKind.ESCALATE, 1200.0, step=3) is None, "no tier 4"


def test_repeat_goes_through_the_tiers_again() -> None:
    policy = LifecyclePolicy(plan_for=lambda _i: replace(PLAN, repeat=1))
    incident = transition(None, PersonOpened("a", "x", Priority.P1), 0.0, policy)
    assert incident is not None
    current = replace(incident.incident, id=1, escalation_step=2)
    again = transition(current, TimerDue(TimerKind.ESCALATE, "", {"step": 3}), 900.0, policy)
    assert again is not None and "tier 1 (step 4)" in again.detail


def test_acknowledging_stops_escalation_and_the_first_response_clock() -> None:
    acked = transition(opened().incident, Acknowledge("bob"), 100.0, POLICY)
    assert acked is not None
    assert Cancel(TimerKind.ESCALATE) in acked.commands
    assert Cancel(TimerKind.SLA, "ack") in acked.commands
    assert due(acked.incident, TimerKind.ESCALATE, 300.0, step=1) is None
    assert (
        due(acked.incident, TimerKind.SLA, 300.0, "ack:breach", level="breach", target=300.0)
        is None
    )
    resolve_warning = due(acked.incident, TimerKind.SLA, 1800.0, "resolve:50%", target=3600.0)
    assert resolve_warning is not None and resolve_warning.transition is Transition.SLA_WARNING
    assert resolve_warning.detail == "resolution: 50% of 1h00m used"


def test_p3_escalates_only_when_its_sla_is_breached() -> None:
    outcome = opened(Priority.P3)
    assert not any(
        isinstance(c, Schedule) and c.kind is TimerKind.ESCALATE for c in outcome.commands
    )
    assert not any(isinstance(c, Schedule) and c.kind is TimerKind.UPDATE for c in outcome.commands)
    warned = due(outcome.incident, TimerKind.SLA, 1800.0, "resolve:50%", target=3600.0)
    assert warned is not None and warned.incident.escalation_step == 0, "a warning is no breach"
    breach = due(outcome.incident, TimerKind.SLA, 3600.0, "resolve:breach", target=3600.0)
    assert breach is not None and breach.transition is Transition.SLA_BREACH
    assert breach.incident.escalation_step == 1
    assert Notify("escalated", step=1) in breach.commands
    assert Notify("sla_breach", text="resolution target of 1h00m breached") in breach.commands


def test_progress_updates_carry_the_note_or_are_recorded_as_missed() -> None:
    incident = opened().incident
    missed = due(incident, TimerKind.UPDATE, 900.0)
    assert missed is not None and missed.transition is Transition.UPDATE_MISSED
    assert Notify("update", text="") in missed.commands
    assert Schedule(TimerKind.UPDATE, 1800.0) in missed.commands
    noted = transition(missed.incident, AddNote("bob", "failover running"), 1000.0, POLICY)
    assert noted is not None
    update = due(noted.incident, TimerKind.UPDATE, 1800.0)
    assert update is not None and update.transition is Transition.UPDATE
    assert Notify("update", text="failover running") in update.commands
    again = due(update.incident, TimerKind.UPDATE, 2700.0)
    assert again is not None and again.transition is Transition.UPDATE_MISSED, "a note counts once"


def test_resolve_stops_every_clock_and_reopen_starts_them_again() -> None:
    incident = opened().incident
    resolved = transition(incident, Resolve("bob"), 500.0, POLICY)
    assert resolved is not None
    for kind in (TimerKind.ESCALATE, TimerKind.SLA, TimerKind.UPDATE):
        assert Cancel(kind) in resolved.commands
    assert due(resolved.incident, TimerKind.UPDATE, 900.0) is None
    reopened = transition(resolved.incident, Reopen("bob", "back"), 700.0, POLICY)
    assert reopened is not None and reopened.incident.state is IncidentState.TRIGGERED
    assert reopened.incident.escalation_step == 0
    assert Notify("opened", step=0) in reopened.commands
    assert Schedule(TimerKind.ESCALATE, 1000.0) in reopened.commands


def test_an_incident_without_a_plan_has_no_clocks() -> None:
    outcome = transition(None, PersonOpened("a", "x", Priority.P1), 0.0, LifecyclePolicy())
    assert outcome is not None and outcome.commands == (Notify("opened"),)

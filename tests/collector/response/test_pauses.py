"""Clocks that stand still, pure: waiting on the customer pauses the resolve and update clocks
(not the first response), a maintenance window pauses them all, and each resumes with the time
it had left; the responder is reminded before an update falls due."""

from __future__ import annotations

from dataclasses import replace

import pytest

from agent.configfile import parse_yaml
from collector.api.views import sla_view
from collector.incidents.commands import Cancel, Notify, Schedule
from collector.incidents.events import (
    Acknowledge,
    AddNote,
    Assign,
    MaintenanceSeen,
    PersonOpened,
    Resume,
    TimerDue,
    TimerKind,
    Wait,
)
from collector.incidents.model import Incident, IncidentState
from collector.incidents.plan import ResponsePlan, SlaTargets, Tier
from collector.incidents.transitions import (
    LifecyclePolicy,
    Outcome,
    Transition,
    TransitionRefusedError,
    transition,
)
from collector.response.directory import ResponseDirectory
from collector.response.model import response_from_document
from rules.priority import Priority

PLAN = ResponsePlan(
    policy="ops",
    tiers=(Tier(("schedule:t1",), 300.0), Tier(("schedule:t2",), 300.0)),
    sla=SlaTargets(ack=300.0, update=900.0, resolve=3600.0),
)
POLICY = LifecyclePolicy(plan_for=lambda _incident: PLAN)


def step(incident: Incident | None, event: object, at: float) -> Outcome:
    outcome = transition(incident, event, at, POLICY)  # type: ignore[arg-type]
    assert outcome is not None
    return replace(outcome, incident=replace(outcome.incident, id=1, number="INC-1"))


def acknowledged_p1() -> Incident:
    opened = step(None, PersonOpened("desk", "db down", Priority.P1), 0.0).incident
    return step(opened, Acknowledge("alice"), 60.0).incident


def schedules(outcome: Outcome, kind: TimerKind) -> list[tuple[str, float]]:
    return sorted(
        (c.tag, c.due_at) for c in outcome.commands if isinstance(c, Schedule) and c.kind is kind
    )


def test_waiting_pauses_resolve_and_update_and_resuming_gives_back_the_time_left() -> None:
    waited = step(acknowledged_p1(), Wait("alice", "asked for the logs"), 600.0)
    assert (waited.transition, waited.incident.state) == (Transition.WAIT, IncidentState.WAITING)
    plan = waited.incident.plan
    assert plan is not None and plan.held_by == ("waiting",)
    assert plan.paused == {"resolve": 3000.0, "update": 300.0}, "ack is met: it never pauses"
    assert Cancel(TimerKind.SLA, "resolve:breach") in waited.commands
    assert Cancel(TimerKind.UPDATE) in waited.commands
    assert Cancel(TimerKind.REMIND) in waited.commands
    assert not any(isinstance(c, Cancel) and c.tag == "ack:breach" for c in waited.commands)

    # Two hours on the customer: nothing is due meanwhile, and the time left stands still.
    resolve = next(v for v in sla_view(waited.incident, 7800.0) if v["clock"] == "resolve")
    assert (resolve["state"], resolve["seconds_left"]) == ("paused", 3000)
    assert transition(waited.incident, TimerDue(TimerKind.UPDATE), 900.0, POLICY) is None
    stale = TimerDue(TimerKind.SLA, "resolve:breach", {"level": "breach", "target": 3600.0})
    assert transition(waited.incident, stale, 3600.0, POLICY) is None

    resumed = step(waited.incident, Resume("alice", "logs arrived"), 7800.0)
    assert resumed.incident.state is IncidentState.ACKNOWLEDGED
    plan = resumed.incident.plan
    assert plan is not None and plan.paused == {} and plan.held_by == ()
    assert plan.clocks["resolve"][1] == 7800.0 + 3000.0
    assert schedules(resumed, TimerKind.SLA) == [
        ("resolve:50%", 7800.0 + 1200.0),  # 1800 s used before the wait; 50% is at 1800 s
        ("resolve:80%", 7800.0 + 2280.0),
        ("resolve:breach", 7800.0 + 3000.0),
    ]
    assert schedules(resumed, TimerKind.UPDATE) == [("", 8100.0)]
    assert plan.update_due == 8100.0
    resolve = next(v for v in sla_view(resumed.incident, 7800.0) if v["clock"] == "resolve")
    assert (resolve["state"], resolve["seconds_left"]) == ("ok", 3000)


def test_a_warning_level_passed_before_the_wait_is_not_sent_again() -> None:
    waited = step(acknowledged_p1(), Wait("alice"), 3000.0)  # 83% of resolve used
    resumed = step(waited.incident, Resume("alice"), 5000.0)
    assert schedules(resumed, TimerKind.SLA) == [("resolve:breach", 5600.0)]


def test_a_customer_note_ends_the_wait_and_a_staff_note_does_not() -> None:
    waited = step(acknowledged_p1(), Wait("alice"), 600.0).incident
    staff = step(waited, AddNote("alice", "still waiting"), 700.0)
    assert (staff.transition, staff.incident.state) == (Transition.NOTE, IncidentState.WAITING)
    answer = step(waited, AddNote("acme", "here are the logs", from_customer=True), 900.0)
    assert (answer.transition, answer.incident.state) == (
        Transition.RESUME,
        IncidentState.ACKNOWLEDGED,
    )
    assert "the customer answered: here are the logs" in answer.detail
    assert answer.incident.last_note == "here are the logs"


@pytest.mark.parametrize(
    "state", [IncidentState.TRIGGERED, IncidentState.RESOLVED], ids=["triggered", "resolved"]
)
def test_wait_is_refused_outside_acknowledged_naming_what_is_allowed(
    state: IncidentState,
) -> None:
    incident = replace(acknowledged_p1(), state=state)
    with pytest.raises(TransitionRefusedError) as refused:
        transition(incident, Wait("alice"), 700.0, POLICY)
    assert f"it is {state.value}" in refused.value.message
    assert "wait" not in refused.value.allowed
    with pytest.raises(TransitionRefusedError):
        transition(incident, Resume("alice"), 700.0, POLICY)


def test_maintenance_pauses_every_clock_until_the_window_ends() -> None:
    opened = step(None, PersonOpened("desk", "db down", Priority.P1), 0.0).incident
    paused = step(opened, MaintenanceSeen(5400.0, "#3 (ops: kernel update)"), 120.0)
    assert paused.transition is Transition.CLOCKS_PAUSED
    plan = paused.incident.plan
    assert plan is not None and plan.paused == {"ack": 180.0, "resolve": 3480.0, "update": 780.0}
    assert Schedule(TimerKind.MAINTENANCE, 5400.0) in paused.commands
    assert "#3 (ops: kernel update)" in paused.detail
    views = {v["clock"]: (v["state"], v["seconds_left"]) for v in sla_view(paused.incident, 5000)}
    assert views == {"ack": ("paused", 180), "resolve": ("paused", 3480)}

    resumed = step(paused.incident, MaintenanceSeen(None), 5400.0)
    assert resumed.transition is Transition.CLOCKS_RESUMED
    assert resumed.incident.plan is not None
    assert resumed.incident.plan.clocks["ack"][1] == 5400.0 + 180.0
    assert ("ack:breach", 5580.0) in schedules(resumed, TimerKind.SLA)
    assert transition(resumed.incident, MaintenanceSeen(None), 5500.0, POLICY) is None


def test_waiting_inside_maintenance_keeps_the_clocks_paused_until_both_are_over() -> None:
    acked = acknowledged_p1()
    in_window = step(acked, MaintenanceSeen(4000.0, "#1"), 600.0).incident
    waiting = step(in_window, Wait("alice"), 700.0)
    assert not any(isinstance(c, Schedule | Cancel) for c in waiting.commands), "already paused"
    over = step(waiting.incident, MaintenanceSeen(None), 4000.0)
    assert over.incident.plan is not None and set(over.incident.plan.paused) == {
        "resolve",
        "update",
    }, "still waiting on the customer"
    resumed = step(over.incident, Resume("alice"), 5000.0)
    assert resumed.incident.plan is not None
    assert resumed.incident.plan.clocks["resolve"][1] == 5000.0 + 3000.0


def test_an_acknowledgement_during_maintenance_counts_as_met() -> None:
    opened = step(None, PersonOpened("desk", "db down", Priority.P1), 0.0).incident
    paused = step(opened, MaintenanceSeen(9000.0, "#1"), 100.0).incident
    acked = step(paused, Acknowledge("alice"), 8000.0).incident  # long after the old due
    resumed = step(acked, MaintenanceSeen(None), 9000.0)
    ack = next(v for v in sla_view(resumed.incident, 9000.0) if v["clock"] == "ack")
    assert ack["state"] == "met"
    assert not any(c.tag.startswith("ack") for c in resumed.commands if isinstance(c, Schedule))


def test_the_responder_is_reminded_before_an_update_when_no_note_was_written() -> None:
    acked = acknowledged_p1()
    assert acked.plan is not None and acked.plan.update_due == 900.0
    assigned = step(acked, Assign("alice", "bob"), 100.0).incident
    reminded = step(assigned, TimerDue(TimerKind.REMIND), 600.0)
    assert reminded.transition is Transition.UPDATE_REMINDER
    [notice] = [c for c in reminded.commands if isinstance(c, Notify)]
    assert (notice.event, notice.person, notice.step) == ("update_reminder", "bob", 0)
    assert "due in 5m" in reminded.detail

    noted = step(assigned, AddNote("bob", "failing over to the replica"), 500.0).incident
    assert transition(noted, TimerDue(TimerKind.REMIND), 600.0, POLICY) is None, "the note is due"


def test_each_update_arms_the_next_reminder_at_the_configured_lead() -> None:
    plan = replace(PLAN, sla=replace(PLAN.sla, remind_before=120.0))
    policy = replace(POLICY, plan_for=lambda _incident: plan)
    opened = transition(None, PersonOpened("desk", "down", Priority.P2), 0.0, policy)
    assert opened is not None and Schedule(TimerKind.REMIND, 780.0) in opened.commands
    update = transition(opened.incident, TimerDue(TimerKind.UPDATE), 900.0, policy)
    assert update is not None and update.transition is Transition.UPDATE_MISSED
    assert Schedule(TimerKind.REMIND, 1680.0) in update.commands
    assert update.incident.plan is not None and update.incident.plan.update_due == 1800.0


def test_a_business_hours_clock_keeps_its_business_time_left_across_a_weekend() -> None:
    office = """\
sla: {calendar: office}
calendars:
  office: {timezone: UTC, hours: {mon: "09:00-18:00", tue: "09:00-18:00", wed: "09:00-18:00",
                                  thu: "09:00-18:00", fri: "09:00-18:00"}}
"""
    directory = ResponseDirectory(response_from_document(parse_yaml(office, "response.yaml")))
    policy = LifecyclePolicy(
        plan_for=directory.plan_for, deadline=directory.deadline, elapsed=directory.elapsed
    )
    wednesday_0900 = 1_799_226_000.0  # 2027-01-06 09:00 UTC
    hour = 3600.0
    opened = transition(
        None, PersonOpened("desk", "report job", Priority.P3), wednesday_0900, policy
    )
    assert opened is not None
    acked = transition(opened.incident, Acknowledge("alice"), wednesday_0900 + 300, policy)
    assert acked is not None
    # One business day is 9 working hours: waiting from Wednesday 12:00 leaves 6 of them.
    waited = transition(acked.incident, Wait("alice"), wednesday_0900 + 3 * hour, policy)
    assert waited is not None and waited.incident.plan is not None
    assert waited.incident.plan.paused["resolve"] == 6 * hour
    monday_1000 = wednesday_0900 + 5 * 24 * hour + hour  # 2027-01-11 10:00 UTC
    resumed = transition(waited.incident, Resume("alice"), monday_1000, policy)
    assert resumed is not None and resumed.incident.plan is not None
    assert resumed.incident.plan.clocks["resolve"][1] == monday_1000 + 6 * hour

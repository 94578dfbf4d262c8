"""The lifecycle as a table: every (state, event) pair, allowed or refused, and its commands."""

from __future__ import annotations

from dataclasses import replace

import pytest

from collector.incidents.commands import Cancel, Notify, Schedule, WithdrawPages
from collector.incidents.events import (
    Acknowledge,
    AddNote,
    Assign,
    Close,
    Event,
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
from collector.incidents.model import Incident, IncidentState, Source
from collector.incidents.transitions import (
    LifecyclePolicy,
    Transition,
    TransitionRefusedError,
    allowed_actions,
    transition,
)
from rules.priority import Priority

S = IncidentState
NOW = 1000.0
POLICY = LifecyclePolicy(
    reopen_window=3600.0, verify_timeout=7200.0, renotify_after={Priority.P2: 600.0}
)

FIRED = RuleFired("k", "DiskFull", "web1", {"mount": "/"}, Priority.P2, "full", "", 0.97, "x")
CLEARED = RuleCleared("k", 0.5, "recovered")
ACTIONS: dict[str, Event] = {
    "ack": Acknowledge("alice"),
    "assign": Assign("alice", "bob"),
    "note": AddNote("alice", "looking"),
    "regrade": Regrade("alice", Priority.P1, "customer down"),
    "resolve": Resolve("alice", "fixed"),
    "reopen": Reopen("alice", "back"),
    "verify": RequestVerification("alice"),
    "close": Close("alice", has_root_cause=True),
    "wait": Wait("alice", "asked the customer for the serial number"),
    "resume": Resume("alice"),
    "eta": SetEta("alice", "a new disk arrives by courier", after=7200.0),
}

# (state, action) -> (transition, new state); pairs not listed are refused.
ALLOWED = {
    (S.TRIGGERED, "ack"): (Transition.ACK, S.ACKNOWLEDGED),
    (S.TRIGGERED, "assign"): (Transition.ASSIGN, S.TRIGGERED),
    (S.TRIGGERED, "note"): (Transition.NOTE, S.TRIGGERED),
    (S.TRIGGERED, "regrade"): (Transition.REGRADE, S.TRIGGERED),
    (S.TRIGGERED, "resolve"): (Transition.RESOLVE, S.RESOLVED),
    (S.TRIGGERED, "eta"): (Transition.ETA, S.TRIGGERED),
    (S.ACKNOWLEDGED, "assign"): (Transition.ASSIGN, S.ACKNOWLEDGED),
    (S.ACKNOWLEDGED, "note"): (Transition.NOTE, S.ACKNOWLEDGED),
    (S.ACKNOWLEDGED, "regrade"): (Transition.REGRADE, S.ACKNOWLEDGED),
    (S.ACKNOWLEDGED, "resolve"): (Transition.RESOLVE, S.RESOLVED),
    (S.ACKNOWLEDGED, "wait"): (Transition.WAIT, S.WAITING),
    (S.ACKNOWLEDGED, "eta"): (Transition.ETA, S.ACKNOWLEDGED),
    (S.WAITING, "assign"): (Transition.ASSIGN, S.WAITING),
    (S.WAITING, "note"): (Transition.NOTE, S.WAITING),
    (S.WAITING, "regrade"): (Transition.REGRADE, S.WAITING),
    (S.WAITING, "resolve"): (Transition.RESOLVE, S.RESOLVED),
    (S.WAITING, "resume"): (Transition.RESUME, S.ACKNOWLEDGED),
    (S.WAITING, "eta"): (Transition.ETA, S.WAITING),
    (S.RESOLVED, "assign"): (Transition.ASSIGN, S.RESOLVED),
    (S.RESOLVED, "note"): (Transition.NOTE, S.RESOLVED),
    (S.RESOLVED, "reopen"): (Transition.REOPEN, S.TRIGGERED),
    (S.RESOLVED, "verify"): (Transition.VERIFY, S.VERIFYING),
    (S.RESOLVED, "close"): (Transition.CLOSE, S.CLOSED),
    (S.VERIFYING, "assign"): (Transition.ASSIGN, S.VERIFYING),
    (S.VERIFYING, "note"): (Transition.NOTE, S.VERIFYING),
    (S.VERIFYING, "reopen"): (Transition.REOPEN, S.TRIGGERED),
    (S.VERIFYING, "close"): (Transition.CLOSE, S.CLOSED),
    (S.CLOSED, "note"): (Transition.NOTE, S.CLOSED),
}


def incident(state: IncidentState, **changes: object) -> Incident:
    base = Incident(
        source=Source.RULE,
        priority=Priority.P2,
        state=state,
        summary="full",
        opened_at=0.0,
        updated_at=0.0,
        key="k",
        rule="DiskFull",
        host="web1",
        id=1,
        number="INC-2026-000001",
        resolved_at=500.0 if state in (S.RESOLVED, S.VERIFYING, S.CLOSED) else None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


PAIRS = [(state, action) for state in S for action in ACTIONS]


@pytest.mark.parametrize(("state", "action"), PAIRS, ids=[f"{s.value}-{a}" for s, a in PAIRS])
def test_every_person_action_in_every_state(state: IncidentState, action: str) -> None:
    before = incident(state)
    expected = ALLOWED.get((state, action))
    if expected is None:
        with pytest.raises(TransitionRefusedError) as refused:
            transition(before, ACTIONS[action], NOW, POLICY)
        assert refused.value.state is state
        assert f"it is {state.value}" in refused.value.message
        assert refused.value.allowed == allowed_actions(state)
        return
    outcome = transition(before, ACTIONS[action], NOW, POLICY)
    assert outcome is not None
    assert (outcome.transition, outcome.incident.state) == expected
    assert outcome.actor == "alice" and outcome.incident.updated_at == NOW


def test_the_table_covers_every_allowed_action() -> None:
    for state in S:
        listed = sorted(a for s, a in ALLOWED if s is state)
        assert listed == sorted(allowed_actions(state)), state


@pytest.mark.parametrize("state", list(S), ids=[s.value for s in S])
def test_rule_fired_in_every_state(state: IncidentState) -> None:
    outcome = transition(incident(state), FIRED, NOW, POLICY)
    if state.active:
        assert outcome is None, "the same breach again: one incident, no second message"
    elif state in (S.RESOLVED, S.VERIFYING):
        assert outcome is not None and outcome.transition is Transition.REOPEN
        assert outcome.incident.state is S.TRIGGERED and outcome.incident.reopen_count == 1
        assert Notify("reopened") in outcome.commands
        assert Cancel(TimerKind.AUTO_CLOSE) in outcome.commands
        assert Schedule(TimerKind.RENOTIFY, NOW + 600.0) in outcome.commands
    else:  # closed is final: the same condition later is a new ticket
        assert outcome is not None and outcome.transition is Transition.OPEN
        assert outcome.incident.id is None and outcome.incident.number == ""


def test_rule_fired_without_an_incident_opens_one() -> None:
    outcome = transition(None, FIRED, NOW, POLICY)
    assert outcome is not None and outcome.transition is Transition.OPEN
    opened = outcome.incident
    assert (opened.state, opened.key, opened.source, opened.hosts) == (
        S.TRIGGERED,
        "k",
        Source.RULE,
        ("web1",),
    )
    assert outcome.commands == (Notify("opened"), Schedule(TimerKind.RENOTIFY, NOW + 600.0))


@pytest.mark.parametrize("state", list(S), ids=[s.value for s in S])
def test_rule_cleared_in_every_state(state: IncidentState) -> None:
    outcome = transition(incident(state), CLEARED, NOW, POLICY)
    if not state.active:
        assert outcome is None
        return
    assert outcome is not None and outcome.transition is Transition.RESOLVE
    assert outcome.incident.value == 0.5, "the value at resolution"
    assert outcome.commands == (
        Cancel(TimerKind.RENOTIFY),
        Cancel(TimerKind.ESCALATE),
        Cancel(TimerKind.SLA),
        Cancel(TimerKind.UPDATE),
        Cancel(TimerKind.REMIND),
        Cancel(TimerKind.MAINTENANCE),
        WithdrawPages(),
        Notify("resolved"),
        Schedule(TimerKind.AUTO_CLOSE, NOW + 3600.0),
    )


def test_rule_cleared_without_auto_resolve_leaves_it_to_a_person() -> None:
    outcome = transition(incident(S.TRIGGERED, auto_resolve=False), CLEARED, NOW, POLICY)
    assert outcome is not None and outcome.transition is Transition.CLEAR
    assert outcome.incident.state is S.TRIGGERED and outcome.commands == ()


def test_event_rule_firing_again_is_recorded_on_the_same_ticket() -> None:
    outcome = transition(incident(S.ACKNOWLEDGED, auto_resolve=False), FIRED, NOW, POLICY)
    assert outcome is not None and outcome.transition is Transition.RECUR
    assert outcome.incident.state is S.ACKNOWLEDGED and outcome.commands == ()


@pytest.mark.parametrize("state", list(S), ids=[s.value for s in S])
def test_timers_in_every_state(state: IncidentState) -> None:
    renotify = transition(incident(state), TimerDue(TimerKind.RENOTIFY), NOW, POLICY)
    if state is S.TRIGGERED:
        assert renotify is not None and renotify.transition is Transition.RENOTIFY
        assert renotify.commands == (
            Notify("renotify"),
            Schedule(TimerKind.RENOTIFY, NOW + 600.0),
        )
    else:
        assert renotify is None, "acknowledged or over: a stale reminder does nothing"
    close = transition(incident(state), TimerDue(TimerKind.AUTO_CLOSE), NOW, POLICY)
    if state in (S.RESOLVED, S.VERIFYING):
        assert close is not None and close.transition is Transition.CLOSE
        assert close.incident.state is S.CLOSED and close.actor == "system"
    else:
        assert close is None


def test_ack_stops_renotification_and_resolve_schedules_auto_close() -> None:
    acked = transition(incident(S.TRIGGERED), ACTIONS["ack"], NOW, POLICY)
    assert acked is not None and acked.commands == (
        Cancel(TimerKind.RENOTIFY),
        Cancel(TimerKind.ESCALATE),
        Cancel(TimerKind.SLA, "ack"),
        WithdrawPages(),
    )
    assert acked.incident.acknowledged_by == "alice" and acked.incident.acknowledged_at == NOW
    verify = transition(incident(S.RESOLVED), ACTIONS["verify"], NOW, POLICY)
    assert verify is not None
    assert Schedule(TimerKind.AUTO_CLOSE, NOW + 7200.0) in verify.commands


def test_regrade_to_a_more_urgent_priority_tells_people_and_same_priority_is_refused() -> None:
    raised = transition(incident(S.TRIGGERED), ACTIONS["regrade"], NOW, POLICY)
    assert raised is not None and Notify("regraded") in raised.commands
    assert raised.incident.priority is Priority.P1 and "P2 -> P1" in raised.detail
    lowered = transition(incident(S.TRIGGERED), Regrade("alice", Priority.P4, "noise"), NOW, POLICY)
    assert lowered is not None and Notify("regraded") not in lowered.commands
    with pytest.raises(TransitionRefusedError, match="already P2"):
        transition(incident(S.TRIGGERED), Regrade("alice", Priority.P2, "same"), NOW, POLICY)


def test_person_opened_incident() -> None:
    event = PersonOpened("alice", "Payroll down", Priority.P1, "since 9:00", ("web1", "web2"))
    outcome = transition(None, event, NOW, POLICY)
    assert outcome is not None and outcome.transition is Transition.OPEN
    opened = outcome.incident
    assert (opened.source, opened.host, opened.hosts, opened.reporter) == (
        Source.PERSON,
        "web1",
        ("web1", "web2"),
        "alice",
    )
    assert opened.auto_resolve is False and opened.key is None
    assert outcome.commands == (Notify("opened"),), "no P1 renotify configured in POLICY"


def test_an_eta_is_set_moved_cleared_and_forgotten_on_reopening() -> None:
    before = incident(S.ACKNOWLEDGED)
    set_ = transition(before, SetEta("alice", "disk on its way", at=NOW + 3600), NOW, POLICY)
    assert set_ is not None and set_.transition is Transition.ETA
    assert (set_.incident.eta_at, set_.incident.eta_reason) == (NOW + 3600, "disk on its way")
    assert set_.detail.startswith("expected resolution set to ") and set_.commands == ()
    moved = transition(set_.incident, SetEta("bob", "courier late", after=7200), NOW, POLICY)
    assert moved is not None and moved.incident.eta_at == NOW + 7200
    assert "moved" in moved.detail and moved.actor == "bob"
    cleared = transition(moved.incident, SetEta("bob", "vendor unsure"), NOW, POLICY)
    assert cleared is not None and cleared.incident.eta_at is None
    assert cleared.detail == "expected resolution time cleared: vendor unsure"
    resolved = transition(moved.incident, Resolve("bob"), NOW, POLICY)
    assert resolved is not None
    reopened = transition(resolved.incident, Reopen("carol", "back"), NOW + 1, POLICY)
    assert reopened is not None and reopened.incident.eta_at is None


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (SetEta("alice", "late", at=NOW - 1), "is not in the future"),
        (SetEta("alice", "", after=600), "needs a reason"),
        (SetEta("alice", "far", after=400 * 86400), "over a year away"),
        (SetEta("alice", "nothing to clear"), "no expected resolution time to clear"),
    ],
    ids=["past", "no-reason", "too-far", "clear-none"],
)
def test_an_eta_that_cannot_be_right_is_refused(event: SetEta, words: str) -> None:
    with pytest.raises(TransitionRefusedError, match=words):
        transition(incident(S.TRIGGERED), event, NOW, POLICY)

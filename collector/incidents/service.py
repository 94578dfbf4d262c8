"""The incident unit of work: one transaction writes the incident, its timeline entry, its
outbox rows and its timers together — or nothing at all.

Callers hand in events (a rule fired or cleared, a person acted, a timer came due); the pure
`transition` decides; this module only loads, stores and enqueues.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, Engine

from collector.incidents.commands import Cancel, Notify, Schedule, WithdrawPages
from collector.incidents.events import (
    Close,
    MaintenanceSeen,
    PersonAction,
    PersonOpened,
    RuleCleared,
    RuleFired,
    TimerDue,
    TimerKind,
)
from collector.incidents.maintenance import maintenance_seen, windows_in_force
from collector.incidents.model import Incident
from collector.incidents.plan import Tier
from collector.incidents.transitions import LifecyclePolicy, Outcome, Transition, transition
from collector.knowledge.kb import entry_from
from collector.noise.inhibition import Kinds, held_by, hold, settle_kind, stronger
from collector.noise.silences import Silence, silencing
from collector.notify.message import Language, compose_notification, format_time, sms_text
from collector.store import incidents as rows
from collector.store import knowledge, timers
from collector.store.outbox import enqueue, enqueue_once, withdraw
from collector.store.silences import in_force
from rules.priority import Priority

log = logging.getLogger(__name__)

Clock = Callable[[], float]
TransitionHook = Callable[[Incident, Transition], None]
CustomerRows = Callable[[Incident, str, str, float], list[dict[str, Any]]]


STORM_EVENTS = ("opened", "resolved")  # a rule's messages that many hosts may send at once


class IncidentNotFoundError(LookupError):
    """No incident has that id or ticket number."""


@dataclass(frozen=True)
class Audience:
    """A channel messages go to: its description (outbox key) and lowest priority it takes."""

    channel: str
    min_priority: Priority | None = None

    def accepts(self, priority: Priority) -> bool:
        """Whether a message of `priority` is urgent enough for this channel."""
        return self.min_priority is None or priority.rank <= self.min_priority.rank


@dataclass(frozen=True)
class Recipient:
    """Where one message goes: an outbox channel key, after `delay` seconds, in `language`.

    Configured channels are told at once; a person's contact methods may wait (louder over
    time: SMS now, a call after 5 minutes without acknowledgement), and an acknowledgement
    withdraws the pages still waiting.
    """

    channel: str
    delay: float
    language: Language
    person: str = ""
    sms: bool = False  # one text message: the title alone, sized to one SMS


# (tier, incident, now) -> the people's contact methods to page for that tier.
Directory = Callable[[Tier, Incident, float], list[Recipient]]


@dataclass(frozen=True)
class IncidentSettings:
    """How incidents are numbered, told and timed."""

    number_prefix: str = "INC"
    language: Language = "en"
    console_url: str | None = None
    policy: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    # Rules that say a whole host is gone (its agent silent): while one is active on a host,
    # that host's other incidents are recorded but not told.
    host_level_rules: frozenset[str] = frozenset()
    # Rules sharing a `kind`: an active incident holds back its kind's less urgent ones.
    kinds: Kinds = field(default_factory=Kinds)
    # Storm grouping: a rule's open/resolve messages wait this long so that those of many
    # hosts go out as one; a P1 never waits longer than group_wait_p1.
    group_wait: float = 0.0
    group_wait_p1: float = 10.0


class IncidentService:
    """Applies events to stored incidents, one transaction per event."""

    def __init__(
        self,
        engine: Engine,
        audience: Sequence[Audience],
        settings: IncidentSettings,
        clock: Clock,
        on_commit: Callable[[], None] = lambda: None,
        on_transition: TransitionHook | None = None,
        directory: Directory | None = None,
    ) -> None:
        self._engine = engine
        self._directory = directory
        self._audience = list(audience)
        self._settings = settings
        self._clock = clock
        self._on_commit = on_commit
        self.on_transition = on_transition
        # (incident, event, text, now) -> outbox rows for the customer's contacts.
        self.customer_rows: CustomerRows | None = None
        # The maintenance windows in force at the last look: a change makes the next timer
        # run check every open incident (empty after a restart, so it checks once then).
        self._windows_seen: frozenset[tuple[int | None, float]] = frozenset()

    @property
    def policy(self) -> LifecyclePolicy:
        """The lifecycle settings."""
        return self._settings.policy

    def apply_rule(self, event: RuleFired | RuleCleared) -> Incident | None:
        """Store what a rule's signal changes; raises if the database refuses (caller reverts)."""
        now = self._clock()
        with self._engine.begin() as conn:
            current = rows.active_by_key(conn, event.key)
            if current is None and isinstance(event, RuleFired):
                since = now - self.policy.reopen_window
                current = rows.reopenable_by_key(conn, event.key, since)
            outcome = transition(current, event, now, self.policy)
            stored = self._record(conn, outcome, now) if outcome else None
        self._after(outcome, stored)
        return stored

    def open(self, event: PersonOpened) -> Incident:
        """Open an incident for a person; returns it with its ticket number."""
        now = self._clock()
        with self._engine.begin() as conn:
            outcome = transition(None, event, now, self.policy)
            assert outcome is not None
            stored = self._record(conn, outcome, now)
        self._after(outcome, stored)
        return stored

    def act(self, reference: str | int, action: PersonAction) -> Incident:
        """Apply a person's action to the incident with that id or number.

        Raises IncidentNotFoundError, or TransitionRefusedError naming the state and what it
        allows.
        """
        now = self._clock()
        with self._engine.begin() as conn:
            current = rows.by_reference(conn, reference, lock=True)
            if current is None:
                raise IncidentNotFoundError(f"no incident {reference}")
            if isinstance(action, Close) and current.id is not None:
                action = replace(action, has_root_cause=knowledge.has_root_cause(conn, current.id))
            outcome = transition(current, action, now, self.policy)
            assert outcome is not None  # person actions always change something or raise
            stored = self._record(conn, outcome, now)
        self._after(outcome, stored)
        return stored

    def run_due_timers(self, limit: int = 100) -> int:
        """Do the due timers (re-notify, auto-close) in one transaction; returns how many."""
        now = self._clock()
        done: list[tuple[Outcome, Incident]] = []
        with self._engine.begin() as conn:
            due = timers.claim_due(conn, now, limit)
            for timer in due:
                timers.finish(conn, timer.id, now)
                if timer.incident_id is None:
                    continue
                current = rows.by_reference(conn, timer.incident_id, lock=True)
                event: TimerDue | MaintenanceSeen = TimerDue(
                    timer.kind, timer.tag, dict(timer.data)
                )
                if timer.kind is TimerKind.MAINTENANCE and current is not None:
                    event = maintenance_seen(in_force(conn, now), current, now)
                outcome = transition(current, event, now, self.policy)
                if outcome is not None:
                    done.append((outcome, self._record(conn, outcome, now)))
        for outcome, stored in done:
            self._after(outcome, stored)
        # After the timers: an update due as a window starts goes out, then the next one waits.
        self.check_maintenance()
        return len(due)

    def check_maintenance(self) -> int:
        """When the maintenance windows in force changed: pause the SLA clocks of the open
        incidents a window now covers, resume those no window covers any more (one ended or
        was expired early); returns how many changed. A timer at a window's end resumes its
        incidents too, so a collector that was down then still resumes them."""
        now = self._clock()
        with self._engine.connect() as conn:
            windows = in_force(conn, now)
        seen = windows_in_force(windows, now)
        if seen == self._windows_seen:
            return 0
        changed: list[tuple[Outcome, Incident]] = []
        with self._engine.begin() as conn:
            for incident_id in rows.active_ids(conn):
                current = rows.by_reference(conn, incident_id, lock=True)
                if current is None or current.plan is None:
                    continue
                event = maintenance_seen(windows, current, now)
                if ("maintenance" in current.plan.held_by) == (event.until is not None):
                    continue  # as it should be: no timeline entry
                outcome = transition(current, event, now, self.policy)
                if outcome is not None:
                    changed.append((outcome, self._record(conn, outcome, now)))
        self._windows_seen = seen
        for outcome, stored in changed:
            self._after(outcome, stored)
        return len(changed)

    def _record(self, conn: Connection, outcome: Outcome, now: float) -> Incident:
        incident = outcome.incident
        if incident.id is None:
            number = rows.next_number(conn, self._settings.number_prefix, now)
            stored = rows.insert_incident(conn, incident, number)
        else:
            stored = rows.update_incident(conn, incident)
        assert stored.id is not None
        data: dict[str, Any] = {"state": stored.state.value, "priority": stored.priority.value}
        rows.append_timeline(
            conn,
            stored.id,
            now,
            "transition",
            outcome.transition.value,
            outcome.actor,
            outcome.detail,
            data,
        )
        # Timers first, messages last: a silence that holds a message may move timers too.
        notices = [c for c in outcome.commands if isinstance(c, Notify)]
        for command in outcome.commands:
            if isinstance(command, Schedule):
                timers.schedule(
                    conn, command.kind, stored.id, command.due_at, now, command.tag, command.data
                )
            elif isinstance(command, Cancel):
                timers.cancel(conn, command.kind, stored.id, now, command.tag)
            elif isinstance(command, WithdrawPages):
                withdraw(conn, stored.id, now)
        held = in_force(conn, now) if notices else []
        blocker = self._blocker(conn, stored) if notices else None
        for notice in notices:
            found = silencing(held, stored.match_labels(), now)
            if found is not None:
                self._hold(conn, stored, notice, found, now)
            elif blocker is not None:
                self._inhibit(conn, stored, notice, blocker, now)
            else:
                enqueue(conn, self._messages(stored, notice, now), now)
                self._tell_customer(conn, stored, notice.event, notice.text, now)
        self._ask_customer(conn, outcome, stored, now)
        if stored.rule in self._settings.host_level_rules and not stored.active:
            timers.release_held(conn, stored.host, now)  # the host is back: tell the rest
        settle_kind(conn, stored, self._settings.kinds, now)
        if outcome.transition is Transition.CLOSE:
            learn(conn, stored, now)
        return self._in_maintenance(conn, outcome, stored, now)

    def _tell_customer(
        self, conn: Connection, incident: Incident, event: str, text: str, now: float
    ) -> None:
        """The customer's contacts' share of a message (their ticket number, updates, the
        resolution, the verification request), when customer messages are configured."""
        if self.customer_rows is not None:
            enqueue_once(conn, self.customer_rows(incident, event, text, now), now)

    def _ask_customer(
        self, conn: Connection, outcome: Outcome, incident: Incident, now: float
    ) -> None:
        """A verification request, and a new expected resolution time, go to the customer's
        contacts (responders need neither)."""
        if outcome.transition is Transition.VERIFY:
            self._tell_customer(conn, incident, "verification", "", now)
        elif outcome.transition is Transition.ETA:
            self._tell_customer(conn, incident, "eta", incident.eta_reason or "", now)

    def _in_maintenance(
        self, conn: Connection, outcome: Outcome, stored: Incident, now: float
    ) -> Incident:
        """(Re)opened inside a maintenance window: its clocks start paused."""
        if outcome.transition not in (Transition.OPEN, Transition.REOPEN) or stored.plan is None:
            return stored
        seen = maintenance_seen(in_force(conn, now), stored, now)
        follow = transition(stored, seen, now, self.policy) if seen.until else None
        return stored if follow is None else self._record(conn, follow, now)

    def _blocker(self, conn: Connection, incident: Incident) -> Incident | None:
        """The stronger fact its messages wait for: its host is down, or a more urgent
        incident of its kind is open on the host."""
        return self._host_down(conn, incident) or stronger(conn, incident, self._settings.kinds)

    def _host_down(self, conn: Connection, incident: Incident) -> Incident | None:
        rules = self._settings.host_level_rules
        if not rules or not incident.host or incident.rule in rules:
            return None
        return rows.active_host_level(conn, incident.host, rules)

    def _inhibit(
        self, conn: Connection, incident: Incident, command: Notify, blocker: Incident, now: float
    ) -> None:
        """Hold a message while the host is down (told when it is back) or while a stronger
        incident of its kind is open (told when that one ends)."""
        host_down = blocker.rule in self._settings.host_level_rules
        tag = timers.HELD_TAG if host_down else held_by(blocker)
        hold(conn, incident, blocker, command.event, tag, now)

    def _hold(
        self,
        conn: Connection,
        incident: Incident,
        command: Notify,
        found: tuple[Silence, float],
        now: float,
    ) -> None:
        """Record the message a silence holds back, and tell it when the silence ends."""
        silence, until = found
        assert incident.id is not None
        detail = (
            f"{command.event} held back by {silence.kind} #{silence.id} "
            f"({silence.author}: {silence.reason}) until {format_time(until)}"
        )
        rows.append_timeline(
            conn, incident.id, now, "transition", "SILENCED", "system", detail,
            {"silence": silence.id, "event": command.event, "until": until},
        )  # fmt: skip
        timers.schedule(conn, TimerKind.UNSILENCE, incident.id, until, now)
        # Reminders wait too: the end of the silence tells, and restarts them.
        timers.cancel(conn, TimerKind.RENOTIFY, incident.id, now)

    def _messages(self, incident: Incident, command: Notify, now: float) -> list[dict[str, Any]]:
        return [
            _outbox_row(incident, command, recipient, self._settings, now)
            for recipient in self._recipients(incident, command, now)
        ]

    def _recipients(self, incident: Incident, command: Notify, now: float) -> list[Recipient]:
        found = self._everyone(incident, command, now)
        if command.event != "update_reminder" or not found:
            return found
        # A reminder is no page: each person's first methods, at once (no call 5 min later).
        first: dict[str, float] = {}
        for recipient in found:
            first[recipient.person] = min(
                first.get(recipient.person, recipient.delay), recipient.delay
            )
        return [replace(r, delay=0.0) for r in found if r.delay == first[r.person]]

    def _everyone(self, incident: Incident, command: Notify, now: float) -> list[Recipient]:
        if command.person and self._directory is not None:
            found = self._person(command.person, incident, now)
            if found:
                return found  # else whoever the escalation step pages
        if command.step is None:
            return [
                Recipient(a.channel, 0.0, self._settings.language)
                for a in self._audience
                if a.accepts(incident.priority)
            ]
        tier = incident.plan.tier_of_step(command.step) if incident.plan else None
        if tier is None or self._directory is None:
            return []
        return self._directory(tier, incident, now)

    def _person(self, person: str, incident: Incident, now: float) -> list[Recipient]:
        """One person's contact methods, if the directory knows them (an actor may also be a
        token or a user who is no person of the response file)."""
        assert self._directory is not None
        try:
            # A tier of that one person (its timeout is never used: nothing escalates from it).
            return self._directory(Tier((f"person:{person}",), 60.0), incident, now)
        except ValueError:
            return []

    def _after(self, outcome: Outcome | None, stored: Incident | None) -> None:
        if outcome is None or stored is None:
            return
        log.info(
            "%s %s %s %s %s: %s",
            outcome.transition.value,
            stored.number,
            stored.priority.value,
            stored.rule or "manual",
            stored.host or "-",
            outcome.detail or stored.summary,
        )
        if any(isinstance(c, Notify) for c in outcome.commands):
            self._on_commit()
        if self.on_transition is not None:
            self.on_transition(stored, outcome.transition)


def learn(conn: Connection, incident: Incident, now: float) -> None:
    """A closed incident's cause and fix become (or refresh) its knowledge-base entry."""
    assert incident.id is not None
    root_cause = knowledge.root_cause_of(conn, incident.id)
    if root_cause is not None:
        knowledge.save_entry(conn, entry_from(incident, root_cause, now))


def _outbox_row(
    incident: Incident,
    command: Notify,
    recipient: Recipient,
    settings: IncidentSettings,
    now: float,
) -> dict[str, Any]:
    message = compose_notification(
        incident,
        command.event,
        recipient.language,
        settings.console_url,
        channel=recipient.channel,
        now=now,
        text=command.text,
    )
    body = message.body
    if recipient.sms:
        body = sms_text(message.title, recipient.language)
    payload = {
        "title": message.title,
        "body": body,
        "event": message.event,
        "priority": message.priority.value,
        "number": message.number,
        "host": message.host,
        "rule": message.rule,
        "summary": message.summary,
        "labels": message.labels,
        "value": message.value,
        "time": message.time,
        "incident_key": message.incident_key,
        "message_id": message.message_id,
        "in_reply_to": message.in_reply_to,
        "person": recipient.person,
    }
    grouped = bool(incident.rule) and command.step is None and command.event in STORM_EVENTS
    wait = 0.0
    if grouped:
        cap = settings.group_wait_p1 if incident.priority is Priority.P1 else settings.group_wait
        wait = min(settings.group_wait, cap)
    return {
        "idempotency_key": message.idempotency_key,
        "incident_id": incident.id,
        "channel": recipient.channel,
        "event": command.event,
        "payload": payload,
        "due_at": now + recipient.delay + wait,
        "group_key": f"{incident.rule}:{command.event}" if grouped else None,
    }

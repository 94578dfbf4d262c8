"""The reminder before a progress update, on both databases: the assigned responder is told
by their own contact methods 5 minutes before the update is due when no note was written,
exactly once across a restart (a timer row), and not at all when a note was written."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import select

from agent.configfile import parse_yaml
from collector.incidents.events import Acknowledge, AddNote, Assign, PersonOpened
from collector.incidents.service import IncidentService, IncidentSettings
from collector.incidents.transitions import LifecyclePolicy
from collector.response.directory import ResponseDirectory
from collector.response.model import response_from_document
from collector.store.schema import outbox
from rules.priority import Priority
from tests.collector.harness import FakeClock

RESPONSE = """\
people:
  - id: alice
    name: Alice
    contacts: {mail: {kind: email, url: "mailto://alerts@mail.example?to=alice@example.com"}}
  - id: bob
    name: Bob
    language: zh
    contacts:
      chat: {kind: chat, url: "json://chat.example/bob"}
      phone: {kind: phone, url: "+15550100"}
    notification_rules:
      - methods: [chat]
      - {methods: [phone], after: 5m}   # a page calls later; a reminder never does
policies:
  - id: ops
    tiers: [{targets: [{person: alice}], timeout: 5m}]
"""


def service(engine: sa.Engine, clock: FakeClock) -> IncidentService:
    """A collector's incident service; a new one over the same database is a restart."""
    config = response_from_document(parse_yaml(RESPONSE, "response.yaml"))
    directory = ResponseDirectory(config)
    policy = LifecyclePolicy(
        plan_for=directory.plan_for, deadline=directory.deadline, elapsed=directory.elapsed
    )
    settings = IncidentSettings(policy=policy)
    return IncidentService(engine, [], settings, clock, directory=directory.recipients)


def reminders(engine: sa.Engine) -> list[tuple[str, str]]:
    query = select(outbox.c.channel, outbox.c.payload).where(outbox.c.event == "update_reminder")
    with engine.connect() as conn:
        return [(row.channel, row.payload["title"]) for row in conn.execute(query)]


def test_the_assignee_is_reminded_once_across_a_restart(engine: sa.Engine) -> None:
    clock = FakeClock(1_800_000_000.0)
    first = service(engine, clock)
    p1 = first.open(PersonOpened("desk", "payments down", Priority.P1))
    first.act(p1.number, Acknowledge("alice"))
    first.act(p1.number, Assign("alice", "bob"))
    clock.advance(599)
    first.run_due_timers()
    assert reminders(engine) == [], "not before 5 minutes ahead of the 15-minute update"
    clock.advance(1)
    # The collector stops before its timer loop runs; another one (or the restart) takes over.
    restarted = service(engine, clock)
    restarted.run_due_timers()
    [(channel, title)] = reminders(engine)
    assert channel == "person:bob/chat" and "请更新进展" in title, "Bob, in his language"
    restarted.run_due_timers()
    service(engine, clock).run_due_timers()
    assert len(reminders(engine)) == 1, "done once: the row is finished with its effect"


def test_a_note_written_in_time_means_no_reminder(engine: sa.Engine) -> None:
    clock = FakeClock(1_800_000_000.0)
    incidents = service(engine, clock)
    p2 = incidents.open(PersonOpened("desk", "checkout slow", Priority.P2))
    incidents.act(p2.number, Acknowledge("alice"))
    clock.advance(300)
    incidents.act(p2.number, AddNote("alice", "cache node replaced, watching latency"))
    clock.advance(300)
    incidents.run_due_timers()
    assert reminders(engine) == []
    clock.advance(300)  # the update carries the note; the next reminder is 10 minutes later
    incidents.run_due_timers()
    clock.advance(600)
    incidents.run_due_timers()
    assert [c for c, _ in reminders(engine)] == ["person:alice/mail"], "who acknowledged"

"""The response file as the incident core sees it: routing to a policy, the SLA of a priority,
whom a tier pages by which methods and when, phone numbers through the trunk — and louder
over time: a page still waiting is withdrawn when someone acknowledges."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import select

from agent.configfile import parse_yaml
from collector.incidents.events import Acknowledge, PersonOpened
from collector.incidents.model import Incident, IncidentState, Source
from collector.incidents.service import IncidentService, IncidentSettings
from collector.incidents.transitions import LifecyclePolicy
from collector.response.directory import ResponseDirectory, phone_url
from collector.response.model import response_from_document
from collector.store.database import migrate, open_database
from collector.store.schema import outbox
from rules.priority import Priority
from tests.collector.harness import FakeClock

RESPONSE = """\
people:
  - id: alice
    name: Alice
    language: zh
    contacts:
      sms: {kind: sms, url: "json://sms.example/send"}
      call: {kind: phone, url: "+4915112345678"}
      mail: {kind: email, url: "mailto://u:p@mail.example?to=a@example.com"}
    notification_rules:
      - priorities: [P2]
        methods: [sms]
      - priorities: [P2]
        methods: [call]
        after: 5m
      - priorities: [P4]
        methods: [mail]
        business_hours_only: true
schedules:
  - id: primary
    timezone: UTC
    layers:
      - participants: [alice]
        start: 2020-01-01T00:00
        length: weekly
policies:
  - id: ops
    tiers:
      - targets: [{schedule: primary}]
        timeout: 5m
  - id: db
    tiers:
      - targets: [{person: alice}]
        timeout: 10m
routing:
  routes:
    - match: {host: "~db-.*"}
      policy: db
  default: ops
sla:
  targets:
    P4: {resolve: 2 business hours}
  calendar: office
calendars:
  office:
    timezone: UTC
    hours:
      mon: "09:00-17:00"
      tue: "09:00-17:00"
      wed: "09:00-17:00"
      thu: "09:00-17:00"
      fri: "09:00-17:00"
"""
MONDAY_10 = 1_796_637_600.0  # 2026-12-07 10:00 UTC, a Monday
SATURDAY = MONDAY_10 + 5 * 86400


def directory() -> ResponseDirectory:
    return ResponseDirectory(response_from_document(parse_yaml(RESPONSE, "response.yaml")))


def incident(host: str, priority: Priority) -> Incident:
    return Incident(Source.RULE, priority, IncidentState.TRIGGERED, "x", 0.0, 0.0, host=host)


def test_routing_and_sla_frozen_into_the_plan() -> None:
    found = directory()
    assert found.plan_for(incident("db-7", Priority.P1)).policy == "db"  # type: ignore[union-attr]
    plan = found.plan_for(incident("web-1", Priority.P4))
    assert plan is not None and plan.policy == "ops"
    assert plan.tiers[0].targets == ("schedule:primary",) and plan.tiers[0].timeout == 300.0
    assert (plan.sla.ack, plan.sla.resolve) == (4 * 3600.0, 2 * 3600.0)
    assert plan.sla.business_clocks == ("resolve",) and plan.sla.calendar == "office"
    # Two business hours from Friday 16:00 end Monday 10:00.
    friday_16 = MONDAY_10 + 4 * 86400 + 6 * 3600
    assert found.deadline(friday_16, 7200.0, "office") == MONDAY_10 + 7 * 86400


def test_a_tier_pages_people_by_their_rules_and_delays() -> None:
    found = directory()
    plan = found.plan_for(incident("web-1", Priority.P2))
    assert plan is not None
    pages = found.recipients(plan.tiers[0], incident("web-1", Priority.P2), MONDAY_10)
    assert [(r.channel, r.delay, r.language) for r in pages] == [
        ("person:alice/sms", 0.0, "zh"),
        ("person:alice/call", 300.0, "zh"),
    ]
    p4 = incident("web-1", Priority.P4)
    assert [r.channel for r in found.recipients(plan.tiers[0], p4, MONDAY_10)] == [
        "person:alice/mail"
    ]
    assert found.recipients(plan.tiers[0], p4, SATURDAY) == [], "business hours only"


def test_phone_numbers_are_dialled_through_the_trunk() -> None:
    trunk = "sip://pager:pw@pbx.example:5060?ring_timeout=30"
    assert phone_url(trunk, "+4915112345678", "zh") == (
        "sip://pager:pw@pbx.example:5060/+4915112345678?ring_timeout=30&language=zh"
    )
    assert phone_url(trunk, "sip:1001@pbx.example", "en").endswith(
        "/1001?ring_timeout=30&language=en"
    )


def test_acknowledging_withdraws_the_louder_pages_still_waiting(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'wk.db'}")
    migrate(engine)
    found, clock = directory(), FakeClock(MONDAY_10)
    policy = LifecyclePolicy(plan_for=found.plan_for, deadline=found.deadline)
    service = IncidentService(
        engine, [], IncidentSettings(policy=policy), clock, directory=found.recipients
    )
    opened = service.open(PersonOpened("bob", "payments slow", Priority.P2, hosts=("web-1",)))
    clock.advance(60)
    service.act(opened.number, Acknowledge("alice"))
    with engine.connect() as conn:
        rows = conn.execute(select(outbox.c.channel, outbox.c.status).order_by(outbox.c.id))
        assert [tuple(r) for r in rows] == [
            ("person:alice/sms", "pending"),  # due at once: it stays (the worker sends it)
            ("person:alice/call", "withdrawn"),  # the call 5 minutes later is not needed
        ]
    engine.dispose()
    assert isinstance(engine, sa.Engine)

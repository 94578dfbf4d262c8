"""A generated October 2026 (Asia/Shanghai) written through the real incident service, with
times chosen so that every figure of the SLA report can be worked out by hand.

    ticket pri host  team opened (from the month's start T)   ack    resolved
    F      P1  db-1  db   T − 1 h (September)                 +600   +5400   1800 s in October
    G      P2  db-1  db   T − 10 d (September)                +300   +600
    C      P3  db-2  db   T + 1 h (still September in UTC)    +1200  +7200
    A      P1  db-1  db   T + 1 d                             +300   +2400   no note, upd +1800
    E      P1  web-1 web  T + 5 d                             +60    +600
    B      P1  db-1  db   T + 10 d                            +900   +5400   note +1000, upd +1800
    D      P3  db-2  db   T + 20 d                            +4000  +90000
    H      P4  —     —    T + 25 d (opened by a person)       never  never

B's maintenance window on db-1 runs from +3600 to +7200: half an hour of B's outage.
Team db's incidents are customer acme's, team web's are globex's. B's root cause is hardware
(a failed disk), D's software; the others have none.
SLA: P1 ack 600 s, update 1800 s, resolve 3600 s; P2 and P3 ack 3600 s, resolve 86400 s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from collector.incidents.events import (
    Acknowledge,
    AddNote,
    PersonAction,
    PersonOpened,
    Resolve,
    RuleFired,
)
from collector.incidents.model import Incident
from collector.incidents.plan import ResponsePlan, SlaTargets
from collector.incidents.rootcause import Category, FollowUp, RootCause
from collector.incidents.service import Audience, IncidentService, IncidentSettings
from collector.incidents.transitions import LifecyclePolicy
from collector.knowledge.service import KnowledgeService
from collector.noise.silences import Silence
from collector.reports.period import Month
from collector.store.silences import SilenceStore
from rules.priority import Priority
from tests.collector.harness import FakeClock

MONTH = Month(2026, 10, "Asia/Shanghai")
T = MONTH.start
HOUR, DAY = 3600.0, 86400.0
P1_PLAN = ResponsePlan(policy="ops", sla=SlaTargets(ack=600.0, update=1800.0, resolve=3600.0))
OTHER_PLAN = ResponsePlan(policy="ops", sla=SlaTargets(ack=3600.0, resolve=86400.0))
MAINTENANCE = (T + 10 * DAY + 3600.0, T + 10 * DAY + 7200.0)
CUSTOMERS = {"db": "acme", "web": "globex"}
CAUSES = [
    ("B", Category.HARDWARE, "disk sdb failed in the array"),
    ("D", Category.SOFTWARE, "log rotation stopped after an upgrade"),
]


def plan_for(incident: Incident) -> ResponsePlan | None:
    if incident.priority is Priority.P1:
        return P1_PLAN
    return OTHER_PLAN if incident.priority in (Priority.P2, Priority.P3) else None


@dataclass(frozen=True)
class Ticket:
    """One generated incident: its rule, host, team, priority and times relative to opening."""

    name: str
    rule: str
    host: str
    team: str
    priority: Priority
    opened: float
    ack: float | None
    resolved: float | None
    update_check: float | None = None  # run the due timers then (an update comes due)
    note: float | None = None  # a person writes a note then


TICKETS = [
    Ticket("G", "DiskFull", "db-1", "db", Priority.P2, T - 10 * DAY, 300.0, 600.0),
    Ticket("F", "HostDown", "db-1", "db", Priority.P1, T - HOUR, 600.0, 5400.0),
    Ticket("C", "DiskFull", "db-2", "db", Priority.P3, T + HOUR, 1200.0, 7200.0),
    Ticket("A", "HostDown", "db-1", "db", Priority.P1, T + DAY, 300.0, 2400.0, 1800.0),
    Ticket("E", "HostDown", "web-1", "web", Priority.P1, T + 5 * DAY, 60.0, 600.0),
    Ticket("B", "HostDown", "db-1", "db", Priority.P1, T + 10 * DAY, 900.0, 5400.0, 1800.0, 1000.0),
    Ticket("D", "DiskFull", "db-2", "db", Priority.P3, T + 20 * DAY, 4000.0, 90000.0),
]
PERSON_OPENED_AT = T + 25 * DAY  # H: a P4 from a person, never acknowledged


def write_month(engine: sa.Engine) -> dict[str, str]:
    """Write the scenario through IncidentService; returns ticket name → ticket number."""
    clock = FakeClock(T - 20 * DAY)
    settings = IncidentSettings(number_prefix="INC", policy=LifecyclePolicy(plan_for=plan_for))
    service = IncidentService(engine, [Audience("mailto://ops")], settings, clock)
    SilenceStore(engine).add(
        Silence({"host": "db-1"}, *MAINTENANCE, "alice", "disk swap", kind="maintenance"),
        clock(),
    )
    numbers = {}
    for ticket in TICKETS:
        numbers[ticket.name] = _play(service, clock, ticket)
    clock.now = PERSON_OPENED_AT
    numbers["H"] = service.open(PersonOpened("bob", "printer on fire", Priority.P4)).number
    knowledge = KnowledgeService(engine, clock)
    for name, category, cause in CAUSES:
        follow_up = FollowUp("check the others", "alice", dt.date(2026, 12, 1))
        root_cause = RootCause(cause, "replaced", category, (follow_up,), "alice", clock())
        knowledge.record_root_cause(numbers[name], root_cause)
    return numbers


def _play(service: IncidentService, clock: FakeClock, ticket: Ticket) -> str:
    clock.now = ticket.opened
    fired = RuleFired(
        f"{ticket.rule}:{ticket.name}",
        ticket.rule,
        ticket.host,
        {"team": ticket.team, "customer": CUSTOMERS[ticket.team]},
        ticket.priority,
        f"{ticket.rule} on {ticket.host}",
        "",
        1.0,
        "test",
    )
    opened = service.apply_rule(fired)
    assert opened is not None
    actions: dict[str, PersonAction] = {
        "ack": Acknowledge("alice"),
        "note": AddNote("alice", "disk replaced, array resyncing"),
        "resolve": Resolve("alice"),
    }
    steps = [
        (ticket.ack, "ack"),
        (ticket.note, "note"),
        (ticket.update_check, "timers"),
        (ticket.resolved, "resolve"),
    ]
    for offset, what in sorted((o, w) for o, w in steps if o is not None):
        clock.now = ticket.opened + offset
        if what in actions:
            service.act(opened.number, actions[what])
        else:
            service.run_due_timers()
    return opened.number

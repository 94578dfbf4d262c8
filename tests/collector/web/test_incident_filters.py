"""The incident list's filters in the store, on SQLite and PostgreSQL: priority, rule, ticket
number (any part, any case, no wildcards), team, and paging by offset; the last hour's
changes."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from collector.incidents.model import Incident, IncidentState, Source
from collector.incidents.plan import ResponsePlan, Tier
from collector.store.incidents import IncidentReader, append_timeline, insert_incident, next_number
from rules.priority import Priority

JAN_2026 = 1_767_225_600.0


def store(engine: sa.Engine, count: int) -> list[Incident]:
    base = Incident(
        source=Source.RULE,
        priority=Priority.P3,
        state=IncidentState.TRIGGERED,
        summary="x",
        opened_at=JAN_2026,
        updated_at=JAN_2026,
        rule="DiskFull",
        host="web1",
    )
    made = []
    with engine.begin() as conn:
        for n in range(count):
            item = replace(
                base,
                opened_at=JAN_2026 + n,
                priority=Priority.P1 if n % 4 == 0 else Priority.P3,
                rule="DiskFull" if n % 2 else "HostDown",
                key=f"k{n}",
            )
            made.append(insert_incident(conn, item, next_number(conn, "INC", item.opened_at)))
    return made


def test_filters_by_priority_rule_and_number_and_pages(engine: sa.Engine) -> None:
    made = store(engine, 12)
    reader = IncidentReader(engine)
    p1 = reader.search(priorities=[Priority.P1])
    assert [i.number for i in p1] == [made[n].number for n in (8, 4, 0)], "newest first"
    assert {i.rule for i in reader.search(rule="DiskFull")} == {"DiskFull"}
    assert len(reader.search(rule="DiskFull", priorities=[Priority.P1])) == 0
    assert [i.number for i in reader.search(number="inc-2026-000007")] == [made[6].number]
    assert [i.number for i in reader.search(number="00011")] == [made[10].number]
    assert reader.search(number="%") == [] and reader.search(number="_") == []
    pages = [reader.search(limit=5, offset=offset) for offset in (0, 5, 10)]
    assert [len(page) for page in pages] == [5, 5, 2]
    assert [i.number for page in pages for i in page] == [i.number for i in reversed(made)]


def test_orders_and_opened_after(engine: sa.Engine) -> None:
    made = store(engine, 6)
    reader = IncidentReader(engine)
    assert [i.number for i in reader.search(order="oldest")] == [i.number for i in made]
    by_priority = reader.search(order="priority")
    assert [i.priority for i in by_priority] == [Priority.P1] * 2 + [Priority.P3] * 4
    assert by_priority[0].number == made[4].number, "newest first within a priority"
    recent = reader.search(opened_after=JAN_2026 + 3)
    assert [i.number for i in recent] == [made[5].number, made[4].number]


def test_a_team_is_the_one_routed_to_or_paged_in_a_tier(engine: sa.Engine) -> None:
    base = store(engine, 1)[0]
    paging = ResponsePlan(
        policy="ops", tiers=(Tier(("schedule:primary",), 300.0), Tier(("team:net",), 900.0))
    )
    with engine.begin() as conn:
        routed = insert_incident(
            conn, replace(base, key="r", labels={"team": "dba"}), next_number(conn, "INC", 1.0)
        )
        paged = insert_incident(
            conn, replace(base, key="p", plan=paging), next_number(conn, "INC", 2.0)
        )
        other = insert_incident(
            conn, replace(base, key="o", labels={"team": "dba2"}), next_number(conn, "INC", 3.0)
        )
    reader = IncidentReader(engine)
    assert [i.number for i in reader.search(team="dba")] == [routed.number], "not dba2"
    assert [i.number for i in reader.search(team="net")] == [paged.number]
    assert [i.number for i in reader.search(team="dba2")] == [other.number]
    assert reader.search(team="primary") == [], "a schedule is no team"


def test_changes_of_the_last_hour_newest_first_without_delivery_attempts(
    engine: sa.Engine,
) -> None:
    made = store(engine, 2)
    with engine.begin() as conn:
        append_timeline(conn, made[0].id or 0, JAN_2026 + 10, "transition", "OPEN", "system")
        append_timeline(conn, made[0].id or 0, JAN_2026 + 20, "delivery", "SENT", "mail")
        append_timeline(conn, made[1].id or 0, JAN_2026 + 30, "transition", "ACK", "carol")
        append_timeline(conn, made[1].id or 0, JAN_2026 - 9999, "transition", "OPEN", "system")
    changes = IncidentReader(engine).changes(JAN_2026, limit=10)
    assert [(c.incident.number, c.name, c.actor) for c in changes] == [
        (made[1].number, "ACK", "carol"),
        (made[0].number, "OPEN", "system"),
    ]

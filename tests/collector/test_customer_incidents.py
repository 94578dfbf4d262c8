"""One customer's incidents on SQLite and PostgreSQL: the label decides first, then the first
customer whose host patterns match; pages hold only the customer's incidents, in order."""

from __future__ import annotations

import fnmatch

import pytest
import sqlalchemy as sa

from collector.auth.scope import CustomerScope
from collector.incidents.customers import CustomerBook
from collector.incidents.model import Incident, IncidentState, Source
from collector.store.customer_incidents import CustomerIncidentReader, like_pattern
from collector.store.incidents import insert_incident
from collector.store.schema import incident_timeline
from rules.priority import Priority

BOOK = CustomerBook.model_validate(
    {
        "customers": [
            {"name": "acme", "hosts": ["acme-*", "db-[0-9]_x%"]},
            {"name": "globex", "hosts": ["globex-*", "acme-shared*"]},
        ]
    }
)


def incident(n: int, host: str = "", hosts: tuple[str, ...] = (), **labels: str) -> Incident:
    return Incident(
        source=Source.PERSON,
        priority=Priority.P3,
        state=IncidentState.TRIGGERED,
        summary=f"incident {n}",
        opened_at=1_000.0 + n,
        updated_at=1_000.0 + n,
        host=host,
        hosts=hosts,
        labels=labels,
    )


def reader(engine: sa.Engine, customer: str) -> CustomerIncidentReader:
    scope = CustomerScope(customer, BOOK)
    return CustomerIncidentReader(engine, customer, scope.patterns, scope.owns_incident)


def store(engine: sa.Engine, incidents: list[Incident]) -> list[Incident]:
    with engine.begin() as conn:
        return [insert_incident(conn, i, f"INC-2026-{n:06d}") for n, i in enumerate(incidents, 1)]


@pytest.mark.parametrize(
    ("glob", "name"),
    [
        ("acme-*", "acme-web1"),
        ("db-?", "db-7"),
        ("db-[0-9]", "db-3"),
        ("db-[!a]x", "db-bx"),
        ("100%_[]]", "100%_]"),
        ("back\\slash*", "back\\slash-1"),
    ],
)
def test_like_pattern_matches_every_name_the_glob_matches(glob: str, name: str) -> None:
    assert fnmatch.fnmatchcase(name, glob)
    with sa.create_engine("sqlite://").connect() as conn:
        found = conn.execute(sa.select(sa.literal(name).like(like_pattern(glob), escape="\\")))
        assert found.scalar() == 1, like_pattern(glob)


def test_like_pattern_keeps_percent_and_underscore_literal() -> None:
    assert like_pattern("a%b_c*") == "a\\%b\\_c%"


def test_each_customer_sees_exactly_its_incidents_label_first(engine: sa.Engine) -> None:
    stored = store(
        engine,
        [
            incident(1, "acme-web1"),
            incident(2, hosts=("intranet1", "acme-db2")),  # a listed host
            incident(3, "acme-web1", customer="globex"),  # the label wins over the pattern
            incident(4, "globex-app"),
            incident(5, "acme-shared1"),  # acme is first in the file: acme's
            incident(6, "intranet1"),  # nobody's
            incident(7, "db-1_x%"),  # literal % and _ in the pattern
            incident(8, "db-1_xy"),  # not matched: % is literal
            incident(9, "web9", customer="acme"),
            incident(10, "acme-web2", customer="nobody-known"),  # a label naming no customer
        ],
    )
    number = {i.summary: i.number for i in stored}

    def numbers(found: list[Incident]) -> set[str]:
        return {i.number for i in found}

    acme = {number[f"incident {n}"] for n in (1, 2, 5, 7, 9)}
    globex = {number[f"incident {n}"] for n in (3, 4)}
    assert numbers(reader(engine, "acme").search()) == acme
    assert numbers(reader(engine, "globex").search()) == globex
    assert numbers(reader(engine, "initech").search()) == set()
    assert reader(engine, "acme").get(number["incident 3"]) is None
    assert reader(engine, "globex").get(number["incident 3"]) is not None
    assert reader(engine, "acme").get(number["incident 6"]) is None
    assert numbers(reader(engine, "acme").search(host="acme-db2")) == {number["incident 2"]}


def test_pages_hold_only_the_customers_incidents_in_order(engine: sa.Engine) -> None:
    # 3 of every 4 incidents are someone else's: pages must still come out full and in order.
    mixed = [incident(n, "acme-web1" if n % 4 == 0 else "globex-app") for n in range(1, 1001)]
    store(engine, mixed)
    acme = reader(engine, "acme")
    everything = acme.search(limit=10_000)
    assert len(everything) == 250
    assert [i.opened_at for i in everything] == sorted(
        (i.opened_at for i in everything), reverse=True
    )
    pages = [acme.search(limit=60, offset=k * 60) for k in range(5)]
    assert [len(p) for p in pages] == [60, 60, 60, 60, 10]
    assert [i.number for p in pages for i in p] == [i.number for i in everything]
    oldest = acme.search(limit=3, order="oldest")
    assert [i.opened_at for i in oldest] == [1_004.0, 1_008.0, 1_012.0]


def test_a_customer_timeline_leaves_out_our_deliveries(engine: sa.Engine) -> None:
    [mine] = store(engine, [incident(1, "acme-web1")])
    assert mine.id is not None
    with engine.begin() as conn:
        for kind, name in (("transition", "OPEN"), ("delivery", "SENT"), ("transition", "ACK")):
            conn.execute(
                sa.insert(incident_timeline).values(
                    incident_id=mine.id, at=1.0, kind=kind, name=name, actor="x", detail=""
                )
            )
    assert [e["name"] for e in reader(engine, "acme").timeline(mine.id)] == ["OPEN", "ACK"]

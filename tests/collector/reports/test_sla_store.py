"""The SLA report read from a month written through the real incident service, on SQLite and
PostgreSQL: every figure equals the value worked out by hand in scenario.py."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import func, insert, select, update

from collector.reports.figures import Attainment, TimeStats
from collector.reports.period import Month
from collector.reports.sla import SlaOptions, SlaReport, build_sla_report
from collector.store.schema import hosts as host_table
from collector.store.schema import incidents, outbox
from tests.collector.reports.scenario import MAINTENANCE, MONTH, T, write_month

NOW = MONTH.end + 86400.0  # the report is made on 2 November
OCTOBER = 31 * 86400.0


@pytest.fixture
def numbers(engine: sa.Engine) -> dict[str, str]:
    return write_month(engine)


def report(engine: sa.Engine, team: str | None = None, month: Month = MONTH) -> SlaReport:
    return build_sla_report(engine, SlaOptions(month, team), NOW)


def test_volume_by_priority_source_rule_with_the_two_months_before(
    engine: sa.Engine, numbers: dict[str, str]
) -> None:
    everyone = report(engine)
    assert everyone.incident_count == 6  # C A E B D H
    # P1: A B E in October, F in September; P2: G in September
    assert everyone.volume_by_priority == {
        "P1": [3, 1, 0],
        "P2": [0, 1, 0],
        "P3": [2, 0, 0],
        "P4": [1, 0, 0],
    }
    assert everyone.volume_by_source == {"rule": 5, "person": 1}
    assert everyone.volume_by_rule == {"HostDown": 3, "DiskFull": 2, "(opened by a person)": 1}
    assert everyone.volume_by_customer == {"acme": 4, "(none)": 1, "globex": 1}
    assert everyone.volume_by_category == {"(no root cause)": 4, "hardware": 1, "software": 1}


def test_a_customer_report_holds_only_its_incidents(
    engine: sa.Engine, numbers: dict[str, str]
) -> None:
    acme = build_sla_report(engine, SlaOptions(MONTH, customer="acme"), NOW)
    db = report(engine, "db")
    assert (
        acme.volume_by_priority
        == db.volume_by_priority
        == {"P1": [2, 1, 0], "P2": [0, 1, 0], "P3": [2, 0, 0]}
    )
    assert (acme.mtta, acme.mttr, acme.attainment) == (db.mtta, db.mttr, db.attainment)
    assert [a.host for a in acme.availability] == ["db-1", "db-2"]
    globex = build_sla_report(engine, SlaOptions(MONTH, team="db", customer="globex"), NOW)
    assert globex.incident_count == 0 and globex.availability == []


def test_mtta_and_mttr_per_priority(engine: sa.Engine, numbers: dict[str, str]) -> None:
    everyone = report(engine)
    assert everyone.mtta["P1"] == TimeStats(3, 420.0, 300.0, 900.0)  # 60, 300, 900
    assert everyone.mttr["P1"] == TimeStats(3, 2800.0, 2400.0, 5400.0)  # 600, 2400, 5400
    db = report(engine, "db")
    assert db.mtta == {
        "P1": TimeStats(2, 600.0, 600.0, 900.0),  # A 300, B 900
        "P3": TimeStats(2, 2600.0, 2600.0, 4000.0),  # C 1200, D 4000
    }
    assert db.mttr == {
        "P1": TimeStats(2, 3900.0, 3900.0, 5400.0),  # A 2400, B 5400
        "P3": TimeStats(2, 48600.0, 48600.0, 90000.0),  # C 7200, D 90000
    }
    assert "P4" not in everyone.mtta  # H was never acknowledged
    # B's note at +1000 went out with its update at +1800; A's update was missed (no note)
    assert db.first_update == {"P1": TimeStats(1, 1800.0, 1800.0, 1800.0)}


def test_attainment_and_each_breach_by_how_much(engine: sa.Engine, numbers: dict[str, str]) -> None:
    db = report(engine, "db")
    assert db.attainment == [
        Attainment("P1", "ack", 1, 1, 0),  # B acknowledged 900 s into 600
        Attainment("P1", "update", 1, 1, 0),  # A missed its update at +1800
        Attainment("P1", "resolve", 1, 1, 0),  # B resolved 5400 s into 3600
        Attainment("P3", "ack", 1, 1, 0),  # D acknowledged 4000 s into 3600
        Attainment("P3", "resolve", 1, 1, 0),  # D resolved 90000 s into 86400
    ]
    assert [(b.number, b.clock, b.late_seconds, b.missed) for b in db.breaches] == [
        (numbers["B"], "ack", 300.0, 1),
        (numbers["A"], "update", 0.0, 1),
        (numbers["B"], "resolve", 1800.0, 1),
        (numbers["D"], "ack", 400.0, 1),
        (numbers["D"], "resolve", 3600.0, 1),
    ]
    assert db.breaches[0].due_at == T + 10 * 86400 + 600
    assert db.breaches[0].cause == "disk sdb failed in the array"
    assert db.breaches[1].cause == ""  # A has no root cause


def test_availability_with_a_maintenance_window_and_a_p1_from_the_month_before(
    engine: sa.Engine, numbers: dict[str, str]
) -> None:
    hosts = {a.host: a for a in report(engine, "db").availability}
    assert set(hosts) == {"db-1", "db-2"}
    db1 = hosts["db-1"]
    # F: 1800 s inside October; A: 2400 s; B: 5400 s less the 1800 s inside maintenance
    assert db1.down_seconds == 1800.0 + 2400.0 + 3600.0
    assert db1.maintenance_seconds == MAINTENANCE[1] - MAINTENANCE[0] == 3600.0
    assert db1.measured_seconds == OCTOBER - 3600.0
    assert db1.allowed_seconds == pytest.approx(2674.8)  # 44.58 minutes at 99.9 %
    assert db1.percent == pytest.approx(100 * (1 - 7800 / 2674800))  # 99.7084 %
    assert not db1.met
    assert hosts["db-2"].percent == 100.0 and hosts["db-2"].measured_seconds == OCTOBER
    assert {a.host for a in report(engine).availability} == {"db-1", "db-2", "web-1"}


def test_a_reporting_host_without_incidents_is_fully_available(
    engine: sa.Engine, numbers: dict[str, str]
) -> None:
    with engine.begin() as conn:
        conn.execute(insert(host_table).values(name="app-9", first_seen=T, last_seen=T))
    everyone = {a.host: a for a in report(engine).availability}
    assert everyone["app-9"].percent == 100.0 and everyone["app-9"].down_seconds == 0.0
    assert "app-9" not in {a.host for a in report(engine, "db").availability}


def test_the_month_begins_at_midnight_in_its_time_zone(
    engine: sa.Engine, numbers: dict[str, str]
) -> None:
    # C opened at 01:00 on 1 October in Shanghai: still 30 September in UTC
    shanghai = report(engine, "db")
    utc = report(engine, "db", Month(2026, 10, "UTC"))
    assert shanghai.volume_by_priority["P3"][0] == 2
    assert utc.volume_by_priority["P3"] == [1, 1, 0]
    # and F, open 1800 s into Shanghai's October, is all in UTC's September (0 s)
    utc_db1 = {a.host: a for a in utc.availability}["db-1"]
    assert utc_db1.down_seconds == 2400.0 + 3600.0


def test_noise_counts_sent_notifications_per_rule(
    engine: sa.Engine, numbers: dict[str, str]
) -> None:
    with engine.begin() as conn:
        conn.execute(update(outbox).values(status="sent", sent_at=outbox.c.created_at))
        in_month = (
            select(incidents.c.rule, func.count())
            .select_from(outbox.join(incidents, outbox.c.incident_id == incidents.c.id))
            .where(outbox.c.created_at >= MONTH.start, outbox.c.created_at < MONTH.end)
            .group_by(incidents.c.rule)
        )
        expected = {rule: n for rule, n in conn.execute(in_month)}
    rows = {r.rule: r for r in report(engine).noise}
    assert rows["HostDown"].notifications_sent == expected["HostDown"] > 0
    assert rows["HostDown"].incidents == 3 and rows["HostDown"].ack_rate == 100.0
    assert rows["DiskFull"].flaps == 0

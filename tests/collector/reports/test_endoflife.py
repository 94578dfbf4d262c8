"""End of life: a host whose warranty ends in 60 days gets one P4 incident (not two, not after
a restart), a date further than the lead time none yet, a past date none; on both backends."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from collector.incidents.events import PersonOpened
from collector.incidents.model import Incident
from collector.incidents.service import IncidentService, IncidentSettings
from collector.reports.endoflife import EndOfLifeWatch
from collector.reports.inventory import HostInventory, Inventory
from rules.priority import Priority
from tests.collector.harness import FakeClock, RunningCollector

TODAY = dt.datetime(2026, 10, 5, 9, 0, tzinfo=dt.UTC)


def inventory() -> Inventory:
    def days(n: int) -> dt.date:
        return TODAY.date() + dt.timedelta(days=n)

    return Inventory(
        hosts={
            "db-1": HostInventory(model="R740", serial="7XK2M03", warranty_end=days(60)),
            "db-2": HostInventory(warranty_end=days(120), support_end=days(-10)),
        }
    )


def watch(engine: sa.Engine, clock: FakeClock, language: str = "en") -> EndOfLifeWatch:
    service = IncidentService(engine, [], IncidentSettings(number_prefix="OPS"), clock)
    return EndOfLifeWatch(inventory, service.open, engine, clock, language=language)


def test_a_warranty_ending_in_60_days_opens_one_p4_incident(engine: sa.Engine) -> None:
    clock = FakeClock(TODAY.timestamp())
    [opened] = watch(engine, clock).run()
    assert opened.priority is Priority.P4 and opened.hosts == ("db-1",)
    assert opened.summary == "Warranty of db-1 ends on 2026-12-04 (in 60 days)"
    assert "R740, serial 7XK2M03" in opened.description
    assert watch(engine, clock).run() == []  # a restart, or a second collector: not again
    clock.advance(31 * 86400)  # db-2's warranty is now 89 days away
    [later] = watch(engine, clock, "zh").run()
    assert later.summary == "db-2 的保修将于 2027-02-02 到期（还有 89 天）"


def test_a_collector_with_an_inventory_file_opens_the_p4_from_its_hourly_check(
    tmp_path: Path,
) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text("hosts:\n  db-1:\n    warranty_end: 2026-12-04\n")
    running = RunningCollector(tmp_path, FakeClock(TODAY.timestamp()), inventory=path)
    try:
        watch = running.collector.end_of_life
        assert watch is not None and watch.lead_days == 90
        assert watch.check() == 1 and watch.check() == 0
        [incident] = running.get("/api/v1/incidents")
        assert (incident["priority"], incident["hosts"]) == ("P4", ["db-1"])
    finally:
        running.stop()


def test_an_incident_the_core_could_not_open_is_tried_again_next_time(engine: sa.Engine) -> None:
    clock = FakeClock(TODAY.timestamp())
    service = IncidentService(engine, [], IncidentSettings(number_prefix="OPS"), clock)
    attempts: list[str] = []

    def failing_once(event: PersonOpened) -> Incident:
        attempts.append(event.title)
        if len(attempts) == 1:
            raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))
        return service.open(event)

    watch = EndOfLifeWatch(inventory, failing_once, engine, clock)
    with pytest.raises(sa.exc.OperationalError):
        watch.run()
    [opened] = watch.run()
    assert opened.hosts == ("db-1",) and len(attempts) == 2

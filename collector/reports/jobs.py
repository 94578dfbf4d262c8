"""The collector's report jobs, built from its config: the end-of-life watch and the mailer."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from collector.config import CollectorConfig
from collector.incidents.customers import CustomerBook
from collector.incidents.events import PersonOpened
from collector.incidents.model import Incident
from collector.reports.endoflife import EndOfLifeWatch
from collector.reports.inventory import Inventory, load_inventory
from collector.reports.mailer import ReportMailer
from collector.reports.schedule import load_schedules
from collector.reports.seen import NO_HARDWARE, SeenHardware

END_OF_LIFE_INTERVAL = 3600.0  # dates are days: an hourly look is plenty
SCHEDULE_INTERVAL = 60.0  # a report goes out within a minute of its time


def inventory_of(config: CollectorConfig) -> Inventory:
    """The inventory file's hosts (none when not configured)."""
    return load_inventory(config.inventory) if config.inventory is not None else Inventory()


def end_of_life_watch(
    config: CollectorConfig,
    engine: Engine,
    open_incident: Callable[[PersonOpened], Incident],
    clock: Callable[[], float],
) -> EndOfLifeWatch | None:
    """The watch, when an inventory file is configured (read now: its errors stop the start)."""
    if config.inventory is None:
        return None
    inventory = inventory_of(config)
    return EndOfLifeWatch(
        lambda: inventory,
        open_incident,
        engine,
        clock,
        config.end_of_life_lead_days,
        config.language,
    )


def report_mailer(
    config: CollectorConfig,
    engine: Engine,
    book: CustomerBook,
    clock: Callable[[], float],
    wake: Callable[[], None],
    hardware: SeenHardware = NO_HARDWARE,
) -> ReportMailer | None:
    """The mailer, when a schedules file is configured (checked against the customers now)."""
    if config.reports is None:
        return None
    inventory = inventory_of(config)
    return ReportMailer(
        engine, load_schedules(config.reports), book, lambda: inventory, clock, wake, hardware
    )

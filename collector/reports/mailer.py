"""Scheduled reports: after each period, the report's PDF goes to the customer's contacts
through the outbox, once per schedule and period (the claim and the messages are written in
one transaction: a restart, or a second collector, never mails it twice)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from collector.incidents.customers import Customer, CustomerBook
from collector.noise.contacts import contact_key
from collector.notify.attachments import Attachment, encode_attachments
from collector.notify.message import MESSAGE_ID_DOMAIN
from collector.reports.health import HealthOptions, build_health_report, host_filter
from collector.reports.health_render import render_health_pdf
from collector.reports.inventory import Inventory
from collector.reports.period import Month, Quarter
from collector.reports.render import render_pdf
from collector.reports.schedule import ReportSchedule, ReportSchedules
from collector.reports.seen import NO_HARDWARE, SeenHardware
from collector.reports.sla import SlaOptions, build_sla_report
from collector.store.outbox import enqueue
from collector.store.schema import report_runs

log = logging.getLogger(__name__)

REPORT_EVENT = "report"  # outbox `event`
SUBJECTS = {
    "sla": {
        "en": "Monthly SLA report {period} — {customer}",
        "zh": "月度服务水平报告 {period} — {customer}",
    },
    "health": {
        "en": "Quarterly health check {period} — {customer}",
        "zh": "季度健康检查报告 {period} — {customer}",
    },
}
BODIES = {
    "en": "Hello {name},\n\nAttached is the report for {customer}, {period} ({timezone}).\n\n"
    "-- Watchkeeper",
    "zh": "{name}，您好：\n\n附件是 {customer} 的报告，期间 {period}（{timezone}）。"
    "\n\n-- Watchkeeper",
}


class ScheduleError(ValueError):
    """A schedule names a customer or recipient the customers file does not have."""


def check_schedules(schedules: ReportSchedules, book: CustomerBook) -> None:
    """Every schedule's customer and recipients exist; raises naming the first that does not."""
    for schedule in schedules.schedules:
        customer = book.named(schedule.customer)
        if customer is None:
            raise ScheduleError(
                f"report schedule {schedule.name}: no customer {schedule.customer!r} "
                "in the customers file"
            )
        emails = {c.email for c in customer.contacts if c.email}
        unknown = [r for r in schedule.recipients if r not in emails]
        if unknown:
            raise ScheduleError(
                f"report schedule {schedule.name}: {', '.join(unknown)} is not an e-mail of "
                f"{customer.name}'s contacts; add the contact to the customers file first"
            )


class ReportMailer:
    """Looks at every schedule and mails the reports now due."""

    def __init__(
        self,
        engine: Engine,
        schedules: ReportSchedules,
        book: CustomerBook,
        inventory: Callable[[], Inventory],
        clock: Callable[[], float],
        on_commit: Callable[[], None] = lambda: None,
        hardware: SeenHardware = NO_HARDWARE,
    ) -> None:
        check_schedules(schedules, book)
        self._hardware = hardware
        self._engine = engine
        self._schedules = schedules
        self._book = book
        self._inventory = inventory
        self._clock = clock
        self._on_commit = on_commit

    def run(self) -> int:
        """Mail every report due now and not mailed before; returns how many messages."""
        now = self._clock()
        written = 0
        for schedule in self._schedules.schedules:
            run_at = schedule.last_run(now)
            if run_at is None:
                continue
            period = schedule.period(run_at)
            key = f"report:{schedule.name}:{period.label}"
            if self._done(key):
                continue
            written += self._mail(schedule, period, key, now)
        if written:
            self._on_commit()
        return written

    def _done(self, key: str) -> bool:
        with self._engine.connect() as conn:
            found = conn.execute(select(report_runs.c.key).where(report_runs.c.key == key))
            return found.first() is not None

    def _mail(self, schedule: ReportSchedule, period: Month | Quarter, key: str, now: float) -> int:
        customer = self._book.named(schedule.customer)
        assert customer is not None  # checked when built
        pdf = self._pdf(schedule, customer, period, now)
        name = f"{schedule.report}-{customer.name}-{period.label}.pdf"
        rows = [
            _outbox_row(
                key,
                schedule,
                customer,
                period,
                email,
                contact,
                Attachment(name, "application/pdf", pdf),
                now,
            )
            for email, contact in _recipients(schedule, customer)
        ]
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(report_runs).values(
                        key=key, kind=REPORT_EVENT, created_at=now, detail=f"{len(rows)} message(s)"
                    )
                )
                enqueue(conn, rows, now)
        except IntegrityError:
            return 0  # another collector mailed it meanwhile
        log.info(
            "report %s for %s: mailed to %d contact(s)", schedule.name, period.label, len(rows)
        )
        return len(rows)

    def _pdf(
        self, schedule: ReportSchedule, customer: Customer, period: Month | Quarter, now: float
    ) -> bytes:
        if isinstance(period, Month):
            commitment = customer.sla.availability or 99.9
            report = build_sla_report(
                self._engine, SlaOptions(period, customer=customer.name, commitment=commitment), now
            )
            return render_pdf(report, schedule.language)
        inventory = self._inventory()
        patterns = [
            *customer.hosts,
            *(h for h, i in inventory.hosts.items() if i.customer == customer.name),
        ]
        options = HealthOptions(period, host_filter(None, patterns), f"customer {customer.name}")
        return render_health_pdf(
            build_health_report(self._engine, options, inventory, now, self._hardware),
            schedule.language,
        )


def _recipients(schedule: ReportSchedule, customer: Customer) -> list[tuple[str, str]]:
    wanted = set(schedule.recipients)
    return [
        (c.email, c.name)
        for c in customer.contacts
        if c.email and (not wanted or c.email in wanted)
    ]


def _outbox_row(
    key: str,
    schedule: ReportSchedule,
    customer: Customer,
    period: Month | Quarter,
    email: str,
    name: str,
    pdf: Attachment,
    now: float,
) -> dict[str, Any]:
    channel = contact_key(customer.name, email)
    identity = hashlib.sha256(f"{key}\x1f{channel}".encode()).hexdigest()[:32]
    language = schedule.language
    title = SUBJECTS[schedule.report][language].format(period=period.label, customer=customer.name)
    body = BODIES[language].format(
        name=name, customer=customer.name, period=period.label, timezone=period.timezone
    )
    payload = {
        "title": title,
        "body": body,
        "event": REPORT_EVENT,
        "priority": "P4",
        "summary": title,
        "time": now,
        "message_id": f"<{identity}@{MESSAGE_ID_DOMAIN}>",
        "attachments": encode_attachments([pdf]),
    }
    return {
        "idempotency_key": identity,
        "incident_id": None,
        "channel": channel,
        "event": REPORT_EVENT,
        "payload": payload,
        "due_at": now,
        "group_key": None,
    }

"""What a customers file adds to a collector: mail and SMS to customers' contacts about their
incidents, maintenance notices, scheduled reports, and customer names for /metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from collector.incidents.customers import CustomerBook
from collector.incidents.model import Incident
from collector.noise.announcer import MaintenanceAnnouncer
from collector.notify.customer_notices import CustomerNotices
from collector.reports.jobs import report_mailer
from collector.reports.seen import registry_hardware

if TYPE_CHECKING:
    from collector.app import Collector


def mail_customers(collector: Collector, database: Engine, book: CustomerBook) -> None:
    """With customer_mail configured, customers' contacts get scheduled reports, maintenance
    notices and their incidents' openings, updates, resolutions and verification requests;
    with customer_sms, contacts with only a phone get their incidents' messages by SMS."""
    config, clock, hosts, wake = (
        collector.config,
        collector.clock,
        collector.hosts,
        collector.delivery.wake,
    )
    collector.report_mailer = report_mailer(
        config, database, book, clock, wake, registry_hardware(hosts)
    )
    if config.customer_mail is not None:  # maintenance notices go by e-mail
        collector.announcer = MaintenanceAnnouncer(
            database, book, clock, lambda: [h.name for h in hosts], wake
        )
    collector.customer_notices = CustomerNotices(
        book, mail=config.customer_mail is not None, sms=config.customer_sms is not None
    )
    collector.incidents.customer_rows = collector.customer_notices.rows


def customer_name(book: CustomerBook | None) -> Callable[[Incident], str]:
    """The name of an incident's customer ("" without a customers file or a match)."""

    def name(incident: Incident) -> str:
        found = book.customer_of(incident) if book is not None else None
        return found.name if found is not None else ""

    return name

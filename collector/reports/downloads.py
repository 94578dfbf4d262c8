"""A report as a downloadable file: build it for a period, customer and language, render it
in the asked format, name the file (shared by the console's download links)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from collector.incidents.customers import Customer, CustomerBook
from collector.reports.health import HealthOptions, build_health_report, host_filter
from collector.reports.health_cli import render_health
from collector.reports.inventory import Inventory
from collector.reports.period import Month, Quarter
from collector.reports.render import render_csv, render_html, render_pdf
from collector.reports.seen import NO_HARDWARE, SeenHardware
from collector.reports.sla import SlaOptions, build_sla_report
from collector.reports.tables import Language

FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8", "csv": "application/zip"}
EXTENSIONS = {"pdf": "pdf", "html": "html", "csv": "zip"}
DEFAULT_COMMITMENT = 99.9


class DownloadError(ValueError):
    """The request names something that does not exist (a customer, a period, a format)."""


@dataclass(frozen=True)
class ReportFile:
    """A rendered report: its bytes, MIME type and file name."""

    content: bytes
    media_type: str
    filename: str


@dataclass(frozen=True)
class ReportSource:
    """What reports are made from: the database, the customers, the inventory."""

    engine: Engine
    book: CustomerBook | None
    inventory: Callable[[], Inventory]
    hardware: SeenHardware = NO_HARDWARE  # what the probes identified, per host

    def customers(self) -> list[str]:
        """Customer names, for the console's choice."""
        return [c.name for c in self.book.customers] if self.book else []

    def sla(self, month: Month, customer: str | None, form: str, language: Language,
            now: float) -> ReportFile:  # fmt: skip
        """The monthly SLA report as a file."""
        commitment = DEFAULT_COMMITMENT
        if customer is not None:
            found = self._customer(customer)
            commitment = found.sla.availability or DEFAULT_COMMITMENT
        report = build_sla_report(self.engine, SlaOptions(month, None, customer, commitment), now)
        content = {
            "pdf": lambda: render_pdf(report, language),
            "html": lambda: render_html(report, language).encode("utf-8"),
            "csv": lambda: render_csv(report, language),
        }[_checked(form)]()
        return ReportFile(content, FORMATS[form], _name("sla", month.label, customer, form))

    def health(self, quarter: Quarter, customer: str | None, form: str, language: Language,
               now: float) -> ReportFile:  # fmt: skip
        """The quarterly health report as a file."""
        inventory = self.inventory()
        patterns = None
        if customer is not None:
            found = self._customer(customer)
            patterns = [*found.hosts]
            patterns += [h for h, i in inventory.hosts.items() if i.customer == customer]
        scope = f"customer {customer}" if customer else ""
        options = HealthOptions(quarter, host_filter(None, patterns), scope)
        report = build_health_report(self.engine, options, inventory, now, self.hardware)
        content = render_health(report, _checked(form), language, None)
        return ReportFile(content, FORMATS[form], _name("health", quarter.label, customer, form))

    def _customer(self, name: str) -> Customer:
        found = self.book.named(name) if self.book else None
        if found is None:
            raise DownloadError(f"no customer {name!r}")
        return found


def _checked(form: str) -> str:
    if form not in FORMATS:
        raise DownloadError(f"format must be one of {', '.join(FORMATS)}; got {form!r}")
    return form


def _name(kind: str, label: str, customer: str | None, form: str) -> str:
    return f"{kind}-{customer + '-' if customer else ''}{label}.{EXTENSIONS[form]}"

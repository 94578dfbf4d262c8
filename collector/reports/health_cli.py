"""`watchkeeper report health`: choose the hosts, read the quarter, write the asked format."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from collector.reports.cli import ReportCommandError, database_url
from collector.reports.health import HealthOptions, HealthReport, build_health_report, host_filter
from collector.reports.health_render import (
    render_health_csv,
    render_health_html,
    render_health_pdf,
)
from collector.reports.inventory import Inventory, load_inventory
from collector.reports.period import Quarter
from collector.reports.render import ReportFormatError
from collector.reports.tables import Language
from rules.loader import RuleLoadError


def health_command(args: argparse.Namespace, now: float) -> bytes:
    """The health report's bytes in the asked format."""
    from collector.store.database import open_database

    if args.table and args.format != "csv":
        raise ReportCommandError("--table goes with --format csv")
    if args.lead_days < 0:
        raise ReportCommandError(f"--lead-days must be 0 or more; got {args.lead_days}")
    try:
        quarter = Quarter.parse(args.quarter, args.timezone)
    except ValueError as exc:
        raise ReportCommandError(str(exc)) from exc
    inventory = _inventory(args.inventory)
    options = HealthOptions(
        quarter,
        host_filter(args.hosts, _customer_patterns(args, inventory)),
        " ".join(x for x in (args.customer, args.hosts) if x),
        args.lead_days,
    )
    engine = open_database(database_url(args))
    try:
        report = build_health_report(engine, options, inventory, now)
    except SQLAlchemyError as exc:
        raise ReportCommandError(
            f"cannot read the database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from exc
    finally:
        engine.dispose()
    return render_health(report, args.format, args.language, args.table)


def render_health(report: HealthReport, form: str, language: str, table: str | None) -> bytes:
    """`report` as html, csv or pdf bytes."""
    lang: Language = "zh" if language == "zh" else "en"
    try:
        if form == "csv":
            return render_health_csv(report, lang, table)
        if form == "pdf":
            return render_health_pdf(report, lang)
    except ValueError as exc:
        raise ReportCommandError(f"--table: {exc}") from exc
    except ReportFormatError as exc:
        raise ReportCommandError(str(exc)) from exc
    return render_health_html(report, lang).encode("utf-8")


def _inventory(path: Path | None) -> Inventory:
    if path is None:
        return Inventory()
    try:
        return load_inventory(path)
    except (OSError, RuleLoadError) as exc:
        raise ReportCommandError(f"--inventory {path}: {exc}") from exc


def _customer_patterns(args: argparse.Namespace, inventory: Inventory) -> list[str] | None:
    """The customer's hosts: its patterns in --customers, and inventory entries naming it."""
    if args.customer is None:
        return None
    patterns = [h for h, item in inventory.hosts.items() if item.customer == args.customer]
    if args.customers is not None:
        from collector.incidents.customers import load_customers

        try:
            found = load_customers(args.customers).named(args.customer)
        except (OSError, RuleLoadError) as exc:
            raise ReportCommandError(f"--customers {args.customers}: {exc}") from exc
        if found is None:
            raise ReportCommandError(f"--customer {args.customer}: not in {args.customers}")
        patterns += found.hosts
    if not patterns:
        raise ReportCommandError(
            f"--customer {args.customer}: no hosts known for it; give --customers FILE "
            "(its host patterns) or name it as `customer:` in --inventory"
        )
    return patterns

"""`watchkeeper report sla --month 2026-10 …` and `watchkeeper report health --quarter 2026-Q3
…` (`--format html|csv|pdf -o FILE`): read the store, write one file."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from collector.reports.endoflife import DEFAULT_LEAD_DAYS
from collector.reports.period import Month
from collector.reports.render import ReportFormatError, render_csv, render_html, render_pdf
from collector.reports.sla import SlaOptions, build_sla_report

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


class ReportCommandError(Exception):
    """A problem the operator can fix, said in one line."""


def build_parser() -> argparse.ArgumentParser:
    """`watchkeeper report sla ...`."""
    parser = argparse.ArgumentParser(
        prog="watchkeeper report", description="Reports for customers and ops leads."
    )
    sub = parser.add_subparsers(dest="report", required=True, metavar="REPORT")
    sla = sub.add_parser(
        "sla",
        help="the monthly SLA report",
        description="The monthly SLA "
        "report: volume, MTTA/MTTR, SLA attainment, availability, noise.",
    )
    sla.add_argument("--month", required=True, help="the month, e.g. 2026-10")
    sla.add_argument("--team", help="only incidents labelled team=T (default: all)")
    sla.add_argument("--customer", help="only incidents labelled customer=C (default: all)")
    sla.add_argument("--timezone", default="UTC", help="where months begin, e.g. Asia/Shanghai")
    sla.add_argument("--format", choices=("html", "csv", "pdf"), default="html")
    sla.add_argument("--language", choices=("en", "zh"), default="en")
    sla.add_argument("--table", help="with --format csv: this one table instead of a zip")
    sla.add_argument(
        "--commitment",
        type=float,
        default=99.9,
        help="availability committed, in percent (default 99.9)",
    )
    _output_and_source(sla)
    _health_parser(sub)
    return parser


def _output_and_source(command: argparse.ArgumentParser) -> None:
    command.add_argument("-o", "--output", required=True, type=Path, help="the file to write")
    source = command.add_mutually_exclusive_group(required=True)
    source.add_argument("--database", help="the collector's database URL")
    source.add_argument("--config", type=Path, help="the collector's YAML (its `database`)")


def _health_parser(sub: Any) -> None:
    health = sub.add_parser(
        "health",
        help="the quarterly health-check report",
        description="The quarterly health check: resource baselines and trends, filesystem "
        "growth, network errors, SMART risk, arrays, sensors, inventory and end of life, "
        "with recommendations.",
    )
    health.add_argument("--quarter", required=True, help="the quarter, e.g. 2026-Q3")
    health.add_argument("--customer", help="only the hosts of customer C (see --customers)")
    health.add_argument("--hosts", help="only hosts whose name matches this glob, e.g. 'db-*'")
    health.add_argument("--timezone", default="UTC", help="where quarters begin")
    health.add_argument("--format", choices=("html", "csv", "pdf"), default="html")
    health.add_argument("--language", choices=("en", "zh"), default="en")
    health.add_argument("--table", help="with --format csv: this one table instead of a zip")
    health.add_argument("--inventory", type=Path, help="the inventory file (inventory.yaml)")
    health.add_argument("--customers", type=Path, help="the customers file (host patterns)")
    health.add_argument(
        "--lead-days",
        type=int,
        default=DEFAULT_LEAD_DAYS,
        help="list warranties and support ending within this many days (default 90)",
    )
    _output_and_source(health)


def database_url(args: argparse.Namespace) -> str:
    """The database to read: --database, or the `database` of --config."""
    if args.database:
        url = str(args.database)
    else:
        from collector.config import load_config

        try:
            url = load_config(args.config).database
        except (OSError, ValueError) as exc:
            raise ReportCommandError(f"--config {args.config}: {exc}") from exc
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise ReportCommandError(f"no SQLite database at {parsed.database!r}; check --database")
    return url


def sla_command(args: argparse.Namespace, now: float) -> bytes:
    """The SLA report's bytes in the asked format."""
    from collector.store.database import open_database

    if not 0 < args.commitment <= 100:
        raise ReportCommandError(
            f"--commitment must be a percentage in (0, 100]; got {args.commitment}"
        )
    if args.table and args.format != "csv":
        raise ReportCommandError("--table goes with --format csv")
    try:
        month = Month.parse(args.month, args.timezone)
    except ValueError as exc:
        raise ReportCommandError(str(exc)) from exc
    engine = open_database(database_url(args))
    try:
        options = SlaOptions(month, args.team, args.customer, args.commitment)
        report = build_sla_report(engine, options, now)
    except SQLAlchemyError as exc:
        raise ReportCommandError(
            f"cannot read the database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"
        ) from exc
    finally:
        engine.dispose()
    if args.format == "csv":
        try:
            return render_csv(report, args.language, args.table)
        except ValueError as exc:
            raise ReportCommandError(f"--table: {exc}") from exc
    if args.format == "pdf":
        try:
            return render_pdf(report, args.language)
        except ReportFormatError as exc:
            raise ReportCommandError(str(exc)) from exc
    return render_html(report, args.language).encode("utf-8")


def report_command(argv: Sequence[str], clock: Callable[[], float] = time.time) -> int:
    """Entry point of `watchkeeper report`."""
    args = build_parser().parse_args(list(argv))
    try:
        if args.report == "health":
            from collector.reports.health_cli import health_command

            content = health_command(args, clock())
        else:
            content = sla_command(args, clock())
        args.output.write_bytes(content)
    except ReportCommandError as exc:
        print(f"watchkeeper report {args.report}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(
            f"watchkeeper report {args.report}: cannot write {args.output}: {exc}", file=sys.stderr
        )
        return EXIT_ERROR
    print(f"wrote {args.output} ({len(content)} bytes)")
    return EXIT_OK

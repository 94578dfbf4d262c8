"""The SLA report as HTML (Jinja2 template, inline SVG charts), CSV and PDF (WeasyPrint)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from collector.reports.charts import report_charts
from collector.reports.sla import SlaReport
from collector.reports.tables import TITLES, Language, Table, report_tables

TEMPLATES = Path(__file__).parent / "templates"
HTML_ROWS = 200  # per table in HTML and PDF: a readable page count, and bounded memory
HEADER: dict[str, dict[Language, str]] = {
    "month": {"en": "Month", "zh": "月份"},
    "timezone": {"en": "Time zone", "zh": "时区"},
    "team": {"en": "Team", "zh": "团队"},
    "all_teams": {"en": "all teams", "zh": "所有团队"},
    "customer": {"en": "Customer", "zh": "客户"},
    "all_customers": {"en": "all customers", "zh": "所有客户"},
    "tickets": {"en": "Tickets", "zh": "工单总数"},
    "generated": {"en": "Generated", "zh": "生成时间"},
    "empty": {"en": "Nothing this month.", "zh": "本月无数据。"},
    "more": {
        "en": "The first {shown} of {total} rows; the CSV has them all.",
        "zh": "仅显示 {total} 行中的前 {shown} 行；CSV 文件包含全部数据。",
    },
}


class ReportFormatError(RuntimeError):
    """A format cannot be produced here (PDF without WeasyPrint or its libraries)."""


def render_html(report: SlaReport, language: Language = "en") -> str:
    """The whole report as one self-contained HTML page."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
    )
    titles = {key: names[language] for key, names in TITLES.items()}
    # The charts are built from escaped parts in charts.py.
    charts = {k: Markup(svg) for k, svg in report_charts(report, titles).items()}
    options = report.options
    generated = dt.datetime.fromtimestamp(report.generated_at, dt.UTC)
    return environment.get_template("sla.html").render(
        language=language,
        title=titles["report"],
        header={k: v[language] for k, v in HEADER.items()},
        month=options.month,
        team=options.team,
        customer=options.customer,
        tickets=report.incident_count,
        generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
        limit=HTML_ROWS,
        tables=report_tables(report, language),
        charts=charts,
    )


def table_csv(table: Table) -> str:
    """One table as CSV text, headings first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows(table.rows)
    return out.getvalue()


def render_csv(report: SlaReport, language: Language = "en", table: str | None = None) -> bytes:
    """One table's CSV (`table` by name), or a zip holding one CSV per table."""
    return tables_csv(report_tables(report, language), table)


def tables_csv(tables: list[Table], table: str | None = None) -> bytes:
    """One table's CSV (`table` by name, with a BOM for spreadsheets), or a zip of them all."""
    if table is not None:
        found = {t.name: t for t in tables}
        if table not in found:
            raise ValueError(f"no table {table!r}; the tables are: {', '.join(found)}")
        return table_csv(found[table]).encode("utf-8-sig")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in tables:
            archive.writestr(f"{item.name}.csv", table_csv(item).encode("utf-8-sig"))
    return buffer.getvalue()


def render_pdf(report: SlaReport, language: Language = "en") -> bytes:
    """The HTML report printed to PDF by WeasyPrint (fonts-noto-cjk renders Chinese)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        raise ReportFormatError(
            "PDF needs WeasyPrint and Pango: pip install weasyprint; "
            f"apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk ({exc})"
        ) from exc
    pdf: bytes = HTML(string=render_html(report, language)).write_pdf()
    return pdf

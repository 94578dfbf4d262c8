"""The health report as HTML (inline SVG charts), CSV (a zip of tables) and PDF (WeasyPrint)."""

from __future__ import annotations

import datetime as dt

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from collector.reports.charts import bar_chart
from collector.reports.health import HealthReport
from collector.reports.health_tables import TITLES, health_tables
from collector.reports.render import HTML_ROWS, TEMPLATES, ReportFormatError, tables_csv
from collector.reports.tables import Language

CHART_ROWS = 15
HEADER: dict[str, dict[Language, str]] = {
    "quarter": {"en": "Quarter", "zh": "季度"},
    "timezone": {"en": "Time zone", "zh": "时区"},
    "scope": {"en": "Hosts", "zh": "主机范围"},
    "all_hosts": {"en": "all hosts", "zh": "所有主机"},
    "host_count": {"en": "Hosts in the report", "zh": "报告主机数"},
    "generated": {"en": "Generated", "zh": "生成时间"},
    "empty": {"en": "Nothing to report.", "zh": "无数据。"},
    "more": {
        "en": "The first {shown} of {total} rows; the CSV has them all.",
        "zh": "仅显示 {total} 行中的前 {shown} 行；CSV 文件包含全部数据。",
    },
}
CHART_TITLES: dict[str, dict[Language, str]] = {
    "baselines": {"en": "CPU on a busy day (p95, %)", "zh": "繁忙日 CPU (p95, %)"},
    "filesystems": {"en": "Days until full", "zh": "预计写满天数"},
    "disks": {"en": "SMART risk score", "zh": "SMART 风险分"},
}


def health_charts(report: HealthReport, language: Language) -> dict[str, str]:
    """Charts by section: busiest CPUs, filesystems soonest full, riskiest disks."""
    cpu = sorted((b for b in report.baselines if b.resource == "cpu"), key=lambda b: -b.p95)
    full = [f for f in report.filesystems if f.days_until_full is not None]
    risky = [d for d in report.disks if d.score > 0]
    bars: dict[str, list[tuple[str, float]]] = {
        "baselines": [(b.host, round(100 * b.p95, 1)) for b in cpu[:CHART_ROWS]],
        "filesystems": [
            (f"{f.host} {f.mountpoint}", float(round(f.days_until_full or 0.0)))
            for f in full[:CHART_ROWS]
        ],
        "disks": [(f"{d.host} {d.device}", d.score) for d in risky[:CHART_ROWS]],
    }
    units = {"baselines": " %", "filesystems": "", "disks": ""}
    return {
        name: bar_chart(
            CHART_TITLES[name][language],
            values,
            units[name],
            scale_max=100.0 if name == "baselines" else None,
        )
        for name, values in bars.items()
        if values
    }


def render_health_html(report: HealthReport, language: Language = "en") -> str:
    """The whole report as one self-contained HTML page."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
    )
    # The charts are built from escaped parts in charts.py.
    charts = {k: Markup(svg) for k, svg in health_charts(report, language).items()}
    options = report.options
    generated = dt.datetime.fromtimestamp(report.generated_at, dt.UTC)
    return environment.get_template("health.html").render(
        language=language,
        title=TITLES["report"][language],
        header={k: v[language] for k, v in HEADER.items()},
        quarter=options.quarter,
        scope=options.scope,
        host_count=len(report.hosts),
        generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
        limit=HTML_ROWS,
        tables=health_tables(report, language),
        charts=charts,
    )


def render_health_csv(
    report: HealthReport, language: Language = "en", table: str | None = None
) -> bytes:
    """One table's CSV (`table` by name), or a zip holding one CSV per table."""
    return tables_csv(health_tables(report, language), table)


def render_health_pdf(report: HealthReport, language: Language = "en") -> bytes:
    """The HTML report printed to PDF by WeasyPrint (fonts-noto-cjk renders Chinese)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        raise ReportFormatError(
            "PDF needs WeasyPrint and Pango: pip install weasyprint; "
            f"apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk ({exc})"
        ) from exc
    pdf: bytes = HTML(string=render_health_html(report, language)).write_pdf()
    return pdf

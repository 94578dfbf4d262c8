"""Charts as inline SVG, drawn here so HTML and PDF need no script and no image files."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from collector.reports.figures import HostAvailability
from collector.reports.sla import SlaReport

WIDTH = 520
BAR_HEIGHT = 22
LABEL_WIDTH = 110
COLOURS = {"P1": "#c0392b", "P2": "#e67e22", "P3": "#f1c40f", "P4": "#3498db", "P5": "#95a5a6"}
DEFAULT_COLOUR = "#4a6fa5"
MOST_DOWN_HOSTS = 15  # the availability chart shows the hosts with most downtime


def bar_chart(
    title: str, bars: Sequence[tuple[str, float]], unit: str = "", scale_max: float | None = None
) -> str:
    """Horizontal bars, one per (label, value), each with its value written beside it."""
    top = max([scale_max or 0.0, *(v for _, v in bars)]) or 1.0
    room = WIDTH - LABEL_WIDTH - 70
    height = 4 + BAR_HEIGHT * max(len(bars), 1)
    parts = [  # the section's heading shows the title; the chart carries it for screen readers
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
    ]
    for row, (label, value) in enumerate(bars):
        y = 2 + row * BAR_HEIGHT
        length = room * value / top
        colour = COLOURS.get(label.split(" ")[0], DEFAULT_COLOUR)
        parts += [
            f'<text x="0" y="{y + 14}" font-size="11">{escape(label)}</text>',
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{length:.1f}" height="{BAR_HEIGHT - 6}"'
            f' fill="{colour}"/>',
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 14}" font-size="11">'
            f"{value:g}{escape(unit)}</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)


def report_charts(report: SlaReport, titles: dict[str, str]) -> dict[str, str]:
    """The report's charts by section: tickets per priority, mean MTTR, attainment, and the
    hosts with most downtime (minutes used)."""
    volume = [(p, float(counts[0])) for p, counts in report.volume_by_priority.items()]
    mttr = [(p, round(s.mean / 60, 1)) for p, s in report.mttr.items()]
    met = [
        (f"{a.priority} {a.clock}", round(a.percent, 1))
        for a in report.attainment
        if a.percent is not None
    ]
    down = sorted((a for a in report.availability if a.down_seconds > 0), key=_most_down)
    used = [(a.host, round(a.down_seconds / 60, 1)) for a in down[:MOST_DOWN_HOSTS]]
    charts = {
        "volume_priority": bar_chart(titles["volume_priority"], volume),
        "mttr": bar_chart(titles["mttr"], mttr, " min"),
        "attainment": bar_chart(titles["attainment"], met, " %", scale_max=100.0),
    }
    if used:
        charts["availability"] = bar_chart(titles["availability"], used, " min")
    return charts


def _most_down(host: HostAvailability) -> tuple[float, str]:
    return (-host.down_seconds, host.host)

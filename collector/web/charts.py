"""The host page's 24 h line charts as inline SVG (no script, no image files), drawn from the
short-term history; they scale to the page's width."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from collector.history.recent import RecentSeries
from collector.web.i18n import N_
from collector.web.zones import LocalTimes

WIDTH, HEIGHT, LEFT, BOTTOM = 520, 150, 40, 18
BUCKET_SECONDS = 300.0  # points are 5-minute means: 288 a day keeps the page light
SPAN_SECONDS = 86400.0
NOW = N_("now")  # the right end of the time axis
PALETTE = ("#4a6fa5", "#c0392b", "#27ae60", "#e67e22", "#8e44ad", "#16a085", "#7f8c8d", "#d35400")


@dataclass(frozen=True)
class ChartSpec:
    """One chart: its title key, the metrics it draws, how values are scaled and shown."""

    key: str
    title: str  # translated where shown
    metrics: tuple[str, ...]
    factor: float = 1.0  # ratios are drawn as percent
    unit: str = ""
    floor_max: float = 100.0  # the y axis reaches at least this


CHARTS = (
    ChartSpec("cpu", N_("CPU use"), ("cpu_usage_ratio",), 100.0, "%", 100.0),
    ChartSpec("load", N_("Load per core (1 min)"), ("load1_per_core",), 1.0, "", 1.0),
    ChartSpec(
        "memory", N_("Memory and swap used"), ("memory_used_ratio", "swap_used_ratio"), 100.0, "%"
    ),
    ChartSpec("filesystems", N_("Filesystems used"), ("filesystem_used_ratio",), 100.0, "%"),
    ChartSpec("temperatures", N_("Temperatures"), ("temperature_celsius",), 1.0, "°C", 50.0),
    ChartSpec(
        "network",
        N_("Network (bytes per second)"),
        ("network_receive_bytes_total", "network_transmit_bytes_total"),
        1.0,
        "B/s",
        1024.0,
    ),
)


def buckets(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points as BUCKET_SECONDS means, at each bucket's start."""
    sums: dict[float, list[float]] = {}
    for at, value in points:
        sums.setdefault(at - at % BUCKET_SECONDS, []).append(value)
    return [(at, sum(v) / len(v)) for at, v in sorted(sums.items())]


def _lines(points: list[tuple[float, float]], start: float, top: float) -> list[str]:
    """Polyline point lists, broken where a bucket is missing (the host was silent)."""
    runs: list[list[str]] = []
    previous = None
    for at, value in points:
        x = LEFT + (WIDTH - LEFT) * (at - start) / SPAN_SECONDS
        y = (HEIGHT - BOTTOM) * (1 - min(value / top, 1.0))
        if previous is None or at - previous > BUCKET_SECONDS * 1.5:
            runs.append([])
        runs[-1].append(f"{x:.1f},{y:.1f}")
        previous = at
    return [" ".join(run) for run in runs]


def line_chart(
    spec: ChartSpec,
    series: Sequence[RecentSeries],
    now: float,
    times: LocalTimes,
    gettext: Callable[[str], str],
) -> str:
    """The series of `spec` over the 24 h before `now`, one colour each, with a y scale and
    the reader's clock times (00:00, 06:00, … in `times`' zone) along the bottom."""
    start = now - SPAN_SECONDS
    title = gettext(spec.title)
    scaled = [
        (s, [(at, v * spec.factor) for at, v in buckets(s.points) if at >= start - BUCKET_SECONDS])
        for s in series
    ]
    top = max([spec.floor_max, *(v for _, pts in scaled for _, v in pts)])
    plot = HEIGHT - BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="chart" '
        f'role="img" aria-label="{escape(title)}" preserveAspectRatio="none">',
        f'<line x1="{LEFT}" y1="{plot}" x2="{WIDTH}" y2="{plot}" stroke="#999"/>',
        f'<text x="0" y="10" font-size="10">{escape(_amount(top, spec.unit))}</text>',
        f'<text x="0" y="{plot}" font-size="10">0</text>',
        *_time_marks(start, now, times),
        f'<text x="{WIDTH}" y="{HEIGHT - 4}" font-size="10" text-anchor="end">'
        f"{escape(gettext(NOW))}</text>",
    ]
    for index, (_s, points) in enumerate(scaled):
        colour = PALETTE[index % len(PALETTE)]
        parts += [
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{line}"/>'
            for line in _lines(points, start, top)
        ]
    parts.append("</svg>")
    return "".join(parts)


def _time_marks(start: float, now: float, times: LocalTimes) -> list[str]:
    """A faint line and the wall-clock time at each 6-hour mark of the reader's day; marks
    too close to "now" to be read beside it are left out."""
    marks = []
    for at in times.marks(start, now - SPAN_SECONDS / 24):
        x = LEFT + (WIDTH - LEFT) * (at - start) / SPAN_SECONDS
        marks += [
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" stroke="#e3e8ee"/>',
            f'<text x="{x:.1f}" y="{HEIGHT - 4}" font-size="10" text-anchor="middle">'
            f"{times.clock(at)}</text>",
        ]
    return marks


def _amount(value: float, unit: str) -> str:
    """`value` to 3 significant digits (whole from 100 up); bytes per second in Ki, Mi, Gi."""
    if unit == "B/s":
        for prefix in ("", "Ki", "Mi", "Gi"):
            if abs(value) < 1024 or prefix == "Gi":
                return f"{_digits(value)} {prefix}B/s"
            value /= 1024
    return f"{_digits(value)}{unit}"


def _digits(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def legend(series: Sequence[RecentSeries], spec: ChartSpec) -> list[tuple[str, str, str]]:
    """(colour, name, latest value) for each series of a chart."""
    rows = []
    for index, s in enumerate(series):
        name = s.label or s.metric.removesuffix("_ratio").replace("_", " ")
        latest = _amount(s.points[-1][1] * spec.factor, spec.unit) if s.points else ""
        rows.append((PALETTE[index % len(PALETTE)], name, latest))
    return rows


def host_charts(
    series: Sequence[RecentSeries],
    now: float,
    times: LocalTimes,
    gettext: Callable[[str], str],
) -> list[dict[str, object]]:
    """Each chart with data: its key, SVG (in the reader's zone and language) and legend."""
    charts: list[dict[str, object]] = []
    for spec in CHARTS:
        mine = [s for s in series if s.metric in spec.metrics and s.points]
        if mine:
            svg = line_chart(spec, mine, now, times, gettext)
            charts.append(
                {"key": spec.key, "title": spec.title, "svg": svg, "legend": legend(mine, spec)}
            )
    return charts

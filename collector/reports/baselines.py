"""Health-report figures for resources: CPU, load and memory baselines, filesystem growth and
days until full, network errors — pure functions over daily aggregates, checkable by hand."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from collector.store.history import DayFigures

RESOURCE_METRICS = {  # what the baseline table shows, and the series it reads
    "cpu": ("cpu_usage_ratio", {"cpu": "total"}),
    "load": ("load5_per_core", {}),
    "memory": ("memory_used_ratio", {}),
}
FILESYSTEM_METRICS = ("filesystem_avail_bytes", "filesystem_size_bytes")
NETWORK_METRICS = (
    "network_receive_errors_total",
    "network_transmit_errors_total",
    "network_receive_drops_total",
    "network_transmit_drops_total",
)
GROWTH_WINDOW_DAYS = 30  # "the current rate": the fit over the quarter's last 30 days


def nearest_rank(values: Sequence[float], q: float) -> float:
    """The ⌈q·n⌉-th smallest value (values must not be empty)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def slope_per_day(points: Sequence[tuple[int, float]]) -> float | None:
    """Least-squares slope of (day, value) points; None with fewer than two days."""
    if len({d for d, _ in points}) < 2:
        return None
    n = len(points)
    mean_d = sum(d for d, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    num = sum((d - mean_d) * (v - mean_v) for d, v in points)
    den = sum((d - mean_d) ** 2 for d, _ in points)
    return num / den


@dataclass(frozen=True)
class Baseline:
    """One resource on one host over the quarter.

    `p50`: the median of the daily medians (a typical day); `p95`: the 95th percentile of the
    daily 95th percentiles (a busy day); `peak`: the highest sample; `trend`: the change of the
    daily mean per 30 days (least squares)."""

    host: str
    resource: str
    days: int
    p50: float
    p95: float
    peak: float
    trend: float | None


def baselines(rows: Iterable[DayFigures]) -> list[Baseline]:
    """One Baseline per host and resource that has daily percentiles, by host then resource."""
    wanted = {(m, tuple(sorted(ls.items()))): r for r, (m, ls) in RESOURCE_METRICS.items()}
    per: dict[tuple[str, str], list[DayFigures]] = {}
    for row in rows:
        resource = wanted.get((row.metric, tuple(sorted(row.labels.items()))))
        if resource is not None and row.p50 is not None and row.p95 is not None:
            per.setdefault((row.host, resource), []).append(row)
    order = list(RESOURCE_METRICS)
    keys = sorted(per, key=lambda k: (k[0], order.index(k[1])))
    return [_baseline(host, resource, per[(host, resource)]) for host, resource in keys]


def _baseline(host: str, resource: str, days: list[DayFigures]) -> Baseline:
    slope = slope_per_day([(d.day, d.mean) for d in days])
    return Baseline(
        host,
        resource,
        len(days),
        nearest_rank([d.p50 for d in days if d.p50 is not None], 0.5),
        nearest_rank([d.p95 for d in days if d.p95 is not None], 0.95),
        max(d.maximum for d in days),
        None if slope is None else slope * 30,
    )


@dataclass(frozen=True)
class FilesystemGrowth:
    """One filesystem: size and space left on its last day, growth per day, days until full."""

    host: str
    mountpoint: str
    size_bytes: float
    avail_bytes: float
    growth_bytes_per_day: float | None  # positive: filling up
    days_until_full: float | None  # None: not filling up (or too few days to tell)

    @property
    def used_ratio(self) -> float:
        """Share of the size in use on the last day."""
        return 1 - self.avail_bytes / self.size_bytes if self.size_bytes else 0.0


def filesystem_growth(rows: Iterable[DayFigures], last_day: int) -> list[FilesystemGrowth]:
    """Per filesystem, the space left on its last day and how fast it went over the last
    GROWTH_WINDOW_DAYS days before `last_day` (exclusive): days until full = left / growth."""
    avail: dict[tuple[str, str], list[DayFigures]] = {}
    size: dict[tuple[str, str], float] = {}
    for row in rows:
        key = (row.host, row.labels.get("mountpoint", row.labels.get("device", "")))
        if row.metric == "filesystem_avail_bytes":
            avail.setdefault(key, []).append(row)
        elif row.metric == "filesystem_size_bytes":
            size[key] = row.last
    found = []
    for (host, mount), days in sorted(avail.items()):
        days.sort(key=lambda d: d.day)
        recent = [(d.day, d.last) for d in days if d.day >= last_day - GROWTH_WINDOW_DAYS]
        slope = slope_per_day(recent)
        growth = None if slope is None else -slope
        left = days[-1].last
        until = left / growth if growth is not None and growth > 0 else None
        found.append(
            FilesystemGrowth(host, mount, size.get((host, mount), 0.0), left, growth, until)
        )
    return sorted(found, key=soonest_full)


def soonest_full(fs: FilesystemGrowth) -> tuple[float, str, str]:
    return (
        fs.days_until_full if fs.days_until_full is not None else math.inf,
        fs.host,
        fs.mountpoint,
    )


@dataclass(frozen=True)
class NetworkErrors:
    """One interface's errors and drops over the quarter (sum of the daily increases)."""

    host: str
    interface: str
    errors: float
    drops: float


def most_errors(n: NetworkErrors) -> tuple[float, float, str, str]:
    """Sort key: most errors, then most drops."""
    return (-n.errors, -n.drops, n.host, n.interface)


def network_errors(rows: Iterable[DayFigures]) -> list[NetworkErrors]:
    """Interfaces with any error or drop in the quarter, most errors first."""
    counted: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        if row.metric not in NETWORK_METRICS or not row.increase:
            continue
        key = (row.host, row.labels.get("interface", ""))
        totals = counted.setdefault(key, [0.0, 0.0])
        totals[0 if "errors" in row.metric else 1] += row.increase
    found = [NetworkErrors(h, i, e, d) for (h, i), (e, d) in counted.items() if e or d]
    return sorted(found, key=most_errors)


def by_series(rows: Sequence[DayFigures]) -> dict[tuple[str, str, str], list[DayFigures]]:
    """Rows grouped by (host, metric, labels as text), each group in day order."""

    def key(r: DayFigures) -> tuple[str, str, str]:
        return (r.host, r.metric, repr(sorted(r.labels.items())))

    return {k: sorted(g, key=lambda r: r.day) for k, g in groupby(sorted(rows, key=key), key)}

"""Health-report figures for hardware: SMART risk per disk (ranked), array and controller days
degraded or rebuilding, BMC sensor extremes and failures — pure, over daily aggregates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from collector.reports.baselines import by_series
from collector.store.history import DayFigures

SMART_METRICS = (
    "smart_reallocated_sectors",
    "smart_pending_sectors",
    "smart_offline_uncorrectable_sectors",
    "smart_nvme_media_errors",
    "smart_nvme_percentage_used_ratio",
    "smart_prefail_below_threshold_now",
    "smart_disk_failing",
)
# Points per unit: a failing verdict outranks everything; sectors waiting to be remapped and
# uncorrectable ones outrank sectors already remapped; growth during the quarter counts extra.
SMART_WEIGHTS = {
    "smart_disk_failing": 1000.0,
    "smart_prefail_below_threshold_now": 500.0,
    "smart_pending_sectors": 10.0,
    "smart_offline_uncorrectable_sectors": 10.0,
    "smart_nvme_media_errors": 10.0,
    "smart_reallocated_sectors": 1.0,
}
GROWTH_WEIGHT = 5.0  # per sector reallocated during the quarter
WEAR_POINTS = ((0.9, 200.0), (0.8, 50.0))  # SSD wear (percentage used) from which it counts
HIGH_RISK = 100.0

ARRAY_METRICS = {  # metric: (what it says, whether 1 is the bad value)
    "raid_array_degraded": ("degraded", True),
    "raid_array_failed": ("failed", True),
    "raid_vd_degraded": ("degraded", True),
    "raid_vd_offline": ("offline", True),
    "raid_controller_ok": ("controller fault", False),
    "raid_bbu_ok": ("battery fault", False),
}
REBUILD_METRICS = ("raid_vd_rebuilding", "raid_pd_rebuilding", "raid_array_sync_progress_ratio")
TEMPERATURE_METRICS = (
    "ipmi_temperature_celsius",
    "temperature_celsius",
    "smart_temperature_celsius",
)
FAILURE_METRICS = {"ipmi_fan_stopped": "fan", "ipmi_psu_failed": "power supply"}
HARDWARE_METRICS = (
    *SMART_METRICS,
    *ARRAY_METRICS,
    *REBUILD_METRICS,
    *TEMPERATURE_METRICS,
    *FAILURE_METRICS,
)


@dataclass(frozen=True)
class DiskRisk:
    """One disk's SMART figures on the quarter's last day, what grew, and its risk score."""

    host: str
    device: str
    model: str
    serial: str
    figures: dict[str, float]  # metric: last value
    reallocated_growth: float
    score: float

    @property
    def high(self) -> bool:
        """Worth planning a replacement for."""
        return self.score >= HIGH_RISK

    @property
    def wear(self) -> float | None:
        """An SSD's percentage used (0..1, can pass 1), if it reports one."""
        return self.figures.get("smart_nvme_percentage_used_ratio")


def riskiest(d: DiskRisk) -> tuple[float, str, str]:
    """Sort key: highest score first."""
    return (-d.score, d.host, d.device)


def disk_risks(rows: Sequence[DayFigures]) -> list[DiskRisk]:
    """Every disk with SMART history, riskiest first."""
    disks: dict[tuple[str, str], dict[str, list[DayFigures]]] = {}
    for (host, metric, _), days in by_series(
        [r for r in rows if r.metric in SMART_METRICS]
    ).items():
        disks.setdefault((host, days[0].labels.get("device", "")), {})[metric] = days
    found = [_disk(host, device, series) for (host, device), series in disks.items()]
    return sorted(found, key=riskiest)


def _disk(host: str, device: str, series: dict[str, list[DayFigures]]) -> DiskRisk:
    last = {m: days[-1].last for m, days in series.items()}
    realloc = series.get("smart_reallocated_sectors", [])
    growth = max(0.0, realloc[-1].last - realloc[0].last) if realloc else 0.0
    score = sum(SMART_WEIGHTS.get(m, 0.0) * v for m, v in last.items()) + GROWTH_WEIGHT * growth
    wear = last.get("smart_nvme_percentage_used_ratio")
    score += next(
        (points for edge, points in WEAR_POINTS if wear is not None and wear >= edge), 0.0
    )
    labels = next(iter(series.values()))[-1].labels
    return DiskRisk(
        host, device, labels.get("model", ""), labels.get("serial", ""), last, growth, score
    )


@dataclass(frozen=True)
class ComponentState:
    """An array, virtual disk, controller or battery: days it was bad, days rebuilding, and
    whether it was still bad on its last day."""

    host: str
    component: str
    problem: str
    days_bad: int
    days_rebuilding: int
    bad_at_end: bool


def worst_first(c: ComponentState) -> tuple[bool, int, str, str]:
    """Sort key: still bad at the end first, then most days bad."""
    return (not c.bad_at_end, -c.days_bad, c.host, c.component)


def component_states(rows: Sequence[DayFigures]) -> list[ComponentState]:
    """Components that were bad or rebuilding on any day of the quarter."""
    rebuilding: dict[tuple[str, str], set[int]] = {}
    for row in rows:
        if row.metric in REBUILD_METRICS and _rebuilding(row):
            rebuilding.setdefault((row.host, _component(row.labels)), set()).add(row.day)
    found: dict[tuple[str, str], ComponentState] = {}
    for (host, metric, _), days in by_series(
        [r for r in rows if r.metric in ARRAY_METRICS]
    ).items():
        problem, one_is_bad = ARRAY_METRICS[metric]
        bad = [d for d in days if (d.maximum >= 1 if one_is_bad else d.minimum < 1)]
        end_bad = days[-1].last >= 1 if one_is_bad else days[-1].last < 1
        if bad:
            name = _component(days[0].labels)
            found[(host, name)] = ComponentState(host, name, problem, len(bad), 0, end_bad)
    for (host, name), rebuilt in rebuilding.items():
        state = found.get((host, name)) or ComponentState(host, name, "rebuilt", 0, 0, False)
        found[(host, name)] = ComponentState(
            state.host,
            state.component,
            state.problem,
            state.days_bad,
            len(rebuilt),
            state.bad_at_end,
        )
    return sorted(found.values(), key=worst_first)


def _rebuilding(row: DayFigures) -> bool:
    if row.metric == "raid_array_sync_progress_ratio":
        return row.labels.get("action") in ("recover", "resync") and row.count > 0
    return row.maximum > 0


def _component(labels: dict[str, str]) -> str:
    """`md0`, `c0/0` (controller/virtual disk), `c0/252:1` (controller/drive), `c0`."""
    return "/".join(labels[k] for k in ("controller", "array", "vd", "drive") if k in labels)


@dataclass(frozen=True)
class SensorExtremes:
    """One host's hottest reading (which sensor) and days with a fan or power supply failed."""

    host: str
    max_celsius: float | None
    hottest: str
    fan_failure_days: int
    psu_failure_days: int


def hottest_first(s: SensorExtremes) -> tuple[float, str]:
    """Sort key: the hottest host first, hosts without temperatures last."""
    return (-(s.max_celsius if s.max_celsius is not None else -1e9), s.host)


def sensor_extremes(rows: Iterable[DayFigures]) -> list[SensorExtremes]:
    """Per host with any sensor history, hottest first."""
    hottest: dict[str, tuple[float, str]] = {}
    failures: dict[str, dict[str, set[int]]] = {}
    for row in rows:
        if row.metric in TEMPERATURE_METRICS:
            sensor = row.labels.get("sensor") or row.labels.get("device", row.metric)
            if row.host not in hottest or row.maximum > hottest[row.host][0]:
                hottest[row.host] = (row.maximum, sensor)
        elif row.metric in FAILURE_METRICS and row.maximum >= 1:
            failures.setdefault(row.host, {}).setdefault(FAILURE_METRICS[row.metric], set()).add(
                row.day
            )
    found = []
    for host in sorted({*hottest, *failures}):
        peak, sensor = hottest.get(host, (None, ""))
        failed = failures.get(host, {})
        found.append(
            SensorExtremes(
                host, peak, sensor, len(failed.get("fan", ())), len(failed.get("power supply", ()))
            )
        )
    return sorted(found, key=hottest_first)

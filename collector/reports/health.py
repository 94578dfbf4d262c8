"""The quarterly health-check report: read a quarter of daily aggregates, compute every figure."""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, select

from collector.reports.baselines import (
    FILESYSTEM_METRICS,
    NETWORK_METRICS,
    RESOURCE_METRICS,
    Baseline,
    FilesystemGrowth,
    NetworkErrors,
    baselines,
    filesystem_growth,
    network_errors,
)
from collector.reports.endoflife import DEFAULT_LEAD_DAYS, EndOfLife, ending
from collector.reports.hardware import (
    HARDWARE_METRICS,
    ComponentState,
    DiskRisk,
    SensorExtremes,
    component_states,
    disk_risks,
    sensor_extremes,
)
from collector.reports.inventory import HostInventory, Inventory
from collector.reports.period import Quarter
from collector.store.history import known_history_hosts, read_days
from collector.store.schema import host_events

METRICS = [
    *(m for m, _ in RESOURCE_METRICS.values()),
    *FILESYSTEM_METRICS,
    *NETWORK_METRICS,
    *HARDWARE_METRICS,
]
EVENT_KINDS = ("ipmi_sel", "redfish_log")  # the BMC's event log


@dataclass(frozen=True)
class HealthOptions:
    """What to report on: the quarter, which hosts, how far ahead end of life is flagged."""

    quarter: Quarter
    hosts: Callable[[str], bool] = lambda _host: True
    scope: str = ""  # how the hosts were chosen, for the header ("customer acme", "db-*")
    lead_days: int = DEFAULT_LEAD_DAYS


@dataclass(frozen=True)
class HealthReport:
    """The figures of one quarter for a set of hosts."""

    options: HealthOptions
    generated_at: float
    hosts: list[str]
    baselines: list[Baseline]
    filesystems: list[FilesystemGrowth]
    network: list[NetworkErrors]
    disks: list[DiskRisk]
    components: list[ComponentState]
    sensors: list[SensorExtremes]
    bmc_events: dict[str, int]  # host: event-log entries in the quarter
    inventory: dict[str, HostInventory] = field(default_factory=dict)
    end_of_life: list[EndOfLife] = field(default_factory=list)


def build_health_report(
    engine: Engine, options: HealthOptions, inventory: Inventory, now: float
) -> HealthReport:
    """The report for `options` as of `now` (end of life is counted from `now`'s date)."""
    quarter = options.quarter
    days = quarter.days
    with engine.connect() as conn:
        known = known_history_hosts(conn, days)
        hosts = sorted(h for h in {*known, *inventory.hosts} if options.hosts(h))
        rows = read_days(conn, hosts, METRICS, days)
        events = _event_counts(conn, hosts, (quarter.start, quarter.end))
    chosen = set(hosts)
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return HealthReport(
        options=options,
        generated_at=now,
        hosts=hosts,
        baselines=baselines(rows),
        filesystems=filesystem_growth(rows, days[1]),
        network=network_errors(rows),
        disks=disk_risks(rows),
        components=component_states(rows),
        sensors=sensor_extremes(rows),
        bmc_events=events,
        inventory={h: item for h, item in sorted(inventory.hosts.items()) if h in chosen},
        end_of_life=[e for e in ending(inventory, today, options.lead_days) if e.host in chosen],
    )


def _event_counts(
    conn: Connection, hosts: list[str], period: tuple[float, float]
) -> dict[str, int]:
    t = host_events.c
    statement = select(t.host).where(
        t.kind.in_(EVENT_KINDS), t.time >= period[0], t.time < period[1]
    )
    counts = Counter(r[0] for r in conn.execute(statement) if r[0] in set(hosts))
    return dict(sorted(counts.items()))


def host_filter(glob: str | None, patterns: list[str] | None) -> Callable[[str], bool]:
    """Hosts matching `glob` and, when given, one of a customer's host patterns."""

    def chosen(host: str) -> bool:
        if glob is not None and not fnmatch.fnmatchcase(host, glob):
            return False
        return patterns is None or any(fnmatch.fnmatchcase(host, p) for p in patterns)

    return chosen

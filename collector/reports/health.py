"""The quarterly health-check report: read a quarter of daily aggregates, compute every figure."""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, select

from agent.report import InventoryItem
from collector.reports.baselines import (
    FILESYSTEM_METRICS,
    NETWORK_METRICS,
    RESOURCE_METRICS,
    Baseline,
    FilesystemGrowth,
    NetworkErrors,
    baselines,
    filesystem_growth,
    most_errors,
    network_errors,
    soonest_full,
)
from collector.reports.endoflife import DEFAULT_LEAD_DAYS, EndOfLife, ending
from collector.reports.hardware import (
    HARDWARE_METRICS,
    ComponentState,
    DiskRisk,
    SensorExtremes,
    component_states,
    disk_risks,
    hottest_first,
    riskiest,
    sensor_extremes,
    worst_first,
)
from collector.reports.inventory import HostInventory, Inventory
from collector.reports.period import Quarter
from collector.reports.seen import NO_HARDWARE, SeenHardware
from collector.store.history import DayFigures, known_history_hosts, read_days
from collector.store.schema import host_events

METRICS = [
    *(m for m, _ in RESOURCE_METRICS.values()),
    *FILESYSTEM_METRICS,
    *NETWORK_METRICS,
    *HARDWARE_METRICS,
]
EVENT_KINDS = ("ipmi_sel", "redfish_log")  # the BMC's event log
HOSTS_AT_ONCE = 100


@dataclass(frozen=True)
class BmcEvent:
    """One BMC event-log entry (IPMI SEL, Redfish log)."""

    host: str
    time: float
    kind: str
    message: str


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
    hardware: dict[str, list[InventoryItem]] = field(default_factory=dict)  # probes' view
    bmc_log: list[BmcEvent] = field(default_factory=list)  # the quarter's entries, oldest first


def build_health_report(
    engine: Engine,
    options: HealthOptions,
    inventory: Inventory,
    now: float,
    hardware: SeenHardware = NO_HARDWARE,
) -> HealthReport:
    """The report for `options` as of `now` (end of life is counted from `now`'s date), with
    the hardware the probes identified when `hardware` knows it."""
    quarter = options.quarter
    days = quarter.days
    with engine.connect() as conn:
        known = known_history_hosts(conn, days)
        named = {*known, *inventory.hosts, *hardware.hosts()}
        hosts = sorted(h for h in named if options.hosts(h))
        figures = _Figures()
        for start in range(0, len(hosts), HOSTS_AT_ONCE):  # bounded memory: a chunk's rows
            figures.add(read_days(conn, hosts[start : start + HOSTS_AT_ONCE], METRICS, days), days)
        events = _bmc_events(conn, hosts, (quarter.start, quarter.end))
    chosen = set(hosts)
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return HealthReport(
        options=options,
        generated_at=now,
        hosts=hosts,
        baselines=figures.baselines,
        filesystems=sorted(figures.filesystems, key=soonest_full),
        network=sorted(figures.network, key=most_errors),
        disks=sorted(figures.disks, key=riskiest),
        components=sorted(figures.components, key=worst_first),
        sensors=sorted(figures.sensors, key=hottest_first),
        bmc_events=dict(sorted(Counter(e.host for e in events).items())),
        bmc_log=events,
        inventory={h: item for h, item in sorted(inventory.hosts.items()) if h in chosen},
        end_of_life=[e for e in ending(inventory, today, options.lead_days) if e.host in chosen],
        hardware={h: found for h in hosts if (found := hardware.of(h))},
    )


@dataclass
class _Figures:
    """Figures gathered chunk by chunk of hosts (each host's rows are in one chunk)."""

    baselines: list[Baseline] = field(default_factory=list)
    filesystems: list[FilesystemGrowth] = field(default_factory=list)
    network: list[NetworkErrors] = field(default_factory=list)
    disks: list[DiskRisk] = field(default_factory=list)
    components: list[ComponentState] = field(default_factory=list)
    sensors: list[SensorExtremes] = field(default_factory=list)

    def add(self, rows: list[DayFigures], days: tuple[int, int]) -> None:
        self.baselines += baselines(rows)
        self.filesystems += filesystem_growth(rows, days[1])
        self.network += network_errors(rows)
        self.disks += disk_risks(rows)
        self.components += component_states(rows)
        self.sensors += sensor_extremes(rows)


def _bmc_events(conn: Connection, hosts: list[str], period: tuple[float, float]) -> list[BmcEvent]:
    """The BMC event-log entries of the quarter on these hosts, oldest first."""
    t = host_events.c
    statement = (
        select(t.host, t.time, t.kind, t.message)
        .where(t.kind.in_(EVENT_KINDS), t.time >= period[0], t.time < period[1])
        .order_by(t.time, t.id)
    )
    wanted = set(hosts)
    return [BmcEvent(*r) for r in conn.execute(statement) if r[0] in wanted]


def host_filter(glob: str | None, patterns: list[str] | None) -> Callable[[str], bool]:
    """Hosts matching `glob` and, when given, one of a customer's host patterns."""

    def chosen(host: str) -> bool:
        if glob is not None and not fnmatch.fnmatchcase(host, glob):
            return False
        return patterns is None or any(fnmatch.fnmatchcase(host, p) for p in patterns)

    return chosen

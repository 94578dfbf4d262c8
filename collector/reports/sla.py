"""The monthly SLA report: read a month from the store, compute every figure, as one value."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from collector.noise.silences import Silence
from collector.reports import queries
from collector.reports.figures import (
    Attainment,
    Breach,
    HostAvailability,
    RuleNoise,
    TimeStats,
    attainment,
    availability,
    count_by,
    noise,
    p1_intervals,
    stats_by_priority,
    time_to_acknowledge,
    time_to_resolve,
)
from collector.reports.maintenance import window_intervals
from collector.reports.period import Month
from collector.reports.records import DeliveryRecord, IncidentRecord

TREND_MONTHS = 2  # months before the report's month shown beside it


@dataclass(frozen=True)
class SlaOptions:
    """What to report on: the month, one team or all, the availability commitment."""

    month: Month
    team: str | None = None
    commitment: float = 99.9  # percent
    top_rules: int = 10


@dataclass(frozen=True)
class MonthData:
    """Everything the report reads from the store for its month."""

    opened: list[IncidentRecord]
    previous: list[list[IncidentRecord]]  # one list per earlier month, the latest first
    p1_overlapping: list[IncidentRecord]
    maintenance: list[Silence]
    hosts: list[str]
    deliveries: list[DeliveryRecord]


@dataclass(frozen=True)
class SlaReport:
    """The figures of one month (for one team, or all)."""

    options: SlaOptions
    generated_at: float
    incident_count: int
    volume_by_priority: dict[str, list[int]]  # priority: [this month, -1, -2]
    volume_by_source: dict[str, int]
    volume_by_rule: dict[str, int]
    volume_by_customer: dict[str, int]
    mtta: dict[str, TimeStats]
    mttr: dict[str, TimeStats]
    attainment: list[Attainment]
    breaches: list[Breach]
    availability: list[HostAvailability]
    noise: list[RuleNoise] = field(default_factory=list)


def read_month(engine: Engine, options: SlaOptions) -> MonthData:
    """Read the month (and the months of the trend) from the store, filtered to the team."""
    month = options.month
    with engine.connect() as conn:
        opened = queries.incidents_opened(conn, (month.start, month.end))
        previous = [
            queries.incidents_opened(conn, (m.start, m.end))
            for m in (month.shifted(-n) for n in range(1, TREND_MONTHS + 1))
        ]
        p1s = queries.p1_incidents_overlapping(conn, (month.start, month.end))
        windows = queries.maintenance_windows(conn, (month.start, month.end))
        hosts = queries.known_hosts(conn)
        sent = queries.deliveries(conn, (month.start, month.end))
    if options.team is not None:
        team = options.team
        opened, p1s = _of_team(opened, team), _of_team(p1s, team)
        previous = [_of_team(items, team) for items in previous]
        hosts = []  # a team's hosts are those of its incidents
        sent = [d for d in sent if d.team == team]
    hosts = sorted({*hosts, *(h for i in [*opened, *p1s] for h in i.hosts)})
    return MonthData(opened, previous, p1s, windows, hosts, sent)


def _of_team(incidents: list[IncidentRecord], team: str) -> list[IncidentRecord]:
    return [i for i in incidents if i.team == team]


def build_sla_report(engine: Engine, options: SlaOptions, now: float) -> SlaReport:
    """The report for `options`, as of `now` (clocks still running at `now` are not decided)."""
    return compute_sla_report(read_month(engine, options), options, now)


def compute_sla_report(data: MonthData, options: SlaOptions, now: float) -> SlaReport:
    """Every figure of the report from the month's data (pure)."""
    month = options.month
    decided_at = min(now, month.end)
    rows, breaches = attainment(data.opened, now)
    return SlaReport(
        options=options,
        generated_at=now,
        incident_count=len(data.opened),
        volume_by_priority=_priority_trend(data.opened, data.previous),
        volume_by_source=count_by(data.opened, lambda i: i.source),
        volume_by_rule=count_by(data.opened, lambda i: i.rule or "(opened by a person)"),
        volume_by_customer=count_by(data.opened, lambda i: i.customer or "(none)"),
        mtta=stats_by_priority(data.opened, time_to_acknowledge),
        mttr=stats_by_priority(data.opened, time_to_resolve),
        attainment=rows,
        breaches=breaches,
        availability=_availability(data, options, decided_at),
        noise=noise(data.opened, data.deliveries, options.top_rules),
    )


def _priority_trend(
    current: Sequence[IncidentRecord], previous: Sequence[Sequence[IncidentRecord]]
) -> dict[str, list[int]]:
    months = [count_by(current, lambda i: i.priority)] + [
        count_by(items, lambda i: i.priority) for items in previous
    ]
    seen = sorted({p for counts in months for p in counts})
    return {p: [counts.get(p, 0) for counts in months] for p in seen}


def _availability(data: MonthData, options: SlaOptions, now: float) -> list[HostAvailability]:
    month = options.month
    period = (month.start, month.end)
    names = sorted({*data.hosts, *(h for i in data.p1_overlapping for h in i.hosts)})
    result = []
    for host in names:
        windows = [
            interval
            for silence in data.maintenance
            if silence.matches({"host": host})
            for interval in window_intervals(silence, period)
        ]
        down = p1_intervals(data.p1_overlapping, host, now)
        result.append(availability(host, period, down, windows, options.commitment))
    return result

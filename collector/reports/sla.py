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
    time_to_first_update,
    time_to_resolve,
)
from collector.reports.maintenance import window_intervals
from collector.reports.period import Month
from collector.reports.records import DeliveryRecord, IncidentRecord
from collector.reports.satisfaction import SatisfactionFigures, satisfaction_figures
from collector.store.feedback import Satisfaction, answers_by_number

TREND_MONTHS = 2  # months before the report's month shown beside it


@dataclass(frozen=True)
class SlaOptions:
    """What to report on: the month, one team and/or customer or all, the commitment."""

    month: Month
    team: str | None = None  # the incidents' `team` label
    customer: str | None = None  # the incidents' `customer` label
    commitment: float = 99.9  # percent
    top_rules: int = 10

    @property
    def wanted(self) -> dict[str, str]:
        """The labels an incident must carry to be in the report (none: all incidents)."""
        pairs = {"team": self.team, "customer": self.customer}
        return {k: v for k, v in pairs.items() if v is not None}

    def selects(self, labels: dict[str, str]) -> bool:
        """Whether an incident with `labels` belongs in the report."""
        return all(labels.get(k) == v for k, v in self.wanted.items())


@dataclass(frozen=True)
class MonthData:
    """Everything the report reads from the store for its month."""

    opened: list[IncidentRecord]
    previous: list[list[IncidentRecord]]  # one list per earlier month, the latest first
    p1_overlapping: list[IncidentRecord]  # open at some moment of the month
    maintenance: list[Silence]
    hosts: list[str]
    deliveries: list[DeliveryRecord]
    answers: dict[str, Satisfaction] = field(default_factory=dict)  # by ticket number


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
    volume_by_category: dict[str, int]  # from root causes
    mtta: dict[str, TimeStats]
    mttr: dict[str, TimeStats]
    first_update: dict[str, TimeStats]  # open → first progress update with a person's note
    attainment: list[Attainment]
    breaches: list[Breach]
    availability: list[HostAvailability]
    noise: list[RuleNoise] = field(default_factory=list)
    satisfaction: SatisfactionFigures = field(default_factory=SatisfactionFigures)


def read_month(engine: Engine, options: SlaOptions) -> MonthData:
    """Read the month (and the months of the trend) from the store, filtered by label."""
    month = options.month
    with engine.connect() as conn:
        opened = queries.incidents_opened(conn, (month.start, month.end))
        previous = [
            queries.incidents_counted(conn, (m.start, m.end))
            for m in (month.shifted(-n) for n in range(1, TREND_MONTHS + 1))
        ]
        p1s = queries.p1_incidents_open_at(conn, month.start)
        p1s += [i for i in opened if i.priority == "P1"]
        windows = queries.maintenance_windows(conn, (month.start, month.end))
        hosts = queries.known_hosts(conn)
        sent = queries.deliveries(conn, (month.start, month.end))
    if options.wanted:
        opened, p1s = _selected(opened, options), _selected(p1s, options)
        previous = [_selected(items, options) for items in previous]
        hosts = []  # a team's or customer's hosts are those of its incidents
        sent = [d for d in sent if options.selects(d.labels)]
    hosts = sorted({*hosts, *(h for i in [*opened, *p1s] for h in i.hosts)})
    with engine.connect() as conn:  # the customers' verification answers and ratings
        answers = answers_by_number(conn, [i.number for i in opened])
    return MonthData(opened, previous, p1s, windows, hosts, sent, answers)


def _selected(incidents: list[IncidentRecord], options: SlaOptions) -> list[IncidentRecord]:
    return [i for i in incidents if options.selects(i.labels)]


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
        volume_by_category=count_by(data.opened, lambda i: i.category or "(no root cause)"),
        mtta=stats_by_priority(data.opened, time_to_acknowledge),
        mttr=stats_by_priority(data.opened, time_to_resolve),
        first_update=stats_by_priority(data.opened, time_to_first_update),
        attainment=rows,
        breaches=breaches,
        availability=_availability(data, options, decided_at),
        noise=noise(data.opened, data.deliveries, options.top_rules),
        satisfaction=satisfaction_figures(data.answers),
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
    down = p1_intervals(data.p1_overlapping, now)
    names = sorted({*data.hosts, *down})
    result = []
    for host in names:
        windows = [
            interval
            for silence in data.maintenance
            if silence.matches({"host": host})
            for interval in window_intervals(silence, period)
        ]
        result.append(availability(host, period, down.get(host, []), windows, options.commitment))
    return result

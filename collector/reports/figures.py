"""The SLA report's figures: pure functions over records, each checkable by hand."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from collector.reports.intervals import clipped, subtracted, total
from collector.reports.records import DeliveryRecord, IncidentRecord, Interval

PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
CLOCKS = ("ack", "update", "resolve")


def count_by(
    incidents: Iterable[IncidentRecord], key: Callable[[IncidentRecord], str]
) -> dict[str, int]:
    """How many incidents per value of `key`, largest first (ties by name)."""
    counts = Counter(key(i) for i in incidents)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True)
class TimeStats:
    """Durations in seconds: how many, their mean, median and 90th percentile."""

    count: int
    mean: float
    median: float
    p90: float


def time_stats(durations: Sequence[float]) -> TimeStats | None:
    """Mean, median and p90 (nearest rank: the ⌈0.9·n⌉-th smallest); None for no durations."""
    if not durations:
        return None
    ordered = sorted(durations)
    n = len(ordered)
    middle = n // 2
    median = ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    p90 = ordered[math.ceil(0.9 * n) - 1]
    return TimeStats(n, sum(ordered) / n, median, p90)


def time_to_acknowledge(incident: IncidentRecord) -> float | None:
    """Open → first acknowledgement (None: never acknowledged)."""
    ack = incident.first_ack_at
    return None if ack is None else ack - incident.opened_at


def time_to_resolve(incident: IncidentRecord) -> float | None:
    """Open → resolved (None: not resolved)."""
    done = incident.resolved_at
    return None if done is None else done - incident.opened_at


def time_to_first_update(incident: IncidentRecord) -> float | None:
    """Open → the first progress update carrying a person's note (None: there was none)."""
    update = incident.first_update_at
    return None if update is None else update - incident.opened_at


def stats_by_priority(
    incidents: Iterable[IncidentRecord], duration: Callable[[IncidentRecord], float | None]
) -> dict[str, TimeStats]:
    """`duration`'s statistics per priority (priorities without any left out)."""
    per: dict[str, list[float]] = {}
    for incident in incidents:
        value = duration(incident)
        if value is not None:
            per.setdefault(incident.priority, []).append(value)
    found = {p: time_stats(v) for p, v in sorted(per.items())}
    return {p: s for p, s in found.items() if s is not None}


@dataclass(frozen=True)
class Breach:
    """One missed SLA clock: which ticket, which clock, and by how much."""

    number: str
    priority: str
    clock: str
    due_at: float
    late_seconds: float  # for `update`: 0 (the count is in `missed`)
    missed: int = 1
    cause: str = ""  # the incident's root cause, when one was recorded


@dataclass(frozen=True)
class Attainment:
    """One priority's record on one clock: met, breached, still running."""

    priority: str
    clock: str
    met: int
    breached: int
    running: int

    @property
    def percent(self) -> float | None:
        """Met as a share of the decided ones (None when none is decided yet)."""
        decided = self.met + self.breached
        return None if decided == 0 else 100.0 * self.met / decided


def clock_outcome(incident: IncidentRecord, clock: str, now: float) -> tuple[str, float]:
    """`met`, `breached` (with seconds late) or `running` for an ack or resolve clock.

    As the incident core decides: stopped before its due time is met; reaching the due time
    unstopped is a breach (late by `now` − due while it keeps running).
    """
    _start, due = incident.clocks[clock]
    stopped = incident.clock_stop(clock)
    at = stopped if stopped is not None else now
    if at >= due:
        return "breached", at - due
    return ("met", 0.0) if stopped is not None else ("running", 0.0)


def attainment(
    incidents: Iterable[IncidentRecord], now: float
) -> tuple[list[Attainment], list[Breach]]:
    """Per priority and clock: met / breached / running, and every breach."""
    tally: dict[tuple[str, str], Counter[str]] = {}
    breaches: list[Breach] = []
    for incident in incidents:
        for clock in CLOCKS:
            outcome, late = _outcome(incident, clock, now)
            if outcome is None:
                continue
            tally.setdefault((incident.priority, clock), Counter())[outcome] += 1
            if outcome == "breached":
                due = incident.clocks[clock][1] if clock in incident.clocks else 0.0
                missed = incident.updates_missed if clock == "update" else 1
                breaches.append(
                    Breach(
                        incident.number, incident.priority, clock, due, late, missed, incident.cause
                    )
                )
    order = {c: n for n, c in enumerate(CLOCKS)}
    rows = [
        Attainment(p, c, t["met"], t["breached"], t["running"])
        for (p, c), t in sorted(tally.items(), key=lambda kv: (kv[0][0], order[kv[0][1]]))
    ]
    breaches.sort(key=lambda b: (b.priority, order[b.clock], b.number))
    return rows, breaches


def _outcome(incident: IncidentRecord, clock: str, now: float) -> tuple[str | None, float]:
    if clock == "update":
        if incident.update_target is None:
            return None, 0.0
        return ("breached" if incident.updates_missed else "met"), 0.0
    if clock not in incident.clocks:
        return None, 0.0
    return clock_outcome(incident, clock, now)


@dataclass(frozen=True)
class HostAvailability:
    """One host's month: time measured (the month less maintenance), down, and the budget."""

    host: str
    measured_seconds: float
    maintenance_seconds: float
    down_seconds: float
    commitment: float  # percent, e.g. 99.9

    @property
    def percent(self) -> float:
        """Time up as a share of the time measured."""
        if self.measured_seconds <= 0:
            return 100.0
        return 100.0 * (1 - self.down_seconds / self.measured_seconds)

    @property
    def allowed_seconds(self) -> float:
        """Downtime the commitment allows over the time measured."""
        return self.measured_seconds * (100.0 - self.commitment) / 100.0

    @property
    def met(self) -> bool:
        """Whether the downtime stayed within what the commitment allows."""
        return self.down_seconds <= self.allowed_seconds + 1e-9


def p1_intervals(incidents: Iterable[IncidentRecord], now: float) -> dict[str, list[Interval]]:
    """Per host, when a P1 was open on it: open → resolved (or closed, or `now` if neither)."""
    found: dict[str, list[Interval]] = {}
    for incident in incidents:
        if incident.priority == "P1":
            end = incident.resolved_at or incident.closed_at or now
            for host in incident.hosts:
                found.setdefault(host, []).append((incident.opened_at, end))
    return found


def availability(
    host: str,
    period: Interval,
    p1_open: Iterable[Interval],
    maintenance: Iterable[Interval],
    commitment: float = 99.9,
) -> HostAvailability:
    """`host`'s availability over `period`: maintenance windows count neither as down nor as
    measured time (an outage inside a window costs nothing)."""
    windows = clipped(maintenance, period)
    measured = subtracted([period], windows)
    down = subtracted(clipped(p1_open, period), windows)
    return HostAvailability(host, total(measured), total(windows), total(down), commitment)


@dataclass(frozen=True)
class RuleNoise:
    """One rule's noise: notifications sent, flaps, and how often people acknowledged."""

    rule: str
    incidents: int
    notifications_sent: int
    flaps: int
    acknowledged: int

    @property
    def ack_rate(self) -> float:
        """Acknowledged incidents as a percentage of the rule's incidents."""
        return 0.0 if self.incidents == 0 else 100.0 * self.acknowledged / self.incidents


def noise(
    incidents: Sequence[IncidentRecord], deliveries: Iterable[DeliveryRecord], top: int = 10
) -> list[RuleNoise]:
    """Rules ranked by notifications sent, then by flaps: where tuning pays off first."""
    sent = Counter(d.rule for d in deliveries if d.status == "sent")
    by_rule: dict[str, list[IncidentRecord]] = {}
    for incident in incidents:
        if incident.rule:
            by_rule.setdefault(incident.rule, []).append(incident)
    rows = [
        RuleNoise(
            rule,
            len(items),
            sent.get(rule, 0),
            sum(i.flaps for i in items),
            sum(1 for i in items if i.first_ack_at is not None),
        )
        for rule, items in by_rule.items()
    ]
    rows.sort(key=lambda r: (-r.notifications_sent, -r.flaps, r.rule))
    return rows[:top]

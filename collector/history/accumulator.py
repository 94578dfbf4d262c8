"""Every series' open days in memory, fed by each report; the flush takes what changed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from agent.report import ProbeResult, Report
from collector.history.daily import DayAggregate, day_of, new_day

SeriesKey = tuple[str, str, tuple[tuple[str, str], ...]]  # host, metric, sorted labels
TAKE_SLICE = 2000  # series per hold of the lock while a flush takes its snapshots


@dataclass(frozen=True)
class DayRow:
    """One series' day as it is written: the key, and a snapshot of its figures."""

    host: str
    metric: str
    labels: dict[str, str]
    aggregate: DayAggregate

    @property
    def closed(self) -> bool:
        """The day is over: written without its sketch."""
        return self.aggregate.sketch is None


class HistoryAccumulator:
    """Today and yesterday of every series, by series key, in memory.

    `observe` runs on ingest threads and only touches memory. `take_changed` hands the flush a
    snapshot of every day that changed, seals the days before `today` (percentiles fixed,
    sketch dropped) and forgets days older than yesterday. Samples older than yesterday (a
    replay from an agent's spool after a long outage) are not counted: their day's row is final.
    """

    def __init__(self) -> None:
        self._days: dict[SeriesKey, list[DayAggregate]] = {}  # oldest first, at most 2
        self._latest: dict[SeriesKey, DayAggregate] = {}  # each series' newest day (fast path)
        # Per host and probe, the last cycle's (metric, labels, key) per sample position.
        self._shapes: dict[tuple[str, str], list[tuple[str, dict[str, str], SeriesKey]]] = {}
        self._lock = threading.Lock()
        self._floor: int | None = None  # the oldest day still taking samples
        self.ignored = 0  # samples older than the floor

    def __len__(self) -> int:
        return len(self._days)

    def observe(self, report: Report, at: float) -> None:
        """Count every numeric sample of `report`, measured at `at`, in its series' day."""
        day = day_of(at)
        with self._lock:
            if self._floor is not None and day < self._floor:
                self.ignored += sum(len(r.samples) for r in report.probes)
                return
            latest = self._latest
            for result in report.probes:
                host = result.target or report.host
                keys = self._keys_of(host, result)
                for sample, key in zip(result.samples, keys, strict=True):
                    value = sample.value
                    if value.__class__ is str or value != value:  # noqa: PLR0124 - states, NaN
                        continue
                    aggregate = latest.get(key)
                    if aggregate is None or aggregate.day != day:
                        aggregate = self._aggregate(key, day)
                    aggregate.add(value, at)  # type: ignore[arg-type]

    def _keys_of(self, host: str, result: ProbeResult) -> list[SeriesKey]:
        """Each sample's series key; a probe sends the same series in the same order every
        cycle, so the last cycle's keys are reused where metric and labels are equal."""
        shape = self._shapes.get((host, result.probe), [])
        keys: list[SeriesKey] = []
        same = len(shape) == len(result.samples)
        for index, sample in enumerate(result.samples):
            if index < len(shape):
                metric, labels, key = shape[index]
                if metric == sample.metric and labels == sample.labels:
                    keys.append(key)
                    continue
            same = False
            labels = sample.labels
            keys.append((host, sample.metric, tuple(sorted(labels.items())) if labels else ()))
        if not same:
            self._shapes[(host, result.probe)] = [
                (s.metric, s.labels, k) for s, k in zip(result.samples, keys, strict=True)
            ]
        return keys

    def _aggregate(self, key: SeriesKey, day: int) -> DayAggregate:
        days = self._days.get(key)
        if days is None:
            days = self._days[key] = []
        for aggregate in days:
            if aggregate.day == day:
                return aggregate
        before = [a for a in days if a.day < day]
        fresh = new_day(key[1], day, before[-1] if before else None)
        days.append(fresh)
        days.sort(key=lambda a: a.day)
        self._latest[key] = days[-1]
        return fresh

    def take_changed(self, today: int) -> list[DayRow]:
        """Snapshots of every changed day and of every day that has just ended.

        Taken a slice of series at a time: ingest's `observe` waits for this lock, and a
        thousand hosts' series took seconds in one go."""
        rows: list[DayRow] = []
        with self._lock:
            self._floor = today - 1
            keys = list(self._days)
        for start in range(0, len(keys), TAKE_SLICE):
            with self._lock:
                self._take(keys[start : start + TAKE_SLICE], today, rows)
            time.sleep(0)  # let the event loop have the GIL between slices
        return rows

    def _take(self, keys: list[SeriesKey], today: int, rows: list[DayRow]) -> None:
        assert self._floor is not None
        for key in keys:
            days = self._days.get(key)
            if days is None:
                continue
            for aggregate in days:
                ended = aggregate.day < today and not aggregate.sealed
                if aggregate.changed or ended:
                    snapshot = aggregate.snapshot(seal=aggregate.day < today)
                    rows.append(DayRow(key[0], key[1], dict(key[2]), snapshot))
            kept = [a for a in days if a.day >= self._floor]
            if kept:
                self._days[key] = kept
            else:
                del self._days[key]
                del self._latest[key]

    def requeue(self, rows: Iterable[DayRow]) -> None:
        """Write these days again at the next flush (the store refused them)."""
        with self._lock:
            for row in rows:
                key = (row.host, row.metric, tuple(sorted(row.labels.items())))
                for aggregate in self._days.get(key, []):
                    if aggregate.day == row.aggregate.day:
                        aggregate.changed = True

    def load(self, rows: Iterable[DayRow], today: int) -> None:
        """Seed today and yesterday from the store after a restart."""
        with self._lock:
            self._floor = today - 1
            for row in rows:
                key = (row.host, row.metric, tuple(sorted(row.labels.items())))
                days = self._days.setdefault(key, [])
                days.append(row.aggregate)
                days.sort(key=lambda a: a.day)
                self._latest[key] = days[-1]

"""One series' aggregate over one UTC day: count, min, max, sum, last, counter increase, sketch."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from collector.history.sketch import QuantileSketch

DAY = 86400.0

# Series whose distribution matters in reports: they keep a quantile sketch (p50, p95).
# The rest keep min / max / mean / last / count (and counters their increase).
PERCENTILE_METRICS = frozenset(
    {
        "cpu_usage_ratio",
        "load1_per_core",
        "load5_per_core",
        "load15_per_core",
        "memory_used_ratio",
        "swap_used_ratio",
        "filesystem_used_ratio",
        "temperature_celsius",
        "ipmi_temperature_celsius",
        "smart_temperature_celsius",
        "ipmi_power_watts",
        "power_watts",
        "network_probe_latency_seconds",
    }
)


def day_of(at: float) -> int:
    """The UTC day (days since 1970-01-01) a Unix time falls in."""
    return int(at // DAY)


def is_counter(metric: str) -> bool:
    """Counters only grow (a reset starts again from zero): their daily figure is the increase."""
    return metric.endswith("_total")


@dataclass(slots=True)  # one per series and day in memory: no per-object __dict__
class DayAggregate:
    """The running figures of one series on one day (the open day keeps its sketch)."""

    day: int
    count: int = 0
    minimum: float = 0.0
    maximum: float = 0.0
    total: float = 0.0
    last: float = 0.0
    last_at: float = 0.0
    increase: float | None = None  # counters only
    previous: float | None = None  # a counter's value before this day's first sample
    sketch: QuantileSketch | None = None  # dropped when the day is sealed
    p50: float | None = None  # read from the sketch at each snapshot
    p95: float | None = None
    changed: bool = field(default=False, compare=False)
    sealed: bool = field(default=False, compare=False)  # written as a finished day

    def add(self, value: float, at: float) -> None:
        """Take one sample (samples older than the last one still count, but not as `last`)."""
        if self.count:
            if at == self.last_at:
                return  # the same report again (an agent's retry): counted once
            if value < self.minimum:
                self.minimum = value
            elif value > self.maximum:
                self.maximum = value
        else:
            self.minimum = self.maximum = value
        self.count += 1
        self.total += value
        if self.sketch is not None:
            self.sketch.add(value)
        if at >= self.last_at:
            if self.increase is not None:
                self._count_increase(value)
            self.last, self.last_at = value, at
        self.changed = True

    def _count_increase(self, value: float) -> None:
        before = self.previous if self.count == 1 else self.last
        if before is not None:
            # A counter that went down was reset: it counted `value` since the reset.
            self.increase = (self.increase or 0.0) + (value - before if value >= before else value)

    @property
    def mean(self) -> float:
        """The mean of the day's samples."""
        return self.total / self.count if self.count else 0.0

    def quantile(self, q: float) -> float | None:
        """The sketch's quantile clamped to the day's exact min and max (None: no sketch)."""
        if self.sketch is None or self.count == 0:
            return None
        value = self.sketch.quantile(q)
        return None if value is None else min(max(value, self.minimum), self.maximum)

    def snapshot(self, seal: bool) -> DayAggregate:
        """A copy to write; `seal` ends the day: percentiles fixed, sketch dropped."""
        if self.sketch is not None:
            self.p50, self.p95 = self.quantile(0.5), self.quantile(0.95)
        copy = replace(self, sketch=None if seal else self.sketch)
        self.changed = False
        if seal:
            self.sealed, self.sketch = True, None
        return copy


def new_day(metric: str, day: int, previous: DayAggregate | None) -> DayAggregate:
    """An empty aggregate for `day`; a counter starts from the day before's last value."""
    counter = is_counter(metric)
    return DayAggregate(
        day,
        increase=0.0 if counter else None,
        previous=previous.last if counter and previous is not None and previous.count else None,
        sketch=QuantileSketch() if metric in PERCENTILE_METRICS else None,
    )

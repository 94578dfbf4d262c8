"""The console's short-term history: the last 24 h of a few key series per host, one value a
minute, in fixed ring buffers.

Ingest calls `observe` for every report; it costs a dictionary look-up unless the host's minute
changed, so a host reporting every 10 s is read once a minute. Memory is bounded: per host one
int32 minute stamp and one float32 per charted series for each of the 1,440 slots, at most
MAX_SERIES series and PER_METRIC of one metric (about 6 KB per series, under 150 KB per host).
Byte counters are kept as rates (bytes/s since the previous minute's reading), so float32
loses nothing that matters. Long-term history is Prometheus' job (and the daily aggregates').
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from agent.report import Report, Sample

SLOTS = 24 * 60  # one a minute for 24 h
MAX_SERIES = 24  # per host
PER_METRIC = 6  # filesystems, interfaces (in and out) or sensors past this are not charted

# The charted metrics and the labels that tell their series apart (none when single).
CHARTED: dict[str, tuple[str, ...]] = {
    "cpu_usage_ratio": ("cpu",),  # only cpu="total" is kept
    "load1_per_core": (),
    "memory_used_ratio": (),
    "swap_used_ratio": (),
    "filesystem_used_ratio": ("mountpoint",),
    "temperature_celsius": ("chip", "sensor"),
    "network_receive_bytes_total": ("interface",),
    "network_transmit_bytes_total": ("interface",),
}
# Counters, charted as their rate, and the word that tells their directions apart.
RATES = {"network_receive_bytes_total": "in", "network_transmit_bytes_total": "out"}
IGNORED_INTERFACES = frozenset({"lo"})


@dataclass(frozen=True)
class RecentSeries:
    """One charted series of one host: its points (time, value) oldest first."""

    metric: str
    label: str
    points: list[tuple[float, float]]


class _HostRing:
    """One host's slots: the minute each slot holds, and each series' value in it."""

    def __init__(self) -> None:
        self.minute = -1  # the newest minute written
        self.stamps = array("i", [-1]) * SLOTS
        self.values: dict[tuple[str, str], array[float]] = {}
        self.counters: dict[tuple[str, str], tuple[float, float]] = {}  # value, at

    def rates(self, found: dict[tuple[str, str], float], at: float) -> None:
        """Replace the counters in `found` by their rate since the last reading (none for
        the first reading or after a reset)."""
        for key in [k for k in found if k[0] in RATES]:
            value, previous = found.pop(key), self.counters.get(key)
            self.counters[key] = (value, at)
            if previous is not None and value >= previous[0] and at > previous[1]:
                found[key] = (value - previous[0]) / (at - previous[1])

    def write(self, minute: int, found: dict[tuple[str, str], float]) -> None:
        slot = minute % SLOTS
        self.stamps[slot] = minute
        for key in found:
            if key not in self.values and self._room(key[0]):
                self.values[key] = array("f", [math.nan]) * SLOTS
        for key, ring in self.values.items():  # absent this minute: a gap, not last day's value
            ring[slot] = found.get(key, math.nan)
        self.minute = minute

    def _room(self, metric: str) -> bool:
        same = sum(1 for m, _label in self.values if m == metric)
        return len(self.values) < MAX_SERIES and same < PER_METRIC

    def read(self, since_minute: int) -> list[RecentSeries]:
        slots = [
            (m, s) for s, m in enumerate(self.stamps) if m >= since_minute and m <= self.minute
        ]
        slots.sort()
        return [
            RecentSeries(metric, label, _points(ring, slots))
            for (metric, label), ring in sorted(self.values.items())
        ]

    def size_bytes(self) -> int:
        return self.stamps.itemsize * SLOTS + sum(r.itemsize * SLOTS for r in self.values.values())


def _points(ring: array[float], slots: list[tuple[int, int]]) -> list[tuple[float, float]]:
    return [(m * 60.0, ring[s]) for m, s in slots if not math.isnan(ring[s])]


def charted(samples: Iterable[Sample]) -> dict[tuple[str, str], float]:
    """The charted values among `samples`, by (metric, series label)."""
    found: dict[tuple[str, str], float] = {}
    for sample in samples:
        names = CHARTED.get(sample.metric)
        if names is None or not isinstance(sample.value, float | int):
            continue
        label = " ".join(sample.labels.get(name, "") for name in names)
        if sample.metric in RATES:
            if label in IGNORED_INTERFACES:
                continue
            label = f"{label} {RATES[sample.metric]}"
        if sample.metric == "cpu_usage_ratio":
            if label != "total":
                continue
            label = ""
        found[(sample.metric, label)] = float(sample.value)
    return found


class RecentHistory:
    """Every host's ring, fed by ingest and read by the host page."""

    def __init__(self) -> None:
        self._hosts: dict[str, _HostRing] = {}
        self._lock = threading.Lock()

    def observe(self, report: Report, at: float) -> None:
        """Keep the report's charted values if its host has nothing for this minute yet."""
        minute = int(at // 60)
        ring = self._hosts.get(report.host)
        if ring is not None and minute <= ring.minute:  # the fast path: most reports end here
            return
        own = (s for r in report.probes if not r.target for s in r.samples)
        found = charted(own)
        with self._lock:
            ring = self._hosts.setdefault(report.host, _HostRing())
            if minute > ring.minute:
                ring.rates(found, at)
                ring.write(minute, found)

    def series(self, host: str, now: float) -> list[RecentSeries]:
        """The host's charted series over the 24 h before `now` (none for an unknown host)."""
        ring = self._hosts.get(host)
        if ring is None:
            return []
        with self._lock:
            return ring.read(int(now // 60) - SLOTS + 1)

    def forget(self, host: str) -> None:
        """Drop a host's history (a retired host)."""
        with self._lock:
            self._hosts.pop(host, None)

    def size_bytes(self, host: str) -> int:
        """The memory the host's ring buffers take."""
        ring = self._hosts.get(host)
        return ring.size_bytes() if ring else 0

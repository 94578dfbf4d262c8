"""Every host's latest samples in the Prometheus text format, fast enough for 10,000 hosts.

Building prometheus_client objects for ~150 samples x every host on each scrape took seconds
(2 s for 1,000 hosts). Here each probe result is formatted once, when it is new, and kept as
ready lines per metric family; a scrape only regroups the cached lines. The text before a
sample's value (name and labels) rarely changes between reports, so it is kept per series too.
A scrape is done in slices (`Rendering.step`), so the event loop can answer agents between
them. A host that has gone silent is left out: its last values are frozen, and Prometheus would
record them as fresh.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from agent.report import ProbeResult, Sample
from collector.ingest.hosts import HostRegistry, HostState

PREFIX = "watchkeeper_"
PIECE_CHARS = 256 * 1024  # a scrape is sent in pieces of about this size
VALID_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABELS = frozenset({"host", "probe"})
# One probe result's exposition: (family name, counter or gauge, its lines), families in the
# order first seen, so a scrape extends each family's block by a whole list at once.
Lines = list[tuple[str, str, list[str]]]
SeriesKey = tuple[str, tuple[tuple[str, str], ...], str | None]  # metric, labels, state
Series = tuple[str, str, str] | None  # (family, kind, text before the value); None: not shown


@dataclass
class SeriesMemory:
    """How one host probe's series are shown, by key and by position: a probe sends its
    series in the same order every cycle, so the sample at the same position is mostly the
    same series, checked by comparing rather than by building and hashing a key."""

    by_key: dict[SeriesKey, Series]
    by_position: list[tuple[str, dict[str, str], str | None, Series]]


@dataclass(frozen=True)
class _Formatted:
    result: ProbeResult  # the object these lines were made from (identity tells staleness)
    lines: Lines


class HostExposition:
    """Formats probe results once and regroups them per family at each scrape."""

    def __init__(
        self, hosts: HostRegistry, silent_after: float, clock: Callable[[], float]
    ) -> None:
        self._hosts = hosts
        self._silent_after = silent_after
        self._clock = clock
        self._cache: dict[tuple[str, str], _Formatted] = {}
        self._series: dict[tuple[str, str], SeriesMemory] = {}
        self._lock = threading.Lock()

    def render(self) -> str:
        """The text of every live host's samples, one block per metric family, in one go."""
        rendering = self.start()
        while rendering.step(float("inf")):
            pass
        return rendering.text()

    def start(self) -> Rendering:
        """A rendering of the hosts live now, to be advanced with `step` until it is done."""
        cutoff = self._clock() - self._silent_after
        return Rendering(self, [s for s in self._hosts if s.last_seen >= cutoff])

    def lines(self, key: tuple[str, str], result: ProbeResult) -> Lines:
        """The lines of one host's probe result, formatted once per result."""
        cached = self._cache.get(key)
        if cached is not None and cached.result is result:
            return cached.lines
        series = self._series.get(key)
        if series is None or len(series.by_key) > 2 * len(result.samples) + 64:
            # (new, or label values that keep changing: they must not grow the cache forever)
            series = self._series[key] = SeriesMemory({}, [])
        lines = format_result(key[0], result, series)
        self._cache[key] = _Formatted(result, lines)
        return lines

    def forget_all_but(self, seen: set[tuple[str, str]]) -> None:
        """Drop what is cached for probe results that are no longer exported."""
        with self._lock:
            for gone in self._cache.keys() - seen:
                del self._cache[gone]
                self._series.pop(gone, None)


class Rendering:
    """One scrape's walk over the live hosts, in slices of bounded time."""

    def __init__(self, exposition: HostExposition, states: list[HostState]) -> None:
        self._exposition = exposition
        self._states = states
        self._next = 0
        self._families: dict[str, list[str]] = {}
        self._types: dict[str, str] = {}
        self._seen: set[tuple[str, str]] = set()

    def step(self, budget_seconds: float) -> bool:
        """Format hosts for about `budget_seconds`; True while hosts are left."""
        deadline = time.perf_counter() + budget_seconds
        while self._next < len(self._states):
            self._add(self._states[self._next])
            self._next += 1
            if time.perf_counter() >= deadline:
                break
        if self._next < len(self._states):
            return True
        self._exposition.forget_all_but(self._seen)
        return False

    def text(self) -> str:
        """The exposition of the hosts walked so far."""
        return "".join(self.pieces())

    def pieces(self, size: int = PIECE_CHARS) -> Iterator[str]:
        """The exposition in pieces of about `size` characters, whole families each (so whole
        lines: a piece redacted on its own never sees half a secret): joining 16 MB at once
        held the event loop for ~25 ms."""
        out: list[str] = []
        length = 0
        for family, lines in self._families.items():
            kind = self._types[family]
            name = f"{family}_total" if kind == "counter" else family  # as prometheus_client
            out.append(f"# HELP {name} Agent {kind} {name}.\n# TYPE {name} {kind}\n")
            out.extend(lines)
            length += sum(map(len, lines))
            if length >= size:
                yield "".join(out)
                out, length = [], 0
        if out:
            yield "".join(out)

    def _add(self, state: HostState) -> None:
        families, types = self._families, self._types
        for probe, result in list(state.probes.items()):
            key = (state.name, probe)
            self._seen.add(key)
            for family, kind, lines in self._exposition.lines(key, result):
                bucket = families.get(family)
                if bucket is None:
                    bucket = families[family] = []
                    types[family] = kind
                elif types[family] != kind:
                    continue  # one name, two types: the first one seen wins
                bucket.extend(lines)


def format_result(host: str, result: ProbeResult, memory: SeriesMemory | None = None) -> Lines:
    """The exposition lines of one probe result of one host, grouped by family; `memory`
    keeps the text before each series' value from one result of this host's probe to the
    next."""
    known = SeriesMemory({}, []) if memory is None else memory
    positions = known.by_position
    grouped: dict[str, tuple[str, list[str]]] = {}
    for index, sample in enumerate(result.samples):
        metric, labels, value = sample.metric, sample.labels, sample.value
        state = value if isinstance(value, str) else None
        seen = positions[index] if index < len(positions) else None
        if seen is not None and seen[0] == metric and seen[2] == state and seen[1] == labels:
            shown = seen[3]
        else:
            key = (metric, tuple(labels.items()), state)
            shown = known.by_key.get(key, _UNKNOWN)
            if shown is _UNKNOWN:
                shown = known.by_key[key] = _series(host, result.probe, sample)
            entry = (metric, labels, state, shown)
            if index < len(positions):
                positions[index] = entry
            else:
                positions.append(entry)
        if shown is not None:
            family, kind, head = shown
            line = f"{head}{1.0 if state is not None else float(value)!r}\n"
            block = grouped.get(family)
            if block is None:
                grouped[family] = (kind, [line])
            else:
                block[1].append(line)
    return [(family, kind, lines) for family, (kind, lines) in grouped.items()]


_UNKNOWN: Series = ("", "", "")  # a marker: not in the memory yet


def _series(host: str, probe: str, sample: Sample) -> Series:
    """How one series is shown: its family, type and the text before its value."""
    metric = sample.metric
    counter = metric.endswith("_total")
    if not VALID_NAME.match(metric) or (counter and isinstance(sample.value, str)):
        return None  # a state under a counter's name cannot be exposed as a counter
    labels = f'host="{_escape(host)}",probe="{_escape(probe)}"'
    for name, text in sample.labels.items():
        if VALID_NAME.match(name):
            shown = f"exported_{name}" if name in RESERVED_LABELS else name
            labels += f',{shown}="{_escape(text)}"'
    if isinstance(sample.value, str):
        # A state has no number: exposed the StateSet way, as a label with the value 1.
        labels += f',state="{_escape(sample.value)}"'
    family = PREFIX + (metric[: -len("_total")] if counter else metric)
    name = family + "_total" if counter else family
    return family, "counter" if counter else "gauge", f"{name}{{{labels}}} "


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

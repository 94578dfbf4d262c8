"""The collector's Prometheus exposition: every host's latest samples plus its own counters.

Host samples come from collector.exposition (formatted once per probe result, regrouped per
scrape); the collector's own metrics live in its own prometheus_client registry.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator

import anyio.to_thread
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from collector.exposition import HostExposition
from collector.incidents.model import Incident
from collector.incidents.transitions import Transition
from collector.ingest.hosts import HostRegistry

PREFIX = "watchkeeper_"


class CollectorMetrics:
    """The collector's own registry (no global state) and the counters ingest updates."""

    def __init__(
        self,
        hosts: HostRegistry,
        active_incidents: Callable[[], dict[str, int]],
        outbox_counts: Callable[[], dict[tuple[str, str], int]],
        host_samples: HostExposition,
        sla_states: Callable[[], dict[tuple[str, str], int]] = dict,
        cache_seconds: float = 1.0,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._host_samples = host_samples
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, list[bytes]] | None = None  # (when, the body in pieces)
        self._generation = 0  # bumped by forget_cached: a scrape begun before is not kept
        self._render_lock = threading.Lock()
        self._scrape_lock = asyncio.Lock()
        self.reports = Counter(
            "watchkeeper_reports_received",
            "Reports received, by outcome (accepted, late, or the rejection reason).",
            ["outcome"],
            registry=self.registry,
        )
        self.ingest_seconds = Histogram(
            "watchkeeper_ingest_seconds",
            "Time to accept one report, from body to evaluated rules.",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0),
            registry=self.registry,
        )
        self.transitions = Counter(
            "watchkeeper_incident_transitions",
            "Incident state changes, by transition (OPEN, ACK, RESOLVE...) and priority.",
            ["transition", "priority"],
            registry=self.registry,
        )
        self.store_failures = Counter(
            "watchkeeper_incident_store_failures",
            "Incident changes the database refused; each is retried by the next report or tick.",
            registry=self.registry,
        )
        self.registry.register(StateCollector(hosts, active_incidents, outbox_counts, sla_states))

    def count_transition(self, incident: Incident, transition: Transition) -> None:
        """Hook for IncidentService.on_transition."""
        self.transitions.labels(transition.value, incident.priority.value).inc()

    def render(self) -> bytes:
        """The exposition, rebuilt at most once per `cache_seconds` (call off the event loop).

        Concurrent scrapes share one rendering instead of each walking every host.
        """
        with self._render_lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] >= self._cache_seconds:
                own = generate_latest(self.registry)
                self._cached = (now, [self._host_samples.render().encode(), own])
            return b"".join(self._cached[1])

    def forget_cached(self, _host: str = "") -> None:
        """Render afresh at the next scrape (a host was retired: it must vanish at once)."""
        with self._render_lock:
            self._cached = None
            self._generation += 1

    async def scrape(self, slice_seconds: float = 0.002) -> list[bytes]:
        """`render` on the event loop, in slices of `slice_seconds` between which agents'
        reports are answered (a worker thread rendering 1,000 hosts held the GIL for most of a
        second, and ingest p99 rose from 34 to 600 ms while /metrics was scraped); the body in
        pieces of whole lines, to be sent (and redacted) one at a time."""
        async with self._scrape_lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < self._cache_seconds:
                return cached[1]
            generation = self._generation
            rendering = self._host_samples.start()
            while rendering.step(slice_seconds):
                await asyncio.sleep(0)
            # The collector's own families query the database: a worker thread's job.
            own = await anyio.to_thread.run_sync(generate_latest, self.registry)
            pieces = []
            for piece in rendering.pieces():  # joined and encoded a piece per loop turn
                pieces.append(piece.encode())
                await asyncio.sleep(0)
            pieces.append(own)
            if generation == self._generation:  # else a host retired meanwhile: not cached
                self._cached = (time.monotonic(), pieces)
            return pieces


class StateCollector(Collector):
    """Yields metric families from the live state at scrape time."""

    def __init__(
        self,
        hosts: HostRegistry,
        active_incidents: Callable[[], dict[str, int]],
        outbox_counts: Callable[[], dict[tuple[str, str], int]],
        sla_states: Callable[[], dict[tuple[str, str], int]],
    ) -> None:
        self._hosts = hosts
        self._active_incidents = active_incidents
        self._outbox_counts = outbox_counts
        self._sla_states = sla_states

    def describe(self) -> list[Metric]:
        """Nothing fixed to describe: families depend on what agents send."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Host liveness, incidents, notifications (host samples: collector.exposition)."""
        yield from self._host_liveness()
        yield from self._incidents()
        yield from self._notifications()

    def _host_liveness(self) -> Iterator[Metric]:
        seen = Metric(f"{PREFIX}host_last_seen_timestamp_seconds", "Last report per host.", "gauge")
        skew = Metric(
            f"{PREFIX}host_clock_skew_seconds",
            "The agent's clock minus the collector's, measured at the last report.",
            "gauge",
        )
        probe_ok = Metric(f"{PREFIX}probe_success", "1 when the probe read its source.", "gauge")
        for state in self._hosts:
            seen.add_sample(seen.name, {"host": state.name}, state.last_seen)
            skew.add_sample(skew.name, {"host": state.name}, state.clock_skew)
            for name, result in list(state.probes.items()):
                value = 0.0 if result.status == "error" else 1.0
                probe_ok.add_sample(probe_ok.name, {"host": state.name, "probe": name}, value)
        yield seen
        yield skew
        yield probe_ok

    def _incidents(self) -> Iterator[Metric]:
        family = Metric(
            f"{PREFIX}open_incidents", "Active (triggered or acknowledged) incidents.", "gauge"
        )
        for priority, count in self._active_incidents().items():
            family.add_sample(family.name, {"priority": priority}, count)
        yield family
        clocks = Metric(
            f"{PREFIX}open_incident_sla_clocks",
            "SLA clocks of active incidents by clock (ack, resolve) and state "
            "(ok, warning, breached, met).",
            "gauge",
        )
        for (clock, state), count in sorted(self._sla_states().items()):
            clocks.add_sample(clocks.name, {"clock": clock, "state": state}, count)
        yield clocks

    def _notifications(self) -> Iterator[Metric]:
        family = Metric(
            f"{PREFIX}outbox_messages",
            "Messages in the outbox by channel and status (pending, sent, failed).",
            "gauge",
        )
        for (channel, status), count in sorted(self._outbox_counts().items()):
            family.add_sample(family.name, {"channel": channel, "status": status}, count)
        yield family

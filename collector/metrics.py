"""The collector's Prometheus exposition: every host's latest samples plus its own counters.

Host samples are not copied into prometheus_client objects on ingest (that would cost on the hot
path); a custom collector walks the in-memory host states at scrape time instead.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from collector.incidents.model import Incident
from collector.incidents.transitions import Transition
from collector.ingest.hosts import HostRegistry

PREFIX = "watchkeeper_"
_VALID_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABELS = frozenset({"host", "probe"})


class CollectorMetrics:
    """The collector's own registry (no global state) and the counters ingest updates."""

    def __init__(
        self,
        hosts: HostRegistry,
        active_incidents: Callable[[], dict[str, int]],
        outbox_counts: Callable[[], dict[tuple[str, str], int]],
        cache_seconds: float = 1.0,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._cache_seconds = cache_seconds
        self._cached: tuple[float, bytes] | None = None
        self._render_lock = threading.Lock()
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
        self.registry.register(StateCollector(hosts, active_incidents, outbox_counts))

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
                self._cached = (now, generate_latest(self.registry))
            return self._cached[1]


class StateCollector(Collector):
    """Yields metric families from the live state at scrape time."""

    def __init__(
        self,
        hosts: HostRegistry,
        active_incidents: Callable[[], dict[str, int]],
        outbox_counts: Callable[[], dict[tuple[str, str], int]],
    ) -> None:
        self._hosts = hosts
        self._active_incidents = active_incidents
        self._outbox_counts = outbox_counts

    def describe(self) -> list[Metric]:
        """Nothing fixed to describe: families depend on what agents send."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Every family: host samples, host liveness, incidents, notifications."""
        yield from self._host_samples()
        yield from self._host_liveness()
        yield from self._incidents()
        yield from self._notifications()

    def _host_samples(self) -> Iterator[Metric]:
        families: dict[str, Metric] = {}
        for state in self._hosts:
            for result in list(state.probes.values()):
                for sample in result.samples:
                    if not _VALID_NAME.match(sample.metric):
                        continue
                    family = families.get(sample.metric)
                    if family is None:
                        family = families[sample.metric] = _family(sample.metric, sample.value)
                    _add(
                        family, sample.metric, state.name, result.probe, sample.labels, sample.value
                    )
        yield from families.values()

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

    def _notifications(self) -> Iterator[Metric]:
        family = Metric(
            f"{PREFIX}outbox_messages",
            "Messages in the outbox by channel and status (pending, sent, failed).",
            "gauge",
        )
        for (channel, status), count in sorted(self._outbox_counts().items()):
            family.add_sample(family.name, {"channel": channel, "status": status}, count)
        yield family


def _family(metric: str, value: float | str) -> Metric:
    if metric.endswith("_total") and not isinstance(value, str):
        return Metric(PREFIX + metric[: -len("_total")], f"Agent counter {metric}.", "counter")
    return Metric(PREFIX + metric, f"Agent sample {metric}.", "gauge")


def _add(
    family: Metric,
    metric: str,
    host: str,
    probe: str,
    labels: dict[str, str],
    value: float | str,
) -> None:
    out: dict[str, Any] = {
        (f"exported_{k}" if k in RESERVED_LABELS else k): v
        for k, v in labels.items()
        if _VALID_NAME.match(k)
    }
    out["host"], out["probe"] = host, probe
    if isinstance(value, str):
        # A state has no number: expose it the StateSet way, as a label with the value 1.
        out["state"] = value
        value = 1.0
    name = family.name + "_total" if family.type == "counter" else family.name
    family.add_sample(name, out, value)

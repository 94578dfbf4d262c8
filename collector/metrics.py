"""The collector's Prometheus exposition: every host's latest samples plus its own counters.

Host samples are not copied into prometheus_client objects on ingest (that would cost on the hot
path); a custom collector walks the in-memory host states at scrape time instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from collector.hosts import HostRegistry
from collector.incidents.model import Incident
from collector.incidents.transitions import Transition
from collector.notify.dispatcher import DispatcherStats

PREFIX = "watchkeeper_"
_VALID_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABELS = frozenset({"host", "probe"})


class CollectorMetrics:
    """The collector's own registry (no global state) and the counters ingest updates."""

    def __init__(
        self,
        hosts: HostRegistry,
        open_incidents: Callable[[], list[Incident]],
        dispatcher_stats: Callable[[], DispatcherStats],
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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
            "Incident state changes, by transition (OPEN, RESOLVE) and priority.",
            ["transition", "priority"],
            registry=self.registry,
        )
        self.registry.register(StateCollector(hosts, open_incidents, dispatcher_stats))

    def count_transition(self, incident: Incident, transition: Transition) -> None:
        """Hook for IncidentService.on_transition."""
        self.transitions.labels(transition.value, incident.priority.value).inc()


class StateCollector(Collector):
    """Yields metric families from the live state at scrape time."""

    def __init__(
        self,
        hosts: HostRegistry,
        open_incidents: Callable[[], list[Incident]],
        dispatcher_stats: Callable[[], DispatcherStats],
    ) -> None:
        self._hosts = hosts
        self._open_incidents = open_incidents
        self._dispatcher_stats = dispatcher_stats

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
            for result in state.probes.values():
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
        probe_ok = Metric(f"{PREFIX}probe_success", "1 when the probe read its source.", "gauge")
        for state in self._hosts:
            seen.add_sample(seen.name, {"host": state.name}, state.last_seen)
            for name, result in state.probes.items():
                value = 0.0 if result.status == "error" else 1.0
                probe_ok.add_sample(probe_ok.name, {"host": state.name, "probe": name}, value)
        yield seen
        yield probe_ok

    def _incidents(self) -> Iterator[Metric]:
        family = Metric(f"{PREFIX}open_incidents", "Open incidents by priority.", "gauge")
        counts = {p: 0 for p in ("P1", "P2", "P3", "P4")}
        for incident in self._open_incidents():
            counts[incident.priority.value] += 1
        for priority, count in counts.items():
            family.add_sample(family.name, {"priority": priority}, count)
        yield family

    def _notifications(self) -> Iterator[Metric]:
        stats = self._dispatcher_stats()
        names = ("sent", "failed", "given_up", "dropped")
        families = {
            n: Metric(f"{PREFIX}notifications_{n}", f"Notification deliveries {n}.", "counter")
            for n in names
        }
        for channel, counts in stats.channels.items():
            for name in names:
                family = families[name]
                family.add_sample(
                    f"{family.name}_total", {"channel": channel}, getattr(counts, name)
                )
        yield from families.values()
        depth = Metric(f"{PREFIX}notification_queue_depth", "Deliveries waiting.", "gauge")
        depth.add_sample(depth.name, {}, stats.queue_depth)
        yield depth


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

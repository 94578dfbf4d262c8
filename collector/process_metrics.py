"""The response process as metrics, so Grafana can show it beside the machines: active
incidents by priority, state, source and customer; how late the oldest waiting message of each
channel is; alerts taken from each integration."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from collector.config import IntegrationToken
from collector.incidents.model import Incident
from collector.integrations.intake import Taken

PREFIX = "watchkeeper_"


class ProcessFigures(Collector):
    """Reads the store at scrape time (the collector renders /metrics off the event loop)."""

    def __init__(
        self,
        active: Callable[[], Sequence[Incident]],
        customer_of: Callable[[Incident], str],
        oldest_due: Callable[[float], dict[str, float]],
        clock: Callable[[], float],
    ) -> None:
        self._active = active
        self._customer_of = customer_of
        self._oldest_due = oldest_due
        self._clock = clock

    def describe(self) -> list[GaugeMetricFamily]:
        """Nothing fixed to describe: label values come from the store."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Active incidents and the outbox's lateness, as of now."""
        active = GaugeMetricFamily(
            f"{PREFIX}active_incidents",
            "Active incidents by priority, state (triggered, acknowledged, waiting), source "
            "(rule, person, alert) and customer ('' when none).",
            labels=["priority", "state", "source", "customer"],
        )
        tally = Tally(
            (i.priority.value, i.state.value, i.source.value, self._customer_of(i))
            for i in self._active()
        )
        for labels, count in sorted(tally.items()):
            active.add_metric(list(labels), count)
        yield active
        now = self._clock()
        late = GaugeMetricFamily(
            f"{PREFIX}outbox_oldest_due_seconds",
            "How long the oldest message due for a channel has waited past its due time.",
            labels=["channel"],
        )
        for channel, due_at in sorted(self._oldest_due(now).items()):
            late.add_metric([channel], max(0.0, now - due_at))
        yield late


class IntegrationCounter:
    """watchkeeper_integration_alerts_total{integration, kind, status}: alerts taken."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._counter = Counter(
            f"{PREFIX}integration_alerts",
            "Alerts taken from other monitors, by integration, kind and status (firing, resolved).",
            ["integration", "kind", "status"],
            registry=registry,
        )

    def count(self, integration: IntegrationToken, taken: Sequence[Taken]) -> None:
        """Hook for AlertIntake: count what one post brought."""
        for item in taken:
            status = "firing" if item.firing else "resolved"
            self._counter.labels(integration.name, integration.kind, status).inc()

"""The agent's own optional Prometheus /metrics: latest samples plus the agent's self-metrics.

prometheus_client is imported only when the server starts, so an agent without `listen`
never loads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.report import Report

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

PREFIX = "watchkeeper_"
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


@dataclass(frozen=True)
class AgentSnapshot:
    """What /metrics shows: the last report and the agent's counters at that moment."""

    report: Report | None = None
    cycle_seconds: float = 0.0
    reports_sent_total: int = 0
    send_failures_total: int = 0
    reports_rejected_total: int = 0
    spooled_reports: int = 0
    spool_dropped_total: int = 0
    probe_success: dict[str, bool] = field(default_factory=dict)


@dataclass
class _Family:
    """Samples of one metric name, gathered before building the prometheus_client Metric."""

    kind: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)


def sample_families(report: Report) -> dict[str, _Family]:
    """Report samples grouped by exported name; string values become {state="..."} 1.

    Samples of a probe with a `target` get a `target` label; a series seen twice (two probes
    reporting the same sensor) is exported once, as Prometheus requires.
    """
    families: dict[str, _Family] = {}
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for result in report.probes:
        for sample in result.samples:
            name = PREFIX + sample.metric
            labels = {k: v for k, v in sample.labels.items() if _LABEL.match(k)}
            if result.target is not None:
                labels["target"] = result.target
            value = sample.value
            if isinstance(value, str):
                labels["state"], value = value, 1.0
            key = (name, tuple(sorted(labels.items())))
            if not _NAME.match(name) or key in seen:
                continue
            seen.add(key)
            kind = "counter" if name.endswith("_total") else "gauge"
            families.setdefault(name, _Family(kind)).samples.append((labels, value))
    return families


class SnapshotCollector:
    """A prometheus_client collector reading the latest snapshot at scrape time."""

    def __init__(self, snapshot: Callable[[], AgentSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Any]:
        """Metric families for one scrape."""
        from prometheus_client.metrics_core import Metric

        snapshot = self._snapshot()
        families = sample_families(snapshot.report) if snapshot.report else {}
        families.update(_self_families(snapshot))
        for name, family in families.items():
            base = name.removesuffix("_total") if family.kind == "counter" else name
            metric = Metric(base, f"Watchkeeper agent metric {name}.", family.kind)
            for labels, value in family.samples:
                metric.add_sample(name, labels, value)
            yield metric


def _self_families(snapshot: AgentSnapshot) -> dict[str, _Family]:
    def one(kind: str, value: float) -> _Family:
        return _Family(kind, [({}, float(value))])

    families = {
        "watchkeeper_agent_cycle_seconds": one("gauge", snapshot.cycle_seconds),
        "watchkeeper_agent_reports_sent_total": one("counter", snapshot.reports_sent_total),
        "watchkeeper_agent_send_failures_total": one("counter", snapshot.send_failures_total),
        "watchkeeper_agent_reports_rejected_total": one("counter", snapshot.reports_rejected_total),
        "watchkeeper_agent_spooled_reports": one("gauge", snapshot.spooled_reports),
        "watchkeeper_agent_spool_dropped_reports_total": one(
            "counter", snapshot.spool_dropped_total
        ),
    }
    success = _Family("gauge")
    for probe, ok in snapshot.probe_success.items():
        success.samples.append(({"probe": probe}, 1.0 if ok else 0.0))
    families["watchkeeper_agent_probe_success"] = success
    return families


def build_registry(snapshot: Callable[[], AgentSnapshot]) -> CollectorRegistry:
    """A registry of the agent's own, never prometheus_client's global one."""
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return registry


class MetricsServer:
    """The /metrics HTTP server in a daemon thread; `port` is the bound port (0 picks one)."""

    def __init__(self, host: str, port: int, snapshot: Callable[[], AgentSnapshot]) -> None:
        from prometheus_client import start_http_server

        self._server, self._thread = start_http_server(
            port, addr=host or "0.0.0.0", registry=build_registry(snapshot)
        )
        self.port = int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

"""What the API and console endpoints need, wired by collector.app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from collector.auth import TokenBook
from collector.incidents.service import IncidentService
from collector.ingest.hosts import HostRegistry
from collector.ingest.receive import Ingest
from collector.metrics import CollectorMetrics
from collector.store.incidents import IncidentReader
from collector.store.outbox import OutboxStore
from collector.store.repository import Repository


@dataclass(frozen=True)
class ApiContext:
    """The services behind the endpoints."""

    ingest: Ingest
    hosts: HostRegistry
    incidents: IncidentService
    reader: IncidentReader
    outbox: OutboxStore
    repository: Repository
    metrics: CollectorMetrics
    actors: TokenBook
    max_body_bytes: int
    silent_after: float
    clock: Callable[[], float]
    console_url: str | None = None

    def actor(self, authorization: str | None) -> str | None:
        """The name of the API token in an Authorization header (the actor on the timeline)."""
        identity = self.actors.identify(authorization)
        return identity.name if identity else None

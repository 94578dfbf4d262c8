"""What the API and console endpoints need, wired by collector.app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collector.api.scoping import CustomerScopes
from collector.auth.service import AccessService
from collector.incidents.model import Incident
from collector.incidents.service import IncidentService
from collector.ingest.hosts import HostRegistry
from collector.ingest.receive import Ingest
from collector.metrics import CollectorMetrics
from collector.retirement import HostRetirement
from collector.store.incidents import IncidentReader
from collector.store.outbox import OutboxStore
from collector.store.repository import Repository
from collector.store.silences import SilenceStore


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
    max_body_bytes: int
    silent_after: float
    clock: Callable[[], float]
    access: AccessService
    silences: SilenceStore
    scopes: CustomerScopes  # what each principal may read (customers: their own only)
    console_url: str | None = None
    body_timeout: float = 30.0
    # (incident, seen by staff) -> ticket fields of its detail: satisfaction, links...
    ticket_details: Callable[[Incident, bool], dict[str, Any]] | None = None
    retirement: HostRetirement | None = None  # an admin retires a host (API and console)

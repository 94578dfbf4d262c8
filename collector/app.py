"""Composition root: the one place where the collector's parts are built and wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette

from collector.api.routes import ApiContext, api_routes
from collector.auth import TokenBook
from collector.config import CollectorConfig
from collector.hosts import HostRegistry
from collector.incidents.service import IncidentService
from collector.ingest import Ingest
from collector.metrics import CollectorMetrics
from collector.notify.channels import Channel, channel_from_url
from collector.notify.dispatcher import DeliveryRecord, NotificationDispatcher
from collector.store.database import migrate, open_database
from collector.store.repository import Repository
from collector.web.console import console_routes
from rules.engine import RuleEngine
from rules.loader import RuleSet, load_rules

log = logging.getLogger(__name__)

DEFAULT_SILENT_AFTER = 120.0


@dataclass
class Collector:
    """A built collector: its parts, the ASGI app, and its background loops."""

    config: CollectorConfig
    clock: Callable[[], float]
    repository: Repository
    hosts: HostRegistry
    engine: RuleEngine
    incidents: IncidentService
    dispatcher: NotificationDispatcher
    ingest: Ingest
    metrics: CollectorMetrics
    asgi: Starlette = field(init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        """Migrate the database, restore hosts and open incidents, start delivering."""
        migrate(self.repository.engine)
        records = self.repository.list_hosts()
        self.hosts.load(records)
        for record in records:
            self.engine.remember_host(record.name, record.last_seen)
        restored = self.incidents.restore(self.engine, self.clock())
        log.info("collector started: %d hosts known, %d open incidents", len(records), restored)
        self.dispatcher.start()

    def flush(self) -> None:
        """Write changed host states now."""
        self.repository.save_hosts(self.hosts.take_dirty())

    def stop(self) -> None:
        """Flush state and let pending notifications go out (bounded)."""
        self.flush()
        self.dispatcher.stop(timeout=5.0)
        self.repository.engine.dispose()

    async def _every(self, seconds: float, action: Callable[[], object], name: str) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                action()
            except Exception:
                log.exception("%s failed; will retry in %g s", name, seconds)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """Starlette lifespan: start, run the ticker and flusher, stop."""
        self.start()
        interval, flush = self.config.evaluation_interval, self.config.flush_interval
        self._tasks = [
            asyncio.create_task(self._every(interval, self.ingest.tick, "rule tick")),
            asyncio.create_task(self._every(flush, self.flush, "host state flush")),
        ]
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            self.stop()


def build_collector(
    config: CollectorConfig,
    clock: Callable[[], float] = time.time,
    channels: Sequence[Channel] | None = None,
    rules: RuleSet | None = None,
) -> Collector:
    """Build every part from `config`; `channels` and `rules` may be given by tests."""
    repository = Repository(open_database(config.database))
    hosts = HostRegistry()
    engine = RuleEngine(rules or load_rules(config.rules, config.builtin_rules))
    dispatcher = NotificationDispatcher(
        channels if channels is not None else channels_from_config(config),
        clock=clock,
        on_result=lambda record: _store_delivery(repository, record),
    )
    incidents = IncidentService(repository, dispatcher, config.language, config.console_url)
    metrics = CollectorMetrics(hosts, lambda: list(incidents.open.values()), dispatcher.stats)
    incidents.on_transition = metrics.count_transition
    ingest = Ingest(TokenBook(config.agents), hosts, engine, incidents, config.limits, clock)
    collector = Collector(
        config, clock, repository, hosts, engine, incidents, dispatcher, ingest, metrics
    )
    context = ApiContext(
        ingest,
        hosts,
        incidents,
        repository,
        metrics,
        config.limits.max_body_bytes,
        _silent_after(engine.rules),
        clock,
    )
    collector.asgi = Starlette(
        routes=[*api_routes(context), *console_routes(context)], lifespan=collector.lifespan
    )
    return collector


def channels_from_config(config: CollectorConfig) -> list[Channel]:
    """Channels for every configured notification URL (outbox paths relative to cwd)."""
    return [
        channel_from_url(c.url.get_secret_value(), c.min_priority, base_dir=Path.cwd())
        for c in config.notify
    ]


def _silent_after(rules: RuleSet) -> float:
    windows = [c.rule.absent for c in rules.absent_rules if c.rule.absent]
    return min(windows) if windows else DEFAULT_SILENT_AFTER


def _store_delivery(repository: Repository, record: DeliveryRecord) -> None:
    try:
        repository.record_deliveries(
            [
                {
                    "incident_id": record.incident_id,
                    "event": record.event,
                    "channel": record.channel,
                    "ok": record.ok,
                    "attempt": record.attempt,
                    "error": record.error or "",
                    "at": record.time,
                }
            ]
        )
    except Exception:
        log.exception("could not store a delivery record for %s", record.channel)

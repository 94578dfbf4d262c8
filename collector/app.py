"""Composition root: the one place where the collector's parts are built and wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware

from collector.api.access import AccessMiddleware, check_rules
from collector.api.admin import admin_routes
from collector.api.errors import error_handlers
from collector.api.integrations import integration_routes
from collector.api.inventory import inventory_routes
from collector.api.knowledge import knowledge_routes
from collector.api.noise import noise_routes
from collector.api.openapi import openapi_routes
from collector.api.people import people_routes
from collector.api.redacting import RedactingMiddleware
from collector.api.retirement import retirement_routes
from collector.api.routes import ApiContext, api_routes
from collector.api.scoping import CustomerScopes
from collector.api.silences import silence_routes
from collector.api.snapshots import snapshot_routes
from collector.api.views import sla_tally
from collector.auth import TokenBook
from collector.auth.service import AccessService
from collector.auth.throttle import LoginLimits, LoginThrottle
from collector.channel_setup import (
    channels_from_config,
    contact_channels_of,
    known_secrets,
    registering,
)
from collector.config import CollectorConfig
from collector.customer_setup import customer_name, mail_customers
from collector.evaluation.evaluator import Evaluator
from collector.evaluation.signals import rule_event
from collector.evaluation.writer import IncidentWriter
from collector.exposition import HostExposition
from collector.heap import HeapFreezer
from collector.history.recent import RecentHistory
from collector.history.recorder import FLUSH_INTERVAL, HistoryRecorder
from collector.incidents.customers import load_customers
from collector.incidents.events import Acknowledge, RuleCleared
from collector.incidents.model import Incident, Source
from collector.incidents.service import Audience, IncidentService, IncidentSettings
from collector.incidents.transitions import LifecyclePolicy, Transition, TransitionRefusedError
from collector.ingest.hosts import HostRegistry
from collector.ingest.receive import Ingest
from collector.intake.wiring import CustomerSide, customer_side, share_requests, side_settings
from collector.integrations.intake import AlertIntake, IntegrationBook
from collector.metrics import CollectorMetrics
from collector.noise.announcer import MaintenanceAnnouncer
from collector.noise.figures import RuleNoise, rule_noise
from collector.noise.inhibition import Kinds
from collector.noise.maintenance import MaintenanceGate
from collector.noise.silences import Silence
from collector.notify.channels import Channel, channel_from_url
from collector.notify.customer_notices import CustomerNotices
from collector.notify.message import Notification
from collector.notify.worker import DeliveryWorkers, RetryPolicy
from collector.process_metrics import IntegrationCounter, ProcessFigures
from collector.redaction import Redactor
from collector.reports.downloads import ReportSource
from collector.reports.endoflife import EndOfLifeWatch
from collector.reports.jobs import (
    END_OF_LIFE_INTERVAL,
    SCHEDULE_INTERVAL,
    end_of_life_watch,
    inventory_of,
)
from collector.reports.mailer import ReportMailer
from collector.reports.seen import registry_hardware
from collector.response.directory import ResponseDirectory, contact_check
from collector.response.model import ResponseConfig, load_response
from collector.response.people import Person
from collector.response.roster import Roster
from collector.retirement import HostRetirement
from collector.snapshots.service import REFRESH as SNAPSHOT_REFRESH
from collector.snapshots.service import SnapshotService
from collector.store.access import AccessStore
from collector.store.database import migrate, open_database, reader
from collector.store.history import HistoryStore
from collector.store.incidents import IncidentReader
from collector.store.noise import rule_activity
from collector.store.outbox import OutboxStore
from collector.store.people import PeopleStore
from collector.store.repository import Repository
from collector.store.silences import SilenceStore, in_force
from collector.web.console import console_routes
from collector.web.login import login_routes
from collector.web.reports import report_routes
from rules.engine import AlertSignal, RuleEngine
from rules.loader import RuleSet, load_rules

log = logging.getLogger(__name__)

DEFAULT_SILENT_AFTER = 120.0
TIMER_INTERVAL = 1.0
HEAP_TICK_SECONDS = 10.0  # long-lived objects frozen out of garbage collections this often
NOTICE_INTERVAL = 15.0  # maintenance notices: looked for this often
OUTBOX_KEEP_SECONDS = 7 * 86400.0  # sent messages; every attempt stays on the timeline
CHECKPOINT_HOSTS = 50  # hosts whose rule state is copied per hold of the evaluator lock


@dataclass
class Collector:
    """A built collector: its parts, the ASGI app, and its background loops."""

    config: CollectorConfig
    clock: Callable[[], float]
    repository: Repository
    hosts: HostRegistry
    evaluator: Evaluator
    writer: IncidentWriter
    incidents: IncidentService
    reader: IncidentReader
    outbox: OutboxStore
    delivery: DeliveryWorkers
    ingest: Ingest
    metrics: CollectorMetrics
    access: AccessService
    redactor: Redactor
    asgi: Starlette = field(init=False)
    started_at: float = 0.0
    history: HistoryRecorder | None = None
    announcer: MaintenanceAnnouncer | None = None  # customers' maintenance notices
    end_of_life: EndOfLifeWatch | None = None  # P4s ahead of warranty / support ends
    report_mailer: ReportMailer | None = None  # scheduled reports to customers
    roster: Roster | None = None  # people and teams managed through the API
    intake: AlertIntake | None = None  # other monitors' alerts (integrations:)
    customer_side: CustomerSide | None = None  # mail intake, verification, ticket links
    customer_notices: CustomerNotices | None = None  # incidents told to customers' contacts
    snapshots: SnapshotService | None = None  # diagnostic snapshots asked of agents
    heap: HeapFreezer = field(default_factory=lambda: HeapFreezer(time.monotonic))
    # Held while host rows or rule checkpoints are written, and while a host is retired.
    persisting: threading.Lock = field(default_factory=threading.Lock)
    retirement: HostRetirement | None = None  # an admin retires a host
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def engine(self) -> RuleEngine:
        """The rule engine (use under evaluator.lock)."""
        return self.evaluator.engine

    def start(self) -> None:
        """Migrate, restore hosts, rule state and open incidents, start delivering."""
        self.redactor.install()
        migrate(self.repository.engine)
        if self.customer_side is not None:  # the customer notices, if any, are built by now
            share_requests(self.customer_side, self.customer_notices)
        if self.roster is not None:
            self.roster.load()  # the API's people, each contact a channel before orphans count
        self.started_at = now = self.clock()
        records = self.repository.list_hosts()
        self.hosts.load(records)
        if self.history is not None:
            self.history.load()
        if self.snapshots is not None:
            self.snapshots.refresh()
        with self.evaluator.lock:
            for record in records:
                # Silent only after a full absence window from this start, not from the outage.
                self.engine.remember_host(record.name, max(record.last_seen, now))
            for host, data in self.repository.load_checkpoints().items():
                self.engine.restore_checkpoint(host, data)
        restored = self._reconcile()
        orphans = self.outbox.fail_orphans(set(self.delivery.channels), now)
        if orphans:
            log.warning("%d message(s) were for channels no longer configured", orphans)
        log.info("collector started: %d hosts known, %d active incidents", len(records), restored)
        self.delivery.start()

    def _reconcile(self) -> int:
        """Make the engine believe what the store says is active; resolve orphans of gone rules."""
        active = [i for i in self.reader.active() if i.source is Source.RULE and i.key]
        for incident in active:
            with self.evaluator.lock:
                compiled = self.engine.rules.get(incident.rule)
                extra = compiled.rule.labels if compiled else {}
                labels = {k: v for k, v in incident.labels.items() if extra.get(k) != v}
                known = self.engine.restore_firing(
                    incident.rule,
                    incident.host,
                    labels,
                    incident.opened_at,
                    incident.annotations.get("probe", ""),
                )
            if not known and incident.key:
                self.incidents.apply_rule(RuleCleared(incident.key, None, "rule no longer loaded"))
        return len(active)

    def reload_tokens(self, config: CollectorConfig) -> None:
        """Take agent and API tokens from `config` (SIGHUP): a token removed from the file
        is refused from the next request on, without a restart."""
        agents = TokenBook(config.agents)
        self.redactor.add(filter(None, (t.secret() for t in (*config.agents, *config.api_tokens))))
        self.ingest.use_tokens(agents)
        self.access.use_config_tokens(config.api_tokens)
        if self.intake is not None:
            self.redactor.add(filter(None, (t.secret() for t in config.integrations)))
            self.intake.book = IntegrationBook(config.integrations)
        log.info(
            "tokens reloaded: %d agent, %d API, %d integration",
            len(config.agents),
            len(config.api_tokens),
            len(config.integrations),
        )

    def flush(self) -> None:
        """Write changed host states now (each host on its own if the batch fails)."""
        with self.persisting:  # a host retired meanwhile is not written back
            retry = self.repository.save_hosts(self.hosts.take_dirty())
            self.hosts.mark_dirty(retry)

    def checkpoint(self) -> None:
        """Save rule histories and pending breaches, so trends survive a restart; prune the
        outbox of messages sent long ago."""
        now = self.clock()
        with self.evaluator.lock:
            parts = list(self.engine.checkpoint_parts().values())
        # A few hosts at a time: reports are judged on the event loop under the evaluator's
        # lock, and copying a 1,000-host fleet's histories at once held it for ~70 ms.
        for start in range(0, len(parts), CHECKPOINT_HOSTS):
            with self.persisting:  # a host retired meanwhile gets no checkpoint back
                with self.evaluator.lock:
                    data = self.engine.checkpoint(parts[start : start + CHECKPOINT_HOSTS])
                self.repository.save_checkpoints(data, now)
            time.sleep(0)  # the GIL to the event loop between batches
        self.outbox.prune(now - OUTBOX_KEEP_SECONDS)

    def stop(self) -> None:
        """Flush state, let the message in flight finish; the outbox keeps the rest."""
        self.writer.close()
        for action in (self.flush, self.checkpoint, self._flush_history):
            try:
                action()
            except Exception:
                log.exception("could not save state at shutdown")
        self.delivery.stop(timeout=5.0)
        self.repository.engine.dispose()
        self.redactor.uninstall()

    def _flush_history(self) -> None:
        if self.history is not None:
            self.history.flush()

    async def _every(self, seconds: float, action: Callable[[], object], name: str) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.to_thread(action)  # database work never runs on the event loop
            except Exception:
                log.exception("%s failed; will retry in %g s", name, seconds)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """Starlette lifespan: start, run the loops, stop."""
        await asyncio.to_thread(self.start)
        config = self.config
        loops = [
            (config.evaluation_interval, self.ingest.tick, "rule tick"),
            (config.flush_interval, self.flush, "host state flush"),
            (HEAP_TICK_SECONDS, self.heap.tick, "heap freeze"),
            (config.checkpoint_interval, self.checkpoint, "rule checkpoint"),
            (TIMER_INTERVAL, self.incidents.run_due_timers, "due timers"),
            (FLUSH_INTERVAL, self._flush_history, "metric history flush"),
        ]
        if self.announcer is not None:
            loops.append((NOTICE_INTERVAL, self.announcer.run, "maintenance notices"))
        if self.roster is not None:  # people and teams another collector changed
            loops.append((self.roster.refresh_after, self.roster.refresh, "people refresh"))
        if self.end_of_life is not None:
            loops.append((END_OF_LIFE_INTERVAL, self.end_of_life.check, "end-of-life check"))
        if self.snapshots is not None:  # requests asked before a restart or by another collector
            loops.append((SNAPSHOT_REFRESH, self.snapshots.refresh, "snapshot requests"))
        if self.report_mailer is not None:
            loops.append((SCHEDULE_INTERVAL, self.report_mailer.run, "scheduled reports"))
        if self.customer_side is not None and self.customer_side.intake is not None:
            poll = self.customer_side.intake.config.poll_interval
            loops.append((poll, self.customer_side.intake.poll, "mail intake"))
        self._tasks = [asyncio.create_task(self._every(*loop)) for loop in loops]
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.to_thread(self.stop)


def build_collector(
    config: CollectorConfig,
    clock: Callable[[], float] = time.time,
    channels: Sequence[Channel] | None = None,
    rules: RuleSet | None = None,
) -> Collector:
    """Build every part from `config`; `channels` and `rules` may be given by tests."""
    database = open_database(config.database)
    repository = Repository(database)
    hosts = HostRegistry()
    evaluator = _evaluator(database, rules or load_rules(config.rules, config.builtin_rules))
    outbox = OutboxStore(database)
    chosen = list(channels) if channels is not None else channels_from_config(config)
    # People and teams: response.yaml, with those managed through the API stored over it.
    seed = load_response(config.response) if config.response else ResponseConfig()
    roster = Roster(seed, PeopleStore(database), clock)
    roster.check = contact_check(channel_from_url)  # an API contact must make a channel
    directory = ResponseDirectory(seed, roster=roster) if config.response else None
    redactor = known_secrets(config)
    book = load_customers(config.customers) if config.customers else None
    contacts = contact_channels_of(config, book, redactor)
    acknowledge_by_phone: list[Callable[[Notification, str], None]] = []

    def person_channels(only: Collection[str] | None = None) -> list[Channel]:
        if directory is None:
            return []
        return directory.channels(
            registering(channel_from_url, redactor),
            config.phone_trunk.get_secret_value() if config.phone_trunk else None,
            # The service is built below; the call reaches it through this late binding.
            lambda note, person: acknowledge_by_phone[0](note, person),  # noqa: PLW0108
            only,
        )

    people = person_channels()
    delivery = DeliveryWorkers(
        outbox,
        [*chosen, *people, *contacts],
        config.node_id or f"{socket.gethostname()}:{config.listen_host_port[1]}",
        clock,
        RetryPolicy(
            config.delivery.first_retry,
            2.0,
            config.delivery.max_retry,
            config.delivery.give_up_after,
        ),
        config.delivery.send_timeout,
        config.delivery.storm_threshold,
    )

    def add_person_channels(changed: list[Person]) -> None:
        for channel in person_channels({person.id for person in changed}):
            delivery.add_channel(channel)  # a person added or changed through the API

    roster.listeners.append(add_person_channels)
    incident_reader = IncidentReader(reader(database))
    silent_after = _silent_after(evaluator.engine.rules)
    metrics = CollectorMetrics(
        hosts,
        incident_reader.count_active,
        outbox.counts,
        HostExposition(hosts, silent_after, clock),
        lambda: sla_tally(incident_reader.active(), clock()),
    )
    incidents = IncidentService(
        database,
        [Audience(c.describe(), c.min_priority) for c in chosen],
        _incident_settings(config, directory, evaluator.engine.rules),
        clock,
        on_commit=delivery.wake,
        on_transition=metrics.count_transition,
        directory=directory.recipients if directory else None,
    )

    acknowledge_by_phone.append(partial(_keypad_ack, incidents))

    def store_signal(signal: AlertSignal) -> Incident | None:
        return incidents.apply_rule(rule_event(signal, config.language))

    def revert(signal: AlertSignal) -> None:
        metrics.store_failures.inc()
        evaluator.revert(signal)

    writer = IncidentWriter(store_signal, revert)
    history = HistoryRecorder(HistoryStore(database), clock)
    evaluator.observers.append(history.observe)
    recent = RecentHistory()  # the console's 24 h charts
    evaluator.observers.append(recent.observe)
    evaluator.attach(writer)
    ingest = Ingest(TokenBook(config.agents), hosts, evaluator, repository, config.limits, clock)
    metrics.registry.register(
        ProcessFigures(incident_reader.active, customer_name(book), outbox.oldest_due, clock)
    )
    intake = AlertIntake(
        IntegrationBook(config.integrations),
        incidents.apply_rule,
        writer.submit,
        IntegrationCounter(metrics.registry).count,
    )
    side = customer_side(  # mail intake, verification, ticket links
        side_settings(config),
        database,
        incidents,
        book,
        clock,
        lambda: [h.name for h in hosts],
        registering(partial(channel_from_url, timeout=config.delivery.send_timeout), redactor),
        delivery,
    )
    collector = Collector(
        config,
        clock,
        repository,
        hosts,
        evaluator,
        writer,
        incidents,
        incident_reader,
        outbox,
        delivery,
        ingest,
        metrics,
        _access_service(config, database, clock),
        redactor,
        history=history,
        roster=roster,
        intake=intake,
        customer_side=side,
    )
    context = ApiContext(
        ingest=ingest,
        hosts=hosts,
        incidents=incidents,
        reader=incident_reader,
        outbox=outbox,
        repository=repository,
        metrics=metrics,
        max_body_bytes=config.limits.max_body_bytes,
        silent_after=silent_after,
        clock=clock,
        access=collector.access,
        silences=SilenceStore(database),
        scopes=CustomerScopes(
            load_customers(config.customers) if config.customers else None,
            incident_reader,
            hosts,
            reader(database),
        ),
        console_url=config.console_url,
        body_timeout=config.limits.body_timeout,
        ticket_details=side.details,
        retirement=_host_retirement(collector, recent),
    )
    routes = [
        *side.routes,  # before the incident actions' /{action} route
        *knowledge_routes(context),  # before the incident actions' /{action} route
        *snapshot_routes(context, snapshots := _snapshot_service(collector, database, clock)),
        *api_routes(context, snapshots),
        *inventory_routes(hosts),
        *retirement_routes(context),
        *admin_routes(context),
        *people_routes(roster),
        *openapi_routes(),
        *integration_routes(
            intake,
            config.limits.max_body_bytes,
            config.limits.body_timeout,
        ),
        *silence_routes(context, book, config.customer_mail is not None and bool(contacts)),
        *noise_routes(clock, _noise_source(reader(database))),
        *login_routes(context),
        *console_routes(context, recent=recent, roster=roster),
        *report_routes(
            context,
            ReportSource(database, book, partial(inventory_of, config), registry_hardware(hosts)),
        ),
    ]
    if book is not None and contacts:
        mail_customers(collector, database, book)
    collector.end_of_life = end_of_life_watch(config, database, incidents.open, clock)
    check_rules(routes)  # a route without an access rule stops the start, naming it
    guard = Middleware(
        AccessMiddleware,
        access=collector.access,
        routes=routes,
        scopes=context.scopes,
        metrics_public=config.access.metrics_public,
    )
    collector.asgi = Starlette(
        routes=routes,
        middleware=[Middleware(RedactingMiddleware, redactor=redactor), guard],
        lifespan=collector.lifespan,
        exception_handlers=error_handlers(),
    )
    return collector


def _evaluator(database: Engine, rules: RuleSet) -> Evaluator:
    """The engine, with host-silence rules held back inside maintenance windows."""

    def windows(now: float) -> list[Silence]:
        with database.connect() as conn:
            return in_force(conn, now)

    host_level = frozenset(c.name for c in rules.absent_rules)
    return Evaluator(RuleEngine(rules), MaintenanceGate(host_level, windows))


def _host_retirement(collector: Collector, recent: RecentHistory) -> HostRetirement:
    """The collector's host retirement: a retired host is forgotten by the registry, the rule
    engine and the store, and by the short-term charts, ingest's quotas and /metrics' cache."""
    collector.retirement = HostRetirement(
        collector.hosts,
        collector.evaluator,
        collector.repository,
        collector.incidents,
        collector.reader,
        collector.access,
        collector.clock,
        collector.persisting,
        [recent.forget, collector.ingest.forget_host, collector.metrics.forget_cached],
    )
    return collector.retirement


def _snapshot_service(
    collector: Collector, database: Engine, clock: Callable[[], float]
) -> SnapshotService:
    """Diagnostic snapshots: asked of a host's agent when an incident opens there (after the
    transition hook already set, e.g. the metrics' count)."""
    service = collector.snapshots = SnapshotService(database, clock)
    incidents = collector.incidents
    before = incidents.on_transition

    def both(incident: Incident, transition: Transition) -> None:
        if before is not None:
            before(incident, transition)
        service.on_transition(incident, transition)

    incidents.on_transition = both
    return service


def _noise_source(database: Engine) -> Callable[[float, float], list[RuleNoise]]:
    """Per-rule noise figures over [start, end), read from the store."""

    def figures(start: float, end: float) -> list[RuleNoise]:
        with database.connect() as conn:
            return rule_noise(rule_activity(conn, start, end))

    return figures


def _access_service(
    config: CollectorConfig, database: Engine, clock: Callable[[], float]
) -> AccessService:
    settings = config.access
    limits = LoginLimits(settings.login_failures_per_user, settings.login_failures_per_address)
    return AccessService(
        AccessStore(database),
        config.api_tokens,
        clock,
        LoginThrottle(limits, clock),
        settings.session_lifetime,
    )


def _keypad_ack(incidents: IncidentService, note: Notification, person: str) -> None:
    """The callee pressed 1: acknowledge the incident as that person (unless already done)."""
    try:
        incidents.act(note.number, Acknowledge(person, "pressed 1 on the phone call"))
    except TransitionRefusedError as exc:
        log.info("keypad acknowledgement of %s not needed: %s", note.number, exc)


def _incident_settings(
    config: CollectorConfig,
    directory: ResponseDirectory | None,
    rules: RuleSet | None = None,
) -> IncidentSettings:
    settings = config.incidents
    policy = LifecyclePolicy(
        reopen_window=settings.reopen_window,
        verify_timeout=(
            config.verification.quiet_period if config.verification else settings.verify_timeout
        ),
        renotify_after=dict(settings.renotify_after),
    )
    if directory is not None:
        policy = replace(
            policy,
            plan_for=directory.plan_for,
            deadline=directory.deadline,
            elapsed=directory.elapsed,
        )
    if config.customers is not None:
        book = load_customers(config.customers)
        policy = replace(policy, adjust_priority=book.adjust_priority, marks=book.marks)
    return IncidentSettings(
        host_level_rules=frozenset(c.name for c in rules.absent_rules) if rules else frozenset(),
        kinds=Kinds(rules.kind_of if rules else {}),
        group_wait=config.delivery.group_wait,
        group_wait_p1=config.delivery.group_wait_p1,
        number_prefix=settings.number_prefix,
        language=config.language,
        console_url=config.console_url,
        policy=policy,
    )


def _silent_after(rules: RuleSet) -> float:
    windows = [c.rule.absent for c in rules.absent_rules if c.rule.absent]
    return min(windows) if windows else DEFAULT_SILENT_AFTER

"""Retiring a host: an admin says a server is gone for good, and the collector forgets it.

At once and durably: the host leaves the registry (API, console, overview counts, /metrics),
its rule state (pending breaches, histories, silence watch) and short-term charts are dropped,
its stored row and rule checkpoint are deleted (a restart does not bring it back), and its open
rule incidents are resolved by the admin with a note on their timelines. Past incidents, daily
aggregates and host events stay: reports cover the past. Incidents a person opened (or another
monitor raised) naming the host stay open; they are listed so the admin can see to them.
A host that reports again after this is simply a new host.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from collector.auth.service import AccessService
from collector.evaluation.evaluator import Evaluator
from collector.incidents.events import Resolve
from collector.incidents.model import ACTIVE_STATES, Incident, Source
from collector.incidents.service import IncidentService
from collector.incidents.transitions import TransitionRefusedError
from collector.ingest.hosts import HostRegistry
from collector.store.incidents import IncidentReader
from collector.store.repository import Repository

log = logging.getLogger(__name__)

MAX_REASON = 500
# Incident changes go through the single incident writer, after any signal already queued
# for the host; this long at most is waited for them.
WRITER_WAIT_SECONDS = 60.0
OPEN_INCIDENTS_READ = 10_000


class UnknownHostError(Exception):
    """No host by that name is known (never reported, or already retired)."""

    def __init__(self, name: str) -> None:
        self.message = f"no host {name!r} (never reported, or already retired)"
        super().__init__(self.message)


@dataclass(frozen=True)
class Retirement:
    """What retiring one host did."""

    host: str
    retired_at: float
    retired_by: str
    reason: str
    series_dropped: int  # the rule engine's pending and firing series of the host
    resolved: tuple[str, ...]  # ticket numbers of its rule incidents, now resolved
    left_open: tuple[str, ...]  # incidents people opened (or other monitors) naming it


@dataclass(frozen=True)
class Actor:
    """Who retires the host, for the timelines and the audit log."""

    name: str
    kind: str  # session, token, cli
    address: str = ""


class HostRetirement:
    """Forgets a host everywhere the collector keeps it."""

    def __init__(
        self,
        hosts: HostRegistry,
        evaluator: Evaluator,
        repository: Repository,
        incidents: IncidentService,
        reader: IncidentReader,
        access: AccessService,
        clock: Callable[[], float],
        persisting: threading.Lock,
        forgetters: Sequence[Callable[[str], None]] = (),
    ) -> None:
        self._hosts = hosts
        self._evaluator = evaluator
        self._repository = repository
        self._incidents = incidents
        self._reader = reader
        self._access = access
        self._clock = clock
        # Held by the host-state flush and the rule checkpoint too: neither can write back a
        # row for the host between its removal and its deletion.
        self._persisting = persisting
        # Caches keyed by host name elsewhere (short-term charts, ingest quotas, /metrics).
        self.forgetters = list(forgetters)

    def retire(self, name: str, actor: Actor, reason: str = "") -> Retirement:
        """Retire host `name` or raise UnknownHostError (call it off the event loop)."""
        reason = " ".join(reason.split())[:MAX_REASON]
        with self._persisting:
            if self._hosts.get(name) is None:
                raise UnknownHostError(name)
            self._repository.forget_host(name)  # first: if the database refuses, nothing changed
            self._hosts.remove(name)
            with self._evaluator.lock:
                dropped = self._evaluator.engine.forget_host(name)
            for forget in self.forgetters:
                forget(name)
        resolved, left_open = self._after_queued_signals(name, actor, reason)
        done = Retirement(name, self._clock(), actor.name, reason, dropped, resolved, left_open)
        self._access.audit(
            actor.name, actor.kind, actor.address, f"RETIRE host {name}", 200, _detail(done)
        )
        log.info("host %s retired by %s: %s", name, actor.name, _detail(done))
        return done

    def _after_queued_signals(
        self, name: str, actor: Actor, reason: str
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Resolve the host's rule incidents in the incident writer's line, so one opened by
        a signal still queued when the host was forgotten is resolved too."""
        writer = self._evaluator.writer
        if writer is None:
            return self._resolve_incidents(name, actor, reason)
        work = writer.submit(lambda: self._resolve_incidents(name, actor, reason))
        return work.result(WRITER_WAIT_SECONDS)

    def _resolve_incidents(
        self, name: str, actor: Actor, reason: str
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        note = f"host {name} retired by {actor.name}" + (f": {reason}" if reason else "")
        resolved: list[str] = []
        left_open: list[str] = []
        for incident in self._reader.search(list(ACTIVE_STATES), OPEN_INCIDENTS_READ, name):
            if not _raised_by_rule_on(incident, name):
                left_open.append(incident.number)
                continue
            assert incident.id is not None
            try:
                done = self._incidents.act(incident.id, Resolve(actor.name, note))
            except TransitionRefusedError:  # resolved by someone meanwhile
                continue
            resolved.append(done.number)
        return tuple(sorted(resolved)), tuple(sorted(left_open))


def _raised_by_rule_on(incident: Incident, name: str) -> bool:
    return incident.source is Source.RULE and incident.host == name


def _detail(done: Retirement) -> str:
    parts = [f"{len(done.resolved)} incident(s) resolved"]
    if done.resolved:
        parts[0] += f" ({', '.join(done.resolved)})"
    if done.left_open:
        parts.append(f"left open: {', '.join(done.left_open)}")
    if done.reason:
        parts.append(f"reason: {done.reason}")
    return "; ".join(parts)

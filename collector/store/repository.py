"""Hosts, their events and the rule engine's checkpoints in the database."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import OperationalError

from agent.report import Event
from collector.store.database import reader
from collector.store.dialect import upsert
from collector.store.schema import host_events, hosts, rule_checkpoints

log = logging.getLogger(__name__)

EVENTS_KEPT_PER_HOST = 1000


@dataclass(frozen=True)
class HostRecord:
    """What the database remembers of a host between restarts."""

    name: str
    first_seen: float
    last_seen: float
    agent_version: str = ""
    reported_by: str = ""
    last_sequence: int = 0
    agent_instance: str = ""
    clock_skew_seconds: float = 0.0


_HOST_COLUMNS = [
    "last_seen",
    "agent_version",
    "reported_by",
    "last_sequence",
    "agent_instance",
    "clock_skew_seconds",
]


class Repository:
    """Typed access to hosts, host events and rule checkpoints over one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = reader(engine)

    def save_hosts(self, records: Sequence[HostRecord]) -> list[str]:
        """Upsert hosts; returns the names whose save failed for a passing reason (retry them).

        One transaction for all first; if that fails, one per host, so one bad host can never
        block the others' saves.
        """
        if not records:
            return []
        try:
            self._save(records)
            return []
        except Exception:
            log.warning("saving %d hosts together failed; saving them one by one", len(records))
        retry: list[str] = []
        for record in records:
            try:
                self._save([record])
            except OperationalError as exc:
                retry.append(record.name)
                log.warning("could not save host %s (will retry): %s", record.name, exc.orig)
            except Exception as exc:
                log.error("could not save host %s, dropped this state: %s", record.name, exc)
        return retry

    def _save(self, records: Iterable[HostRecord]) -> None:
        rows = [record.__dict__ for record in records]
        with self.engine.begin() as conn:
            statement = upsert(
                conn, hosts, ["name"], {c: (lambda ex, c=c: ex[c]) for c in _HOST_COLUMNS}
            )
            conn.execute(statement, rows)

    def list_hosts(self) -> list[HostRecord]:
        """Every host the collector has ever heard from."""
        with self._reader.connect() as conn:
            return [HostRecord(**row._mapping) for row in conn.execute(select(hosts))]

    def forget_host(self, name: str) -> None:
        """Delete a retired host's row and rule checkpoint, so a restart does not bring it
        back; its events stay (the health reports read the past quarter's BMC events)."""
        with self.engine.begin() as conn:
            conn.execute(delete(hosts).where(hosts.c.name == name))
            conn.execute(delete(rule_checkpoints).where(rule_checkpoints.c.host == name))

    def add_events(
        self,
        host: str,
        events: Sequence[Event],
        received_at: float,
        keep: int = EVENTS_KEPT_PER_HOST,
    ) -> None:
        """Store a host's events, keeping only its newest `keep`."""
        if not events:
            return
        rows = [
            {
                "host": host,
                "kind": e.kind,
                "time": e.time,
                "received_at": received_at,
                "message": e.message,
                "labels": dict(e.labels),
            }
            for e in events
        ]
        with self.engine.begin() as conn:
            conn.execute(insert(host_events), rows)
            newest = (
                select(host_events.c.id)
                .where(host_events.c.host == host)
                .order_by(host_events.c.id.desc())
                .offset(keep)
                .limit(1)
            )
            cutoff = conn.execute(newest).scalar()
            if cutoff is not None:
                conn.execute(
                    delete(host_events).where(
                        host_events.c.host == host, host_events.c.id <= cutoff
                    )
                )

    def list_events(self, host: str, limit: int = 100) -> list[dict[str, Any]]:
        """A host's newest events first."""
        query = (
            select(host_events)
            .where(host_events.c.host == host)
            .order_by(host_events.c.id.desc())
            .limit(limit)
        )
        with self._reader.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def save_checkpoints(self, by_host: Mapping[str, Mapping[str, object]], now: float) -> None:
        """Store the rule engine's per-host state (series histories, pending breaches)."""
        rows = [
            {"host": host, "saved_at": now, "data": json.dumps(data).encode()}
            for host, data in by_host.items()
        ]
        if not rows:
            return
        with self.engine.begin() as conn:
            statement = upsert(
                conn,
                rule_checkpoints,
                ["host"],
                {"saved_at": lambda ex: ex["saved_at"], "data": lambda ex: ex["data"]},
            )
            conn.execute(statement, rows)

    def load_checkpoints(self) -> dict[str, dict[str, object]]:
        """Every host's stored rule-engine state."""
        with self._reader.connect() as conn:
            rows = conn.execute(select(rule_checkpoints.c.host, rule_checkpoints.c.data))
            return {host: json.loads(bytes(data)) for host, data in rows}

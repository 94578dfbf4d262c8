"""Asking for snapshots when incidents open, handing them to agents in their report answers,
and storing what comes back on the incident's timeline."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from collector.incidents.model import Incident
from collector.incidents.transitions import Transition
from collector.snapshots.model import SnapshotBody
from collector.snapshots.plan import diagnostics_for
from collector.store import incidents as rows
from collector.store import snapshots as store
from collector.store.snapshots import SnapshotRecord

log = logging.getLogger(__name__)

ASK_WINDOW = 600.0  # a request no report fetched within this long is evidence too late
REFRESH = 5.0  # how often the hosts with pending requests are read again (other collectors)


class SnapshotRefusedError(ValueError):
    """An answer the collector will not store; the message says why."""


class SnapshotService:
    """Snapshot requests and answers, with the hosts that have one pending kept in memory so a
    report from any other host costs one set look-up."""

    def __init__(self, engine: Engine, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: set[str] = set()

    def on_transition(self, incident: Incident, transition: Transition) -> None:
        """An incident opened (or came back) on a host: ask its agent for a snapshot."""
        if transition not in (Transition.OPEN, Transition.REOPEN) or not incident.host:
            return
        assert incident.id is not None
        try:
            with self._engine.begin() as conn:
                wanted = diagnostics_for(incident)
                store.ask(conn, incident.id, incident.host, wanted, self._clock())
        except Exception:  # evidence is a bonus: never let it stop the incident's own work
            log.exception("snapshot for %s on %s not asked", incident.number, incident.host)
            return
        with self._lock:
            self._pending.add(incident.host)

    def pending(self, host: str) -> bool:
        """Whether `host`'s agent may have a request waiting: a set look-up, never the
        database (it is asked on the event loop, for every report)."""
        with self._lock:
            return host in self._pending

    def refresh(self) -> None:
        """Read the hosts with requests pending, for requests this collector did not make
        (another collector, or before a restart); run off the event loop every REFRESH s."""
        now = self._clock()
        with self._engine.connect() as conn:
            found = store.pending_hosts(conn, now - ASK_WINDOW)
        with self._lock:
            self._pending |= found

    def requests_for(self, host: str) -> list[dict[str, Any]]:
        """The requests to hand `host`'s agent in the answer to its report (claimed now)."""
        if not self.pending(host):
            return []
        now = self._clock()
        with self._engine.begin() as conn:
            claimed = store.hand_over(conn, host, now - ASK_WINDOW, now)
        with self._lock:
            self._pending.discard(host)
        return [{"id": r.id, "diagnostics": r.requested} for r in claimed]

    def receive(self, body: SnapshotBody, may_report_for: Callable[[str], bool]) -> int:
        """Store an agent's answer and note it on the incident's timeline; returns the
        incident id. Raises SnapshotRefusedError for an unknown, foreign or repeated answer."""
        now = self._clock()
        with self._engine.begin() as conn:
            record = store.by_id(conn, body.request_id)
            if record is None or record.host != body.host or not may_report_for(record.host):
                raise SnapshotRefusedError(
                    f"no snapshot {body.request_id} was asked of host {body.host!r} for this token"
                )
            stored = body.stored()
            size = len(json.dumps(stored).encode())
            if not store.answer(conn, record.id, stored, body.taken_at, body.seconds, size, now):
                raise SnapshotRefusedError(f"snapshot {record.id} was answered already")
            rows.append_timeline(
                conn, record.incident_id, now, "snapshot", "SNAPSHOT", f"agent:{body.host}",
                summary(stored, body.seconds), {"snapshot": record.id},
            )  # fmt: skip
        log.info(
            "snapshot %d from %s stored on incident %d", record.id, body.host, record.incident_id
        )
        return record.incident_id

    def of_incident(self, incident_id: int) -> list[SnapshotRecord]:
        """The incident's snapshots, oldest first."""
        with self._engine.connect() as conn:
            return store.of_incident(conn, incident_id)


def summary(diagnostics: list[dict[str, Any]], seconds: float) -> str:
    """One line for the timeline: what was collected, and what was not (and why)."""
    collected = [d["name"] for d in diagnostics if d["status"] == "ok"]
    missing = [f"{d['name']} ({d['note']})" for d in diagnostics if d["status"] != "ok"]
    text = f"diagnostic snapshot in {seconds:.1f} s: collected {', '.join(collected) or 'nothing'}"
    return text + (f"; not collected: {'; '.join(missing)}" if missing else "")

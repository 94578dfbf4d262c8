"""Root causes and the knowledge base over the store: record, learn, search, match.

Recording a root cause is one transaction with its ROOT_CAUSE timeline entry (and, for an
incident already closed, its knowledge-base entry). Matching runs on read, never while an
incident opens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine

from collector.incidents.model import Incident, IncidentState
from collector.incidents.rootcause import RootCause
from collector.incidents.service import IncidentNotFoundError, learn
from collector.knowledge.kb import KbEntry, Match, Query, query_of, rank
from collector.store import incidents as rows
from collector.store import knowledge
from collector.store.database import reader
from collector.store.snapshots import SnapshotRecord, of_incident

Clock = Callable[[], float]
MATCHES_SHOWN = 3


@dataclass(frozen=True)
class FaultRecord:
    """Everything a fault analysis report is made of."""

    incident: Incident
    timeline: list[dict[str, Any]]
    root_cause: RootCause | None
    snapshots: list[SnapshotRecord] = field(default_factory=list)  # diagnostics at opening


class KnowledgeService:
    """Root-cause records and knowledge-base entries on one engine."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._reader = reader(engine)
        self._clock = clock

    def record_root_cause(self, reference: str | int, root_cause: RootCause) -> RootCause:
        """Store the root cause of the incident `reference` (replacing an earlier one)."""
        now = self._clock()
        with self._engine.begin() as conn:
            incident = rows.by_reference(conn, reference, lock=True)
            if incident is None or incident.id is None:
                raise IncidentNotFoundError(f"no incident {reference}")
            stored = replace(root_cause, incident_id=incident.id, recorded_at=now)
            knowledge.save_root_cause(conn, stored)
            detail = f"{stored.category.value}: {stored.cause}"
            data = {"fix": stored.fix, "actions": [a.to_json() for a in stored.actions]}
            rows.append_timeline(
                conn, incident.id, now, "transition", "ROOT_CAUSE", stored.author, detail, data
            )
            if incident.state is IncidentState.CLOSED:
                learn(conn, incident, now)
        return stored

    def fault_record(self, reference: str | int) -> FaultRecord | None:
        """The incident, its timeline and its root cause; None if there is no such incident."""
        with self._reader.connect() as conn:
            incident = rows.by_reference(conn, reference)
            if incident is None or incident.id is None:
                return None
            root_cause = knowledge.root_cause_of(conn, incident.id)
            snapshots = of_incident(conn, incident.id)
        timeline = rows.IncidentReader(self._reader).timeline(incident.id)
        return FaultRecord(incident, timeline, root_cause, snapshots)

    def add_entry(self, entry: KbEntry) -> KbEntry:
        """Write an entry by hand (or edit one, when `entry.id` is set)."""
        now = self._clock()
        stamped = replace(entry, created_at=now, updated_at=now)
        with self._engine.begin() as conn:
            return knowledge.save_entry(conn, stamped)

    def search(self, text: str, limit: int = 10) -> list[Match]:
        """Entries for a person's search words, most relevant first."""
        with self._reader.connect() as conn:
            found = knowledge.candidates(conn)
        return rank(Query(text), found, limit)

    def matches_for(self, incident: Incident, limit: int = MATCHES_SHOWN) -> list[Match]:
        """The entries that best fit `incident` (never its own), best first."""
        with self._reader.connect() as conn:
            found = knowledge.candidates(conn, incident.rule)
        others = [e for e in found if e.source_incident_id != incident.id]
        return rank(query_of(incident), others, limit)

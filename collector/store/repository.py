"""Reading and writing incidents, hosts and deliveries; the only module that writes SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Engine, Insert, Row, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from collector.incidents.model import Incident, IncidentState
from collector.store.schema import hosts, incident_events, incidents, notification_deliveries
from rules.priority import Priority


@dataclass(frozen=True)
class HostRecord:
    """What the database remembers of a host between restarts."""

    name: str
    first_seen: float
    last_seen: float
    agent_version: str = ""
    reported_by: str = ""
    last_sequence: int = 0


class Repository:
    """Typed access to the collector's tables over one SQLAlchemy engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_incident(self, incident: Incident, detail: str) -> Incident:
        """Insert an open incident and its OPEN event; returns it with its id."""
        with self.engine.begin() as conn:
            new_id = conn.execute(
                insert(incidents).values(**_incident_row(incident)).returning(incidents.c.id)
            ).scalar_one()
            conn.execute(
                insert(incident_events).values(
                    incident_id=new_id, transition="OPEN", at=incident.opened_at, detail=detail
                )
            )
        return _replace_id(incident, new_id)

    def resolve_incident(self, incident: Incident, detail: str) -> None:
        """Mark a stored incident resolved and record the RESOLVE event."""
        assert incident.id is not None, "only stored incidents can be resolved"
        with self.engine.begin() as conn:
            conn.execute(
                update(incidents)
                .where(incidents.c.id == incident.id)
                .values(
                    state=incident.state.value,
                    resolved_at=incident.resolved_at,
                    updated_at=incident.updated_at,
                    value=incident.value,
                )
            )
            conn.execute(
                insert(incident_events).values(
                    incident_id=incident.id,
                    transition="RESOLVE",
                    at=incident.resolved_at or incident.updated_at,
                    detail=detail,
                )
            )

    def list_incidents(
        self, state: IncidentState | None = None, limit: int = 500, host: str | None = None
    ) -> list[Incident]:
        """Incidents newest first, optionally only one state or one host."""
        query = select(incidents).order_by(incidents.c.opened_at.desc(), incidents.c.id.desc())
        if state is not None:
            query = query.where(incidents.c.state == state.value)
        if host is not None:
            query = query.where(incidents.c.host == host)
        with self.engine.connect() as conn:
            return [_incident_from(row) for row in conn.execute(query.limit(limit))]

    def get_incident(self, incident_id: int) -> Incident | None:
        """One incident by id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
        return _incident_from(row) if row is not None else None

    def incident_events(self, incident_id: int) -> list[dict[str, Any]]:
        """The audit trail of one incident, oldest first."""
        query = (
            select(incident_events)
            .where(incident_events.c.incident_id == incident_id)
            .order_by(incident_events.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def count_incidents(self) -> dict[str, int]:
        """Number of incidents per state."""
        query = select(incidents.c.state, func.count()).group_by(incidents.c.state)
        with self.engine.connect() as conn:
            return {str(state): int(count) for state, count in conn.execute(query)}

    def save_hosts(self, records: Iterable[HostRecord]) -> None:
        """Insert or update hosts in one transaction (the write-behind flush)."""
        rows = [record.__dict__ for record in records]
        if not rows:
            return
        statement = self._upsert(
            hosts, ["name"], ["last_seen", "agent_version", "reported_by", "last_sequence"]
        )
        with self.engine.begin() as conn:
            conn.execute(statement, rows)

    def list_hosts(self) -> list[HostRecord]:
        """Every host the collector has ever heard from."""
        with self.engine.connect() as conn:
            return [HostRecord(**row._mapping) for row in conn.execute(select(hosts))]

    def record_deliveries(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append notification delivery attempts (the history behind the console)."""
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(notification_deliveries), list(rows))

    def deliveries(self, incident_id: int) -> list[dict[str, Any]]:
        """Delivery attempts for one incident, oldest first."""
        query = (
            select(notification_deliveries)
            .where(notification_deliveries.c.incident_id == incident_id)
            .order_by(notification_deliveries.c.id)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def _upsert(self, table: Any, keys: list[str], columns: list[str]) -> Insert:
        dialect = self.engine.dialect.name
        module: Any = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(table)
        return statement.on_conflict_do_update(  # type: ignore[no-any-return]
            index_elements=keys, set_={c: statement.excluded[c] for c in columns}
        )


def _incident_row(incident: Incident) -> dict[str, Any]:
    return {
        "key": incident.key,
        "rule": incident.rule,
        "host": incident.host,
        "labels": incident.labels,
        "priority": incident.priority.value,
        "state": incident.state.value,
        "summary": incident.summary,
        "value": incident.value,
        "opened_at": incident.opened_at,
        "updated_at": incident.updated_at,
        "resolved_at": incident.resolved_at,
        "annotations": incident.annotations,
    }


def _incident_from(row: Row[Any]) -> Incident:
    m = row._mapping
    return Incident(
        key=m["key"],
        rule=m["rule"],
        host=m["host"],
        labels=dict(m["labels"]),
        priority=Priority(m["priority"]),
        state=IncidentState(m["state"]),
        summary=m["summary"],
        value=m["value"],
        opened_at=m["opened_at"],
        updated_at=m["updated_at"],
        resolved_at=m["resolved_at"],
        id=m["id"],
        annotations=dict(m["annotations"] or {}),
    )


def _replace_id(incident: Incident, new_id: int) -> Incident:
    return replace(incident, id=new_id)

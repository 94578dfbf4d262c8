"""Incidents and their timeline in the database: rows <-> Incident, numbering, reads."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    Text,
    bindparam,
    cast,
    func,
    insert,
    or_,
    select,
    update,
)

from collector.incidents.model import ACTIVE_STATES, Incident, IncidentState, Source
from collector.incidents.plan import ResponsePlan
from collector.store.dialect import upsert
from collector.store.schema import incident_timeline, incidents, ticket_sequences
from rules.priority import Priority


class StaleIncidentError(Exception):
    """The incident changed under us (another writer); the caller retries with a fresh copy."""


def next_number(conn: Connection, prefix: str, now: float) -> str:
    """The next ticket number, e.g. INC-2026-000123: never reused, counted per year."""
    year = dt.datetime.fromtimestamp(now, dt.UTC).year
    name = f"{prefix}-{year}"
    statement = upsert(
        conn, ticket_sequences, ["name"], {"value": lambda _ex: ticket_sequences.c.value + 1}
    )
    value = conn.execute(
        statement.values(name=name, value=1).returning(ticket_sequences.c.value)
    ).scalar_one()
    return f"{name}-{value:06d}"


_ROW_COLUMNS = (
    "source",
    "key",
    "rule",
    "host",
    "hosts",
    "labels",
    "priority",
    "state",
    "summary",
    "description",
    "value",
    "auto_resolve",
    "opened_at",
    "updated_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "closed_at",
    "assignee",
    "reporter",
    "contact",
    "reopen_count",
    "annotations",
    "plan",
    "escalation_step",
    "last_note",
    "last_note_at",
    "last_update_at",
    "flap_times",
    "flapping",
    "eta_at",
    "eta_reason",
)


# Statements built once with bound parameters: SQLAlchemy compiles and caches them once,
# instead of building a cache key over ~35 literal values per write (most of a transition's
# cost before).
_INSERT = insert(incidents).returning(incidents.c.id)
_UPDATE = (
    update(incidents)
    .where(incidents.c.id == bindparam("where_id"), incidents.c.version == bindparam("where_v"))
    .values({name: bindparam(name) for name in (*_ROW_COLUMNS, "version")})
)
_TIMELINE = insert(incident_timeline)


def insert_incident(conn: Connection, incident: Incident, number: str) -> Incident:
    """Store a new incident under `number`; returns it with id and number."""
    row = {**_row_of(incident), "number": number, "version": 1}
    new_id = conn.execute(_INSERT, row).scalar_one()
    return replace(incident, id=new_id, number=number, version=1)


def update_incident(conn: Connection, incident: Incident) -> Incident:
    """Write a changed incident if nobody else changed it since it was read."""
    params = {
        **_row_of(incident),
        "version": incident.version + 1,
        "where_id": incident.id,
        "where_v": incident.version,
    }
    result = conn.execute(_UPDATE, params)
    if result.rowcount != 1:
        raise StaleIncidentError(f"incident {incident.number} changed meanwhile")
    return replace(incident, version=incident.version + 1)


def active_by_key(conn: Connection, key: str) -> Incident | None:
    """The active incident of a rule series, if any."""
    query = select(incidents).where(
        incidents.c.key == key, incidents.c.state.in_([s.value for s in ACTIVE_STATES])
    )
    return _one(conn, _locked(conn, query))


def active_ids(conn: Connection) -> list[int]:
    """Ids of the active incidents."""
    query = select(incidents.c.id).where(incidents.c.state.in_([s.value for s in ACTIVE_STATES]))
    return [int(row[0]) for row in conn.execute(query)]


def active_host_level(conn: Connection, host: str, rules: frozenset[str]) -> Incident | None:
    """An active incident that says the whole host is gone (e.g. its agent is silent)."""
    query = (
        select(incidents)
        .where(
            incidents.c.host == host,
            incidents.c.rule.in_(sorted(rules)),
            incidents.c.state.in_([s.value for s in ACTIVE_STATES]),
        )
        .limit(1)
    )
    return _one(conn, query)


def reopenable_by_key(conn: Connection, key: str, resolved_since: float) -> Incident | None:
    """The newest incident of a series resolved (not closed) at or after `resolved_since`."""
    query = (
        select(incidents)
        .where(
            incidents.c.key == key,
            incidents.c.state.in_([IncidentState.RESOLVED.value, IncidentState.VERIFYING.value]),
            incidents.c.resolved_at >= resolved_since,
        )
        .order_by(incidents.c.resolved_at.desc())
        .limit(1)
    )
    return _one(conn, _locked(conn, query))


def by_reference(conn: Connection, reference: str | int, lock: bool = False) -> Incident | None:
    """An incident by id (123) or ticket number (INC-2026-000123, case-insensitive)."""
    text = str(reference).strip()
    # ASCII digits only ("²".isdigit() too), and no more than an id column holds.
    if text.isascii() and text.isdigit() and len(text) <= 18:
        query = select(incidents).where(incidents.c.id == int(text))
    else:
        query = select(incidents).where(func.upper(incidents.c.number) == text.upper())
    return _one(conn, _locked(conn, query) if lock else query)


def append_timeline(
    conn: Connection,
    incident_id: int,
    at: float,
    kind: str,
    name: str,
    actor: str,
    detail: str = "",
    data: Mapping[str, Any] | None = None,
) -> None:
    """Add one entry to an incident's timeline."""
    conn.execute(
        _TIMELINE,
        {
            "incident_id": incident_id,
            "at": at,
            "kind": kind,
            "name": name,
            "actor": actor,
            "detail": detail,
            "data": dict(data) if data else None,
        },
    )


# The incident list's orders (ties broken by id, so paging is stable).
ORDERS = {
    "newest": (incidents.c.opened_at.desc(), incidents.c.id.desc()),
    "oldest": (incidents.c.opened_at.asc(), incidents.c.id.asc()),
    "priority": (incidents.c.priority.asc(), incidents.c.opened_at.desc(), incidents.c.id.desc()),
}


@dataclass(frozen=True)
class IncidentFilters:
    """The incident list's filters as SQL, shared by every reader (staff and customer); a
    host match is made exact afterwards in Python (the JSON text search may over-match)."""

    states: list[IncidentState] | None = None
    priorities: list[Priority] | None = None
    rule: str | None = None
    number: str | None = None
    host: str | None = None
    opened_after: float | None = None
    team: str | None = None  # routed to it (label `team`) or paging it in a tier

    def applied(self, query: Select[Any]) -> Select[Any]:
        """`query` narrowed by every filter given."""
        if self.opened_after is not None:
            query = query.where(incidents.c.opened_at > self.opened_after)
        if self.states:
            query = query.where(incidents.c.state.in_([s.value for s in self.states]))
        if self.priorities:
            query = query.where(incidents.c.priority.in_([p.value for p in self.priorities]))
        if self.rule:
            query = query.where(incidents.c.rule == self.rule)
        if self.number:
            upper = func.upper(incidents.c.number)
            query = query.where(upper.contains(self.number.strip().upper(), autoescape=True))
        if self.host is not None:
            # The primary host, or any of the affected hosts (JSON text contains "host").
            listed = cast(incidents.c.hosts, Text).contains(json.dumps(self.host), autoescape=True)
            query = query.where(or_(incidents.c.host == self.host, listed))
        if self.team:
            paged = json.dumps(f"team:{self.team}")  # a tier target, quoted: no prefix matches
            query = query.where(
                or_(
                    incidents.c.labels["team"].as_string() == self.team,
                    cast(incidents.c.plan, Text).contains(paged, autoescape=True),
                )
            )
        return query


@dataclass(frozen=True)
class Change:
    """One timeline entry of the recent past, with the incident it belongs to."""

    at: float
    name: str  # OPEN, ACK, RESOLVE, ...
    actor: str
    detail: str
    incident: Incident


def changes_query(since: float, where: ColumnElement[bool] | None = None) -> Select[Any]:
    """Timeline entries since `since` that are not delivery attempts, newest first, each row
    an incident's columns plus the entry's (`change_*`)."""
    entry = incident_timeline.c
    query = (
        select(
            incidents,
            entry.at.label("change_at"),
            entry.name.label("change_name"),
            entry.actor.label("change_actor"),
            entry.detail.label("change_detail"),
        )
        .join(incidents, incidents.c.id == entry.incident_id)
        .where(entry.at >= since, entry.kind != "delivery")
        .order_by(entry.at.desc(), entry.id.desc())
    )
    return query if where is None else query.where(where)


def change_from(row: Row[Any]) -> Change:
    """A Change from a row of changes_query."""
    m = row._mapping
    return Change(
        m["change_at"], m["change_name"], m["change_actor"], m["change_detail"], incident_from(row)
    )


class IncidentReader:
    """Read-only queries for the API, console, CLI and /metrics."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, reference: str | int) -> Incident | None:
        """One incident by id or number."""
        with self._engine.connect() as conn:
            return by_reference(conn, reference)

    def timeline(self, incident_id: int) -> list[dict[str, Any]]:
        """Every entry of one incident's timeline, oldest first."""
        query = (
            select(incident_timeline)
            .where(incident_timeline.c.incident_id == incident_id)
            .order_by(incident_timeline.c.id)
        )
        with self._engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def search(
        self,
        states: list[IncidentState] | None = None,
        limit: int = 500,
        host: str | None = None,
        *,
        priorities: list[Priority] | None = None,
        rule: str | None = None,
        number: str | None = None,
        offset: int = 0,
        opened_after: float | None = None,
        order: str = "newest",
        team: str | None = None,
    ) -> list[Incident]:
        """Incidents newest first (or `order`: oldest, priority), optionally only some states,
        priorities, one host, one rule, ticket numbers containing `number` (case-insensitive),
        one team's, or those opened after `opened_after`; `offset` pages."""
        wanted = IncidentFilters(states, priorities, rule, number, host, opened_after, team)
        query = wanted.applied(select(incidents)).order_by(*ORDERS[order])
        with self._engine.connect() as conn:
            rows = conn.execute(query.limit(limit).offset(offset))
            found = [incident_from(row) for row in rows]
        return [i for i in found if host is None or i.host == host or host in i.hosts]

    def active(self) -> list[Incident]:
        """Every triggered, acknowledged or waiting incident."""
        return self.search(list(ACTIVE_STATES), limit=1_000_000)

    def changes(self, since: float, limit: int = 20) -> list[Change]:
        """What happened to incidents since `since` (no delivery attempts), newest first."""
        with self._engine.connect() as conn:
            return [change_from(row) for row in conn.execute(changes_query(since).limit(limit))]

    def count_active(self) -> dict[str, int]:
        """Active incidents per priority (P1..P4, zeros included)."""
        query = (
            select(incidents.c.priority, func.count())
            .where(incidents.c.state.in_([s.value for s in ACTIVE_STATES]))
            .group_by(incidents.c.priority)
        )
        counts = {p.value: 0 for p in Priority}
        with self._engine.connect() as conn:
            for priority, count in conn.execute(query):
                counts[str(priority)] = int(count)
        return counts


def _locked(conn: Connection, query: Select[Any]) -> Select[Any]:
    # Row locks matter on PostgreSQL; SQLite has one writer at a time anyway.
    return query.with_for_update() if conn.dialect.name == "postgresql" else query


def _one(conn: Connection, query: Select[Any]) -> Incident | None:
    row = conn.execute(query).first()
    return incident_from(row) if row is not None else None


def _row_of(incident: Incident) -> dict[str, Any]:
    return {
        "source": incident.source.value,
        "key": incident.key,
        "rule": incident.rule,
        "host": incident.host,
        "hosts": list(incident.hosts),
        "labels": incident.labels,
        "priority": incident.priority.value,
        "state": incident.state.value,
        "summary": incident.summary,
        "description": incident.description,
        "value": incident.value,
        "auto_resolve": incident.auto_resolve,
        "opened_at": incident.opened_at,
        "updated_at": incident.updated_at,
        "acknowledged_at": incident.acknowledged_at,
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
        "assignee": incident.assignee,
        "reporter": incident.reporter,
        "contact": incident.contact,
        "reopen_count": incident.reopen_count,
        "annotations": incident.annotations,
        "plan": incident.plan.to_json() if incident.plan else None,
        "escalation_step": incident.escalation_step,
        "last_note": incident.last_note,
        "last_note_at": incident.last_note_at,
        "last_update_at": incident.last_update_at,
        "flap_times": list(incident.flap_times) or None,
        "flapping": incident.flapping,
        "eta_at": incident.eta_at,
        "eta_reason": incident.eta_reason,
    }


def incident_from(row: Row[Any]) -> Incident:
    """An Incident from a row of the incidents table."""
    m = row._mapping
    return Incident(
        source=Source(m["source"]),
        priority=Priority(m["priority"]),
        state=IncidentState(m["state"]),
        summary=m["summary"],
        opened_at=m["opened_at"],
        updated_at=m["updated_at"],
        key=m["key"],
        rule=m["rule"],
        host=m["host"],
        hosts=tuple(m["hosts"] or ()),
        labels=dict(m["labels"] or {}),
        description=m["description"],
        value=m["value"],
        auto_resolve=bool(m["auto_resolve"]),
        acknowledged_at=m["acknowledged_at"],
        acknowledged_by=m["acknowledged_by"],
        resolved_at=m["resolved_at"],
        closed_at=m["closed_at"],
        assignee=m["assignee"],
        reporter=m["reporter"],
        contact=m["contact"],
        reopen_count=m["reopen_count"],
        annotations=dict(m["annotations"] or {}),
        plan=ResponsePlan.from_json(m["plan"]),
        escalation_step=m["escalation_step"],
        last_note=m["last_note"],
        last_note_at=m["last_note_at"],
        last_update_at=m["last_update_at"],
        flap_times=tuple(m["flap_times"] or ()),
        flapping=bool(m["flapping"]),
        eta_at=m["eta_at"],
        eta_reason=m["eta_reason"],
        id=m["id"],
        number=m["number"],
        version=m["version"],
    )

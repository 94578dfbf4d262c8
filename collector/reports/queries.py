"""Read-only queries the reports run on the store (SQLAlchemy Core, SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from collector.noise.silences import Recurrence, Silence
from collector.reports.records import DeliveryRecord, IncidentRecord, Interval
from collector.store.schema import (
    hosts,
    incident_timeline,
    incidents,
    outbox,
    root_causes,
    silences,
)

TIMELINE_NAMES = ("ACK", "UPDATE", "UPDATE_MISSED", "FLAPPING")
COLUMNS = (  # only what the figures use: the other JSON columns cost time to decode
    "id",
    "number",
    "source",
    "rule",
    "host",
    "hosts",
    "labels",
    "priority",
    "state",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "closed_at",
    "plan",
)


def incidents_opened(conn: Connection, period: Interval) -> list[IncidentRecord]:
    """Incidents opened in [start, end), oldest first."""
    start, end = period
    return _incidents(conn, and_(incidents.c.opened_at >= start, incidents.c.opened_at < end))


def p1_incidents_open_at(conn: Connection, at: float) -> list[IncidentRecord]:
    """P1 incidents opened before `at` and not resolved by then."""
    still_open = or_(incidents.c.resolved_at.is_(None), incidents.c.resolved_at > at)
    return _incidents(
        conn, and_(incidents.c.priority == "P1", incidents.c.opened_at < at, still_open)
    )


def incidents_counted(conn: Connection, period: Interval) -> list[IncidentRecord]:
    """Incidents opened in [start, end) with only what counting them needs (the trend)."""
    start, end = period
    c = incidents.c
    query = select(c.number, c.priority, c.opened_at, c.source, c.rule, c.labels).where(
        c.opened_at >= start, c.opened_at < end
    )
    return [
        IncidentRecord(
            number,
            priority,
            opened_at,
            source,
            rule,
            labels={str(k): str(v) for k, v in (labels or {}).items()},
        )
        for number, priority, opened_at, source, rule, labels in conn.execute(query)
    ]


def _incidents(conn: Connection, where: ColumnElement[bool]) -> list[IncidentRecord]:
    columns = [incidents.c[name] for name in COLUMNS]
    query = (
        select(*columns, root_causes.c.category, root_causes.c.cause)
        .select_from(incidents.outerjoin(root_causes, root_causes.c.incident_id == incidents.c.id))
        .where(where)
        .order_by(incidents.c.opened_at)
    )
    rows = conn.execute(query).all()
    marks = _timeline_marks(conn, where)
    return [_record(row._mapping, marks.get(row.id, {})) for row in rows]


def _timeline_marks(conn: Connection, where: ColumnElement[bool]) -> dict[int, dict[str, Any]]:
    """Per incident matching `where` and name: the first entry's time and how many there are."""
    t = incident_timeline.c
    query = (
        select(t.incident_id, t.name, func.min(t.at), func.count())
        .select_from(incident_timeline.join(incidents, t.incident_id == incidents.c.id))
        .where(where, t.name.in_(TIMELINE_NAMES), t.kind == "transition")
        .group_by(t.incident_id, t.name)
    )
    marks: dict[int, dict[str, Any]] = {}
    for incident_id, name, first, count in conn.execute(query):
        marks.setdefault(incident_id, {})[name] = (first, count)
    return marks


def _record(m: Any, marks: dict[str, Any]) -> IncidentRecord:
    plan = m["plan"] or {}
    clocks = {str(k): (float(v[0]), float(v[1])) for k, v in (plan.get("clocks") or {}).items()}
    first_ack = marks["ACK"][0] if "ACK" in marks else m["acknowledged_at"]
    host_names = {m["host"], *(m["hosts"] or [])} - {""}
    return IncidentRecord(
        number=m["number"],
        priority=m["priority"],
        opened_at=m["opened_at"],
        source=m["source"],
        rule=m["rule"],
        hosts=tuple(sorted(host_names)),
        state=m["state"],
        first_ack_at=first_ack,
        first_update_at=marks["UPDATE"][0] if "UPDATE" in marks else None,
        resolved_at=m["resolved_at"],
        closed_at=m["closed_at"],
        labels={str(k): str(v) for k, v in (m["labels"] or {}).items()},
        clocks=clocks,
        update_target=(plan.get("sla") or {}).get("update"),
        updates_missed=marks.get("UPDATE_MISSED", (None, 0))[1],
        flaps=marks.get("FLAPPING", (None, 0))[1],
        category=m["category"] or "",
        cause=m["cause"] or "",
    )


def deliveries(conn: Connection, period: Interval) -> list[DeliveryRecord]:
    """Outbox messages created in [start, end), with the rule of their incident."""
    start, end = period
    query = (
        select(
            incidents.c.rule, incidents.c.labels, outbox.c.channel, outbox.c.event, outbox.c.status
        )
        .select_from(outbox.join(incidents, outbox.c.incident_id == incidents.c.id))
        .where(outbox.c.created_at >= start, outbox.c.created_at < end)
    )
    return [
        DeliveryRecord(rule, channel, event, status, {k: str(v) for k, v in (labels or {}).items()})
        for rule, labels, channel, event, status in conn.execute(query)
    ]


def maintenance_windows(conn: Connection, period: Interval) -> list[Silence]:
    """Maintenance windows that may be in force during [start, end)."""
    start, end = period
    s = silences.c
    query = select(silences).where(
        s.kind == "maintenance",
        s.starts_at < end,
        or_(s.ends_at.is_(None), s.ends_at > start),
        or_(s.expired_at.is_(None), s.expired_at > start),
    )
    return [
        Silence(
            matchers=dict(m["matchers"]),
            starts_at=m["starts_at"],
            ends_at=m["ends_at"],
            author=m["author"],
            reason=m["reason"],
            kind=m["kind"],
            recurrence=Recurrence(**m["recurrence"]) if m["recurrence"] else None,
            expired_at=m["expired_at"],
            id=m["id"],
        )
        for m in (row._mapping for row in conn.execute(query))
    ]


def known_hosts(conn: Connection) -> list[str]:
    """Every host that has reported, by name."""
    return list(conn.execute(select(hosts.c.name).order_by(hosts.c.name)).scalars())

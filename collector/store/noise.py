"""Per-rule noise over a period, read from the stored timeline (SQLite and PostgreSQL).

Every figure comes from rows that are never pruned: incidents and their timeline (each
delivery attempt is on it, so sent messages are counted even after the outbox forgot them).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select

from collector.store.schema import incident_timeline, incidents

# Timeline names counted per rule: messages sent, flapping marks, reopenings, held messages.
COUNTED = {
    ("delivery", "SENT"): "notifications",
    ("transition", "FLAPPING"): "flapping",
    ("transition", "REOPEN"): "reopened",
    ("transition", "SILENCED"): "silenced",
    ("transition", "INHIBITED"): "inhibited",
}


@dataclass
class RuleActivity:
    """What one rule did in a period: raw counts, and each acknowledged incident's delay."""

    rule: str
    opened: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    ack_delays: list[float] = field(default_factory=list)


def rule_activity(conn: Connection, start: float, end: float) -> dict[str, RuleActivity]:
    """Per rule: incidents opened in [start, end), their first acknowledgements, and the
    timeline entries of COUNTED made in [start, end) on any of the rule's incidents."""
    found: dict[str, RuleActivity] = defaultdict(lambda: RuleActivity(""))
    for rule, opened in conn.execute(_opened(start, end)):
        found[rule].opened = int(opened)
    for rule, opened_at, first_ack in conn.execute(_first_acks(start, end)):
        found[rule].ack_delays.append(max(0.0, float(first_ack) - float(opened_at)))
    for rule, kind, name, count in conn.execute(_entries(start, end)):
        counts = found[rule].counts
        key = COUNTED[(kind, name)]
        counts[key] = counts.get(key, 0) + int(count)
    for rule, activity in found.items():
        activity.rule = rule
    return dict(found)


def _rule_incident(start: float, end: float) -> ColumnElement[bool]:
    return and_(incidents.c.rule != "", incidents.c.opened_at >= start, incidents.c.opened_at < end)


def _opened(start: float, end: float) -> Select[Any]:
    return (
        select(incidents.c.rule, func.count())
        .where(_rule_incident(start, end))
        .group_by(incidents.c.rule)
    )


def _first_acks(start: float, end: float) -> Select[Any]:
    t = incident_timeline.c
    return (
        select(incidents.c.rule, incidents.c.opened_at, func.min(t.at))
        .select_from(incidents.join(incident_timeline, t.incident_id == incidents.c.id))
        .where(_rule_incident(start, end), t.kind == "transition", t.name == "ACK")
        .group_by(incidents.c.id, incidents.c.rule, incidents.c.opened_at)
    )


def _entries(start: float, end: float) -> Select[Any]:
    t = incident_timeline.c
    wanted = or_(*(and_(t.kind == kind, t.name == name) for kind, name in COUNTED))
    return (
        select(incidents.c.rule, t.kind, t.name, func.count())
        .select_from(incident_timeline.join(incidents, t.incident_id == incidents.c.id))
        .where(incidents.c.rule != "", t.at >= start, t.at < end, wanted)
        .group_by(incidents.c.rule, t.kind, t.name)
    )

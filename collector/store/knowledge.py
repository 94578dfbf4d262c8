"""Root-cause records and knowledge-base entries in the database: rows <-> dataclasses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, exists, insert, select, update

from collector.incidents.rootcause import Category, FollowUp, RootCause
from collector.knowledge.kb import KbEntry
from collector.store.schema import incidents, kb_entries, root_causes

CANDIDATES = 2000  # newest entries scored for a search (plus every entry of the same rule)


def save_root_cause(conn: Connection, root_cause: RootCause) -> None:
    """Store the incident's root cause, replacing the one recorded before."""
    conn.execute(delete(root_causes).where(root_causes.c.incident_id == root_cause.incident_id))
    conn.execute(
        insert(root_causes).values(
            incident_id=root_cause.incident_id,
            cause=root_cause.cause,
            fix=root_cause.fix,
            category=root_cause.category.value,
            actions=[a.to_json() for a in root_cause.actions],
            author=root_cause.author,
            recorded_at=root_cause.recorded_at,
        )
    )


def has_root_cause(conn: Connection, incident_id: int) -> bool:
    """Whether the incident has a root-cause record."""
    query = select(exists().where(root_causes.c.incident_id == incident_id))
    return bool(conn.execute(query).scalar())


def root_cause_of(conn: Connection, incident_id: int) -> RootCause | None:
    """The incident's root-cause record, if any."""
    row = conn.execute(select(root_causes).where(root_causes.c.incident_id == incident_id)).first()
    if row is None:
        return None
    m = row._mapping
    return RootCause(
        cause=m["cause"],
        fix=m["fix"],
        category=Category(m["category"]),
        actions=tuple(FollowUp.from_json(a) for a in m["actions"] or []),
        author=m["author"],
        recorded_at=m["recorded_at"],
        incident_id=m["incident_id"],
    )


def save_entry(conn: Connection, entry: KbEntry) -> KbEntry:
    """Insert an entry, or update it in place: by id, or by its source incident."""
    values = _row_of(entry)
    existing = entry.id
    if existing is None and entry.source_incident_id is not None:
        existing = conn.execute(
            select(kb_entries.c.id).where(
                kb_entries.c.source_incident_id == entry.source_incident_id
            )
        ).scalar()
    if existing is None:
        new_id = conn.execute(
            insert(kb_entries).values(**values).returning(kb_entries.c.id)
        ).scalar_one()
        return _entry(conn, new_id)
    values.pop("created_at")
    conn.execute(update(kb_entries).where(kb_entries.c.id == existing).values(**values))
    return _entry(conn, existing)


def entry_by_id(conn: Connection, entry_id: int) -> KbEntry | None:
    """One entry, if it exists."""
    row = conn.execute(_entries().where(kb_entries.c.id == entry_id)).first()
    return _from_row(row) if row is not None else None


def candidates(conn: Connection, rule: str = "", limit: int = CANDIDATES) -> list[KbEntry]:
    """The entries worth scoring: every one of `rule`, and the newest `limit` of all."""
    newest = _entries().order_by(kb_entries.c.updated_at.desc()).limit(limit)
    found = {e.id: e for e in (_from_row(r) for r in conn.execute(newest))}
    if rule:
        same = _entries().where(kb_entries.c.rule == rule).limit(limit)
        found.update({e.id: e for e in (_from_row(r) for r in conn.execute(same))})
    return list(found.values())


def _entry(conn: Connection, entry_id: int) -> KbEntry:
    entry = entry_by_id(conn, entry_id)
    assert entry is not None
    return entry


def _entries() -> Any:
    return select(kb_entries, incidents.c.number).outerjoin(
        incidents, incidents.c.id == kb_entries.c.source_incident_id
    )


def _row_of(entry: KbEntry) -> dict[str, Any]:
    return {
        "title": entry.title,
        "cause": entry.cause,
        "fix": entry.fix,
        "rule": entry.rule,
        "labels": dict(entry.labels),
        "tags": list(entry.tags),
        "source_incident_id": entry.source_incident_id,
        "text": entry.text,
        "author": entry.author,
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
    }


def _from_row(row: Row[Any]) -> KbEntry:
    m = row._mapping
    return KbEntry(
        title=m["title"],
        cause=m["cause"],
        fix=m["fix"],
        author=m["author"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        rule=m["rule"],
        labels=dict(m["labels"] or {}),
        tags=tuple(m["tags"] or ()),
        source_incident_id=m["source_incident_id"],
        source_number=m["number"],
        id=m["id"],
    )

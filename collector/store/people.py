"""People and teams managed through the API, in the database (response.yaml is the seed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine, Table, insert, select, update

from collector.store.schema import response_people, response_teams

Kind = Literal["person", "team"]
_TABLES: dict[Kind, Table] = {"person": response_people, "team": response_teams}


@dataclass(frozen=True)
class StoredEntry:
    """A person or team as the API last wrote it: the record as response.yaml would hold it."""

    id: str
    record: dict[str, Any]
    disabled: bool
    updated_at: float
    updated_by: str


class PeopleStore:
    """Reading and writing the API's people and teams."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def entries(self, kind: Kind) -> list[StoredEntry]:
        """Every stored person (or team), by id."""
        table = _TABLES[kind]
        with self._engine.connect() as conn:
            rows = conn.execute(select(table).order_by(table.c.id)).mappings().all()
        return [
            StoredEntry(
                str(r["id"]),
                dict(r["record"]),
                bool(r["disabled"]),
                r["updated_at"],
                r["updated_by"],
            )
            for r in rows
        ]

    def save(self, kind: Kind, entry: StoredEntry) -> None:
        """Insert or replace the entry with this id."""
        table = _TABLES[kind]
        values = {
            "record": entry.record,
            "disabled": entry.disabled,
            "updated_at": entry.updated_at,
            "updated_by": entry.updated_by,
        }
        with self._engine.begin() as conn:
            changed = conn.execute(update(table).where(table.c.id == entry.id).values(**values))
            if changed.rowcount == 0:
                conn.execute(insert(table).values(id=entry.id, **values))

"""The few statements that differ between SQLite and PostgreSQL: upserts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert(conn: Connection, table: Table, keys: list[str], set_: dict[str, Any]) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET set_, in the connection's dialect."""
    module: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = module.insert(table)
    resolved = {k: (v(statement.excluded) if callable(v) else v) for k, v in set_.items()}
    return statement.on_conflict_do_update(  # type: ignore[no-any-return]
        index_elements=keys, set_=resolved
    )

"""Opening the database: engine options per dialect and migrating to the current schema."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def open_database(url: str) -> Engine:
    """Create an engine for `url`; SQLite gets WAL and a busy timeout, its folder created."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, future=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(connection: Any) -> None:
    # Write transactions read first (is there an open incident?) and then write; a deferred
    # transaction would fail to upgrade to a writer while another thread writes. IMMEDIATE
    # takes the write lock up front and waits for it (busy timeout) instead. Readers opt out
    # with `reader(engine)`, so they never queue behind writers.
    deferred = connection.get_execution_options().get("deferred", False)
    connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def reader(engine: Engine) -> Engine:
    """The engine for read-only work: plain (deferred) transactions on SQLite."""
    return engine.execution_options(deferred=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is switched off so that `begin` above decides.
    connection.isolation_level = None
    cursor = connection.cursor()
    # WAL lets the API read while ingest writes; NORMAL is durable across app crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (a no-op when already there)."""
    # Alembic announces its plugins at INFO on every start; the upgrades it runs stay visible.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        # Every head: migrations written side by side may branch from one revision.
        command.upgrade(config, "heads")

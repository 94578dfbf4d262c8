"""The database schema, written once for SQLite and PostgreSQL alike (nothing dialect-only).

Times are Unix seconds (float) from the collector's clock, so SQL, the API and the engine agree.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

hosts = Table(
    "hosts",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("agent_version", String(64), nullable=False, server_default=""),
    Column("reported_by", String(255), nullable=False, server_default=""),
    Column("last_sequence", Integer, nullable=False, server_default="0"),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False),
    Column("rule", String(255), nullable=False),
    Column("host", String(255), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("priority", String(2), nullable=False),
    Column("state", String(16), nullable=False),
    Column("summary", Text, nullable=False),
    Column("value", JSON, nullable=True),
    Column("opened_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("resolved_at", Float, nullable=True),
    Column("annotations", JSON, nullable=False),
    Index("ix_incidents_state_opened", "state", "opened_at"),
    Index("ix_incidents_host", "host"),
    # At most one open incident per (rule, host, labels): the database enforces it too.
    Index(
        "uq_incidents_open_key",
        "key",
        unique=True,
        sqlite_where=text("state = 'open'"),
        postgresql_where=text("state = 'open'"),
    ),
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False, index=True),
    Column("transition", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
)

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, nullable=True, index=True),
    Column("event", String(16), nullable=False),
    Column("channel", String(512), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("error", Text, nullable=False, server_default=""),
    Column("at", Float, nullable=False),
)

"""The diagnostic snapshots table: one row per snapshot asked of an agent, and its answer."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Float, ForeignKey, Index, Integer, String, Table

from collector.store.schema import metadata

# Asked when an incident opens on a host; handed to the host's agent in the answer to its next
# report (delivered_at); the agent's answer fills the rest (bounded in size by the API).
diagnostic_snapshots = Table(
    "diagnostic_snapshots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("host", String(255), nullable=False),
    Column("requested", JSON, nullable=False),
    Column("requested_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
    Column("received_at", Float, nullable=True),
    Column("taken_at", Float, nullable=True),
    Column("seconds", Float, nullable=True),
    Column("result", JSON, nullable=True),
    Column("size_bytes", Integer, nullable=True),
    Index("ix_diagnostic_snapshots_incident", "incident_id"),
    Index("ix_diagnostic_snapshots_host", "host", "delivered_at"),
)

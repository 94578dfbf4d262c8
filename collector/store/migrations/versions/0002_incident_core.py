"""Incident core: lifecycle columns and ticket numbers, one timeline, outbox, timers, events.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE = "state IN ('triggered', 'acknowledged')"


def upgrade() -> None:
    """Reshape incidents, move their history into the timeline, add the durable tables."""
    # The old history tables reference `incidents`, which SQLite must rebuild: keep their rows,
    # drop them first, and write the rows into the timeline once `incidents` is reshaped.
    history = _old_history()
    op.drop_table("incident_events")
    op.drop_table("notification_deliveries")
    _reshape_incidents()
    _create_timeline(history)
    _create_work_tables()
    with op.batch_alter_table("hosts") as batch:
        batch.alter_column("last_sequence", type_=sa.BigInteger(), existing_nullable=False)
        batch.add_column(
            sa.Column("agent_instance", sa.String(64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("clock_skew_seconds", sa.Float, nullable=False, server_default="0")
        )


def _reshape_incidents() -> None:
    op.drop_index("uq_incidents_open_key", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("number", sa.String(32), nullable=True))
        batch.add_column(sa.Column("source", sa.String(8), nullable=False, server_default="rule"))
        batch.add_column(sa.Column("hosts", sa.JSON, nullable=True))
        batch.add_column(sa.Column("description", sa.Text, nullable=False, server_default=""))
        batch.add_column(
            sa.Column("auto_resolve", sa.Boolean, nullable=False, server_default=sa.true())
        )
        for name in ("acknowledged_at", "closed_at"):
            batch.add_column(sa.Column(name, sa.Float, nullable=True))
        for name in ("acknowledged_by", "assignee", "reporter", "contact"):
            batch.add_column(sa.Column(name, sa.String(255), nullable=True))
        batch.add_column(sa.Column("reopen_count", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))
        batch.alter_column("key", existing_type=sa.String(64), nullable=True)
    connection = op.get_bind()
    connection.execute(sa.text("UPDATE incidents SET state = 'triggered' WHERE state = 'open'"))
    rows = connection.execute(sa.text("SELECT id, host, opened_at FROM incidents ORDER BY id"))
    counters: dict[int, int] = {}
    for incident_id, host, opened_at in rows.fetchall():
        year = dt.datetime.fromtimestamp(opened_at, dt.UTC).year
        counters[year] = counters.get(year, 0) + 1
        connection.execute(
            sa.text("UPDATE incidents SET number = :n, hosts = :h WHERE id = :i"),
            {"n": f"INC-{year}-{counters[year]:06d}", "h": f'["{host}"]', "i": incident_id},
        )
    with op.batch_alter_table("incidents") as batch:
        batch.alter_column("number", existing_type=sa.String(32), nullable=False)
        batch.alter_column("hosts", existing_type=sa.JSON, nullable=False)
        batch.create_unique_constraint("uq_incidents_number", ["number"])
    op.create_index("ix_incidents_key_resolved", "incidents", ["key", "resolved_at"])
    op.create_index(
        "uq_incidents_active_key",
        "incidents",
        ["key"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    ticket_sequences = op.create_table(
        "ticket_sequences",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        ticket_sequences,
        [{"name": f"INC-{year}", "value": count} for year, count in counters.items()],
    )


def _old_history() -> list[dict[str, object]]:
    connection = op.get_bind()
    transitions = connection.execute(
        sa.text("SELECT incident_id, at, transition, detail FROM incident_events ORDER BY id")
    ).fetchall()
    deliveries = connection.execute(
        sa.text(
            "SELECT incident_id, at, ok, channel, event, attempt, error "
            "FROM notification_deliveries WHERE incident_id IS NOT NULL ORDER BY id"
        )
    ).fetchall()
    entries: list[dict[str, object]] = [
        {
            "incident_id": i,
            "at": at,
            "kind": "transition",
            "name": name,
            "actor": "system",
            "detail": detail,
        }
        for i, at, name, detail in transitions
    ]
    entries += [
        {
            "incident_id": i,
            "at": at,
            "kind": "delivery",
            "name": "SENT" if ok else "FAILED",
            "actor": "system",
            "detail": f"{event} to {channel} (attempt {attempt}) {error}".strip(),
        }
        for i, at, ok, channel, event, attempt, error in deliveries
    ]
    return sorted(entries, key=lambda e: float(e["at"]))  # type: ignore[arg-type]


def _create_timeline(history: list[dict[str, object]]) -> None:
    timeline = op.create_table(
        "incident_timeline",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False, server_default="system"),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("data", sa.JSON, nullable=True),
    )
    op.create_index("ix_incident_timeline_incident_id", "incident_timeline", ["incident_id"])
    if history:
        op.bulk_insert(timeline, history)


def _create_work_tables() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=True),
        sa.Column("channel", sa.String(512), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(128), nullable=True),
        sa.Column("lease_until", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("sent_at", sa.Float, nullable=True),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "channel", "due_at"])
    op.create_index("ix_outbox_incident", "outbox", ["incident_id", "channel"])
    op.create_table(
        "timers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=True),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("done_at", sa.Float, nullable=True),
    )
    op.create_index("ix_timers_due", "timers", ["status", "due_at"])
    op.create_index("ix_timers_incident", "timers", ["incident_id", "kind", "status"])
    op.create_table(
        "host_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
    )
    op.create_index("ix_host_events_host", "host_events", ["host", "id"])
    op.create_table(
        "rule_checkpoints",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("saved_at", sa.Float, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    """Not supported: the incident core's history cannot be folded back into two states."""
    raise NotImplementedError("downgrading below 0002 is not supported; restore a backup")

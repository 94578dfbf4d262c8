"""Initial schema: hosts, incidents, incident events, notification deliveries.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the first tables."""
    op.create_table(
        "hosts",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("first_seen", sa.Float, nullable=False),
        sa.Column("last_seen", sa.Float, nullable=False),
        sa.Column("agent_version", sa.String(64), nullable=False, server_default=""),
        sa.Column("reported_by", sa.String(255), nullable=False, server_default=""),
        sa.Column("last_sequence", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("value", sa.JSON, nullable=True),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("resolved_at", sa.Float, nullable=True),
        sa.Column("annotations", sa.JSON, nullable=False),
    )
    op.create_index("ix_incidents_state_opened", "incidents", ["state", "opened_at"])
    op.create_index("ix_incidents_host", "incidents", ["host"])
    op.create_index(
        "uq_incidents_open_key",
        "incidents",
        ["key"],
        unique=True,
        sqlite_where=sa.text("state = 'open'"),
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_table(
        "incident_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("transition", sa.String(32), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_incident_events_incident_id", "incident_events", ["incident_id"])
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, nullable=True),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(512), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index(
        "ix_notification_deliveries_incident_id", "notification_deliveries", ["incident_id"]
    )


def downgrade() -> None:
    """Drop everything the upgrade created."""
    for table in ("notification_deliveries", "incident_events", "incidents", "hosts"):
        op.drop_table(table)

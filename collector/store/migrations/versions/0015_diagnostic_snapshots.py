"""Diagnostic snapshots asked of agents when an incident opens, and their answers.

Revision ID: 0015
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0010"  # a head of its own beside 0013/0014: `migrate` upgrades every head
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create diagnostic_snapshots."""
    op.create_table(
        "diagnostic_snapshots",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("requested", sa.JSON, nullable=False),
        sa.Column("requested_at", sa.Float, nullable=False),
        sa.Column("delivered_at", sa.Float, nullable=True),
        sa.Column("received_at", sa.Float, nullable=True),
        sa.Column("taken_at", sa.Float, nullable=True),
        sa.Column("seconds", sa.Float, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("size_bytes", sa.Integer, nullable=True),
    )
    op.create_index("ix_diagnostic_snapshots_incident", "diagnostic_snapshots", ["incident_id"])
    op.create_index(
        "ix_diagnostic_snapshots_host", "diagnostic_snapshots", ["host", "delivered_at"]
    )


def downgrade() -> None:
    """Drop diagnostic_snapshots."""
    op.drop_table("diagnostic_snapshots")

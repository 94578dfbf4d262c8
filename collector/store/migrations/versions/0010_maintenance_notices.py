"""Maintenance windows tell customers: a window's customer and notice plan, the notices sent.

Also an index for the per-rule noise figure, which counts timeline entries by name and time.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the silence columns, the notices table and the timeline index."""
    with op.batch_alter_table("silences") as batch:
        batch.add_column(sa.Column("customer", sa.String(255), nullable=True))
        batch.add_column(sa.Column("notices", sa.JSON, nullable=True))
    op.create_table(
        "maintenance_notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("silence_id", sa.Integer, sa.ForeignKey("silences.id"), nullable=False),
        sa.Column("occurrence", sa.Float, nullable=False),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("messages", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint(
            "silence_id", "occurrence", "phase", name="uq_maintenance_notices_once"
        ),
    )
    op.create_index("ix_incident_timeline_name_at", "incident_timeline", ["name", "at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_incident_timeline_name_at", table_name="incident_timeline")
    op.drop_table("maintenance_notices")
    with op.batch_alter_table("silences") as batch:
        batch.drop_column("notices")
        batch.drop_column("customer")

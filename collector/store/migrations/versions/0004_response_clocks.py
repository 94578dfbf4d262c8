"""Response clocks: incident plan, escalation step, notes and updates; timer tags and data.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the columns; existing incidents have no plan and no step taken."""
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("plan", sa.JSON, nullable=True))
        batch.add_column(
            sa.Column("escalation_step", sa.Integer, nullable=False, server_default="-1")
        )
        batch.add_column(sa.Column("last_note", sa.Text, nullable=True))
        batch.add_column(sa.Column("last_note_at", sa.Float, nullable=True))
        batch.add_column(sa.Column("last_update_at", sa.Float, nullable=True))
    with op.batch_alter_table("timers") as batch:
        batch.add_column(sa.Column("tag", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("data", sa.JSON, nullable=True))
    with op.batch_alter_table("outbox") as batch:  # room for "withdrawn"
        batch.alter_column("status", type_=sa.String(16), existing_nullable=False)


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("timers") as batch:
        batch.drop_column("data")
        batch.drop_column("tag")
    with op.batch_alter_table("incidents") as batch:
        for name in ("last_update_at", "last_note_at", "last_note", "escalation_step", "plan"):
            batch.drop_column(name)

"""Each user's console language and time zone (null: decided by the browser).

Revision ID: 0018
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0003"  # a head of its own: `migrate` upgrades every head
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add users.language and users.time_zone."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))
        batch.add_column(sa.Column("time_zone", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("users") as batch:
        batch.drop_column("time_zone")
        batch.drop_column("language")

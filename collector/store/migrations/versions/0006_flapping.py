"""Flap damping: recent state changes and the flapping mark on incidents.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the columns; no incident is flapping yet."""
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("flap_times", sa.JSON, nullable=True))
        batch.add_column(sa.Column("flapping", sa.Boolean, nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("flapping")
        batch.drop_column("flap_times")

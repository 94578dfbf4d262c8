"""Storm grouping: outbox rows carry the rule and event they can be grouped by.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column and its index."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("group_key", sa.String(300), nullable=True))
    op.create_index("ix_outbox_group", "outbox", ["channel", "group_key", "status"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_outbox_group", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("group_key")

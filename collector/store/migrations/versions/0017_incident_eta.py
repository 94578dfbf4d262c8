"""An incident's expected resolution time and its reason, as told to the customer.

Revision ID: 0017
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0015"  # on the 0015 head; `migrate` upgrades every head
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add incidents.eta_at and incidents.eta_reason."""
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("eta_at", sa.Float, nullable=True))
        batch.add_column(sa.Column("eta_reason", sa.Text, nullable=True))


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("eta_reason")
        batch.drop_column("eta_at")

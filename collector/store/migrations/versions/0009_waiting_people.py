"""The waiting state counts as active; people and teams managed through the API.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_ACTIVE = "state IN ('triggered', 'acknowledged')"
NEW_ACTIVE = "state IN ('triggered', 'acknowledged', 'waiting')"


def upgrade() -> None:
    """A waiting incident keeps its key; add the people and teams tables."""
    _active_key_index(NEW_ACTIVE)
    for name in ("response_people", "response_teams"):
        op.create_table(
            name,
            sa.Column("id", sa.String(100), primary_key=True),
            sa.Column("record", sa.JSON, nullable=False),
            sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
            sa.Column("updated_at", sa.Float, nullable=False),
            sa.Column("updated_by", sa.String(255), nullable=False),
        )


def downgrade() -> None:
    """Drop the tables; waiting incidents go back to acknowledged."""
    op.drop_table("response_teams")
    op.drop_table("response_people")
    op.execute("UPDATE incidents SET state = 'acknowledged' WHERE state = 'waiting'")
    _active_key_index(OLD_ACTIVE)


def _active_key_index(where: str) -> None:
    op.drop_index("uq_incidents_active_key", table_name="incidents")
    op.create_index(
        "uq_incidents_active_key",
        "incidents",
        ["key"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )

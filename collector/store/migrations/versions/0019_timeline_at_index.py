"""The timeline by time: the console's "last hour" reads the newest entries of all incidents.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Index incident_timeline.at."""
    op.create_index("ix_incident_timeline_at", "incident_timeline", ["at"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_incident_timeline_at", "incident_timeline")

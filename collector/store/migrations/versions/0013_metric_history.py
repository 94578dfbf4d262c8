"""Metric history (series, daily aggregates) and once-per-key report runs.

Revision ID: 0013
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0009"  # 0010-0012 are being written alongside; whoever lands last re-chains
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create metric_series, metric_daily and report_runs."""
    op.create_table(
        "metric_series",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("metric", sa.String(255), nullable=False),
        sa.Column("labels_key", sa.String(32), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
    )
    op.create_index(
        "uq_metric_series", "metric_series", ["host", "metric", "labels_key"], unique=True
    )
    op.create_table(
        "metric_daily",
        sa.Column("series_id", sa.Integer, sa.ForeignKey("metric_series.id"), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("min", sa.Float, nullable=False),
        sa.Column("max", sa.Float, nullable=False),
        sa.Column("sum", sa.Float, nullable=False),
        sa.Column("last", sa.Float, nullable=False),
        sa.Column("last_at", sa.Float, nullable=False),
        sa.Column("increase", sa.Float, nullable=True),
        sa.Column("p50", sa.Float, nullable=True),
        sa.Column("p95", sa.Float, nullable=True),
        sa.Column("sketch", sa.Text, nullable=True),
    )
    op.create_index("ix_metric_daily_day", "metric_daily", ["day"])
    op.create_table(
        "report_runs",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("report_runs")
    op.drop_index("ix_metric_daily_day", table_name="metric_daily")
    op.drop_table("metric_daily")
    op.drop_index("uq_metric_series", table_name="metric_series")
    op.drop_table("metric_series")

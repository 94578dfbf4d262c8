"""E-mail intake (messages taken in, threads, attachments), ticket links, and the customer's
verification with a satisfaction rating.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create mail_messages, mail_threads, mail_attachments, incident_links and
    incident_satisfaction."""
    op.create_table(
        "mail_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("mailbox", sa.String(255), nullable=False),
        sa.Column("uidvalidity", sa.Integer, nullable=False),
        sa.Column("uid", sa.Integer, nullable=False),
        sa.Column("message_id", sa.String(512), nullable=True, unique=True),
        sa.Column("sender", sa.String(320), nullable=False, server_default=""),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_mail_messages_uid"),
    )
    op.create_table(
        "mail_threads",
        sa.Column("message_id", sa.String(512), primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "mail_attachments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("mail_messages.id"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(127), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=True),
    )
    op.create_index("ix_mail_attachments_incident", "mail_attachments", ["incident_id"])
    op.create_table(
        "incident_links",
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("linked_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "incident_satisfaction",
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("by", sa.String(320), nullable=False, server_default=""),
        sa.Column("answered_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    """Drop the five tables."""
    op.drop_table("incident_satisfaction")
    op.drop_table("incident_links")
    op.drop_index("ix_mail_attachments_incident", table_name="mail_attachments")
    op.drop_table("mail_attachments")
    op.drop_table("mail_threads")
    op.drop_table("mail_messages")

"""Tables of the customer side: mail taken in, mail threads, attachments, links between
tickets and incidents, and the customer's verification and satisfaction."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from collector.store.schema import metadata

# One row per mailbox message taken in, claimed before it is worked on: a restart or a second
# collector never takes the same message twice (by UID within UIDVALIDITY, or Message-ID).
mail_messages = Table(
    "mail_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mailbox", String(255), nullable=False),
    Column("uidvalidity", Integer, nullable=False),
    Column("uid", Integer, nullable=False),
    Column("message_id", String(512), nullable=True, unique=True),
    Column("sender", String(320), nullable=False, server_default=""),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=True),
    Column("outcome", String(32), nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("received_at", Float, nullable=False),
    UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_mail_messages_uid"),
)

# Every Message-ID of a ticket's mail (taken in or sent): a reply names one of them.
mail_threads = Table(
    "mail_threads",
    metadata,
    Column("message_id", String(512), primary_key=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("created_at", Float, nullable=False),
)

# Attachments of mail taken in: always the metadata; the bytes when within the size limit.
mail_attachments = Table(
    "mail_attachments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id"), nullable=False),
    Column("message_id", Integer, ForeignKey("mail_messages.id"), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(127), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=True),  # None: over the limit, only described
    Index("ix_mail_attachments_incident", "incident_id"),
)

# A customer-reported ticket linked to the monitoring incident it is about.
incident_links = Table(
    "incident_links",
    metadata,
    Column("incident_id", Integer, ForeignKey("incidents.id"), primary_key=True),
    Column("linked_id", Integer, ForeignKey("incidents.id"), primary_key=True),
    Column("actor", String(255), nullable=False),
    Column("created_at", Float, nullable=False),
)

# How a verification ended (the customer by link or reply, or the quiet period) and the
# customer's satisfaction rating (1-5) with an optional comment.
incident_satisfaction = Table(
    "incident_satisfaction",
    metadata,
    Column("incident_id", Integer, ForeignKey("incidents.id"), primary_key=True),
    Column("verdict", String(16), nullable=False),  # fixed | broken | timeout
    Column("via", String(16), nullable=False),  # link | reply | timer
    Column("rating", Integer, nullable=True),
    Column("comment", Text, nullable=True),
    Column("by", String(320), nullable=False, server_default=""),
    Column("answered_at", Float, nullable=False),
)

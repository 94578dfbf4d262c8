"""Alembic environment: runs migrations on the connection the collector hands over."""

from __future__ import annotations

from alembic import context

from collector.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the collector always passes its connection
    raise RuntimeError("run migrations through collector.store.database.migrate()")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

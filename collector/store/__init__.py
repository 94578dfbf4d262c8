"""Persistence: schema, migrations and the repositories the rest of the collector uses."""

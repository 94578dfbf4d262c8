"""Diagnostic snapshots: asked of a host's agent when an incident opens, attached to it."""

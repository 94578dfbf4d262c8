"""Ingest: receive reports (auth, limits, decode), keep hosts' latest state, judge on arrival."""

"""Metric history: daily aggregates of every host's numeric series, fed from ingest."""

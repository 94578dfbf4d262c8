"""Diagnostic snapshots: the fixed, named diagnostics the collector may ask an agent for."""

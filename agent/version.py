"""The agent's version, stamped on every report and User-Agent header."""

from __future__ import annotations

# A constant rather than importlib.metadata: reading package metadata at start-up costs the
# agent import time and memory; tests/agent/test_runner.py checks it matches pyproject.toml.
AGENT_VERSION = "0.1.0"

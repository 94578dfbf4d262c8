"""Shared fixtures: paths to the shared real-world captures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = ROOT.parent / "shared" / "fixtures"
OWN_FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def shared_fixtures() -> Path:
    """../shared/fixtures: real captured tool outputs (read only, never edited)."""
    if not SHARED_FIXTURES.is_dir():
        pytest.fail(f"shared fixtures missing at {SHARED_FIXTURES}; clone with ../shared beside it")
    return SHARED_FIXTURES

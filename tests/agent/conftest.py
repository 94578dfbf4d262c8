"""Agent test fixtures: a controllable fake procfs, and psutil's procfs root restored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.agent.fakeprocfs import FakeProcfs


@pytest.fixture(autouse=True)
def _restore_psutil_procfs() -> Iterator[None]:
    """HostProbe sets psutil.PROCFS_PATH (process-wide); put it back after each test."""
    saved = psutil.PROCFS_PATH
    yield
    psutil.PROCFS_PATH = saved


@pytest.fixture
def fake_procfs(tmp_path: Path) -> FakeProcfs:
    """A fake procfs with 2 CPUs and one real filesystem mounted at <tmp>/data disk."""
    return FakeProcfs(tmp_path / "proc", tmp_path / "data disk")

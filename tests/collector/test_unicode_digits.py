"""Numbers typed by clients are parsed from decimal digits only: "²" passes str.isdigit() but
int() refuses it, which once made GET /api/v1/incidents/²/snapshots a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from collector.store.incidents import by_reference
from tests.collector.harness import ADMIN_HEADERS, FakeClock, RunningCollector


@pytest.fixture
def running(tmp_path: Path, clock: FakeClock) -> Iterator[RunningCollector]:
    collector = RunningCollector(tmp_path, clock)
    yield collector
    collector.stop()


def test_odd_digits_in_references_and_numbers_are_clean_refusals(
    running: RunningCollector,
) -> None:
    for path in (
        "/api/v1/incidents/²",
        "/api/v1/incidents/²/snapshots",
        "/api/v1/incidents/99999999999999999999999",
        "/api/v1/incidents?limit=²",
        "/api/v1/audit?limit=²",
        "/api/v1/audit?before=³",
    ):
        answer = requests.get(f"{running.url}{path}", headers=ADMIN_HEADERS, timeout=5)
        assert answer.status_code in (400, 404), f"{path}: {answer.status_code} {answer.text}"


def test_a_reference_in_other_digits_finds_nothing(running: RunningCollector) -> None:
    with running.collector.repository.engine.connect() as conn:
        assert by_reference(conn, "²") is None
        assert by_reference(conn, "9" * 30) is None

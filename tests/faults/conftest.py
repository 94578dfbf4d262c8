"""Fault-test fixtures: collector processes and peers that are always stopped, by PID."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.collector_process import CollectorProcess

CollectorFactory = Callable[..., CollectorProcess]


@pytest.fixture
def collectors(tmp_path: Path) -> Iterator[CollectorFactory]:
    """Make (not start) collector processes; every one is stopped at the end, killed if need be."""
    made: list[CollectorProcess] = []

    def make(name: str, database: str, notify: list[str], **settings: Any) -> CollectorProcess:
        collector = CollectorProcess(tmp_path, name, database, notify, **settings)
        made.append(collector)
        return collector

    yield make
    for collector in made:
        with contextlib.suppress(Exception):
            collector.__exit__()


@pytest.fixture
def peers() -> Iterator[contextlib.ExitStack]:
    """Peers a test brings up late (enter_context when they come up); all stopped at the end."""
    with contextlib.ExitStack() as stack:
        yield stack

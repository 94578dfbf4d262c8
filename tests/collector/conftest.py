"""Collector fixtures: a migrated database on each backend (SQLite, the real PostgreSQL), the test
clock and a recording channel."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from collector.notify.channels import RecordingChannel
from collector.store.database import migrate, open_database
from tests.collector.harness import FakeClock
from tests.peers import REQUIRE_PEERS

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def clock() -> FakeClock:
    """Time that moves only when the test says so."""
    return FakeClock()


@pytest.fixture
def recorder() -> RecordingChannel:
    """A channel that keeps what it is sent, for asserting on notifications."""
    return RecordingChannel("ops")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A migrated engine; on PostgreSQL a schema of its own, dropped afterwards."""
    if request.param == "sqlite":
        engine = open_database(f"sqlite:///{tmp_path / 'wk.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    with postgres_schema() as url:
        engine = open_database(url)
        migrate(engine)
        yield engine
        engine.dispose()


class postgres_schema:  # noqa: N801 - used as a context manager, reads like one
    """A throwaway schema on the shared PostgreSQL; yields a URL whose search_path is it."""

    def __enter__(self) -> str:
        self.schema = f"wk_{uuid.uuid4().hex[:10]}"
        self.admin = open_database(POSTGRES)
        try:
            with self.admin.begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {self.schema}"))
        except sa.exc.OperationalError as exc:
            if REQUIRE_PEERS:
                pytest.fail(f"PostgreSQL not reachable at 127.0.0.1:5432: {exc}")
            pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
        return f"{POSTGRES}?options=-csearch_path%3D{self.schema}"

    def __exit__(self, *_: object) -> None:
        with self.admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {self.schema} CASCADE"))
        self.admin.dispose()

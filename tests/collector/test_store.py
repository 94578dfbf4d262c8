"""The store on both backends: SQLite (default) and the real PostgreSQL on 127.0.0.1:5432."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from collector.incidents.model import Incident, IncidentState
from collector.store.database import migrate, open_database
from collector.store.repository import HostRecord, Repository
from collector.store.schema import metadata
from rules.priority import Priority
from tests.peers import REQUIRE_PEERS

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        engine = open_database(f"sqlite:///{tmp_path / 'wk.db'}")
        migrate(engine)
        yield engine
        engine.dispose()
        return
    schema = f"wk_{uuid.uuid4().hex[:10]}"  # a schema per test: no clash with other runs
    admin = open_database(POSTGRES)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    except sa.exc.OperationalError as exc:
        if REQUIRE_PEERS:
            pytest.fail(f"PostgreSQL not reachable at 127.0.0.1:5432: {exc}")
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    engine = sa.create_engine(POSTGRES, connect_args={"options": f"-csearch_path={schema}"})
    migrate(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def incident(key: str = "k1", opened_at: float = 100.0) -> Incident:
    return Incident(
        key=key,
        rule="DiskFull",
        host="web1",
        labels={"mountpoint": "/"},
        priority=Priority.P2,
        state=IncidentState.OPEN,
        summary="/ is 96% full",
        value=0.96,
        opened_at=opened_at,
        updated_at=opened_at,
    )


def test_incident_round_trip_with_audit_trail(engine: sa.Engine) -> None:
    repo = Repository(engine)
    stored = repo.open_incident(incident(), "threshold crossed")
    assert stored.id is not None
    resolved = replace(stored, state=IncidentState.RESOLVED, resolved_at=200.0, updated_at=200.0)
    repo.resolve_incident(resolved, "recovered")
    found = repo.get_incident(stored.id)
    assert found is not None and found.state is IncidentState.RESOLVED
    assert found.labels == {"mountpoint": "/"} and found.value == 0.96
    assert [e["transition"] for e in repo.incident_events(stored.id)] == ["OPEN", "RESOLVE"]
    assert repo.list_incidents(IncidentState.OPEN) == []


def test_database_refuses_a_second_open_incident_for_the_same_key(engine: sa.Engine) -> None:
    repo = Repository(engine)
    first = repo.open_incident(incident(), "")
    with pytest.raises(IntegrityError):
        repo.open_incident(incident(opened_at=150.0), "")
    repo.resolve_incident(replace(first, state=IncidentState.RESOLVED, resolved_at=160.0), "")
    assert repo.open_incident(incident(opened_at=170.0), "").id != first.id, "reopening is fine"


def test_host_upsert_keeps_first_seen(engine: sa.Engine) -> None:
    repo = Repository(engine)
    repo.save_hosts([HostRecord("web1", 10.0, 10.0, "0.1.0", "web1", 1)])
    repo.save_hosts([HostRecord("web1", 99.0, 50.0, "0.1.1", "web1", 7)])
    [host] = repo.list_hosts()
    assert (host.first_seen, host.last_seen, host.agent_version, host.last_sequence) == (
        10.0,
        50.0,
        "0.1.1",
        7,
    )


def test_migrations_match_the_schema_module(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []

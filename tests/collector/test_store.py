"""The store on both backends: migrations, ticket numbers, the active-key guard, the outbox's
claims and leases, due timers, hosts and checkpoints."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from agent.report import Event
from collector.incidents.events import TimerKind
from collector.incidents.model import Incident, IncidentState, Source
from collector.store import incidents as rows
from collector.store import timers
from collector.store.database import MIGRATIONS, migrate, open_database
from collector.store.incidents import IncidentReader
from collector.store.outbox import OutboxStore, enqueue
from collector.store.repository import HostRecord, Repository
from collector.store.schema import metadata
from rules.priority import Priority

JAN_2026 = 1767225600.0


def incident(key: str | None = "k1", at: float = JAN_2026) -> Incident:
    return Incident(
        source=Source.RULE,
        priority=Priority.P2,
        state=IncidentState.TRIGGERED,
        summary="/ is 96% full",
        opened_at=at,
        updated_at=at,
        key=key,
        rule="DiskFull",
        host="web1",
        hosts=("web1",),
        labels={"mountpoint": "/"},
        value=0.96,
    )


def stored(engine: sa.Engine, item: Incident, prefix: str = "INC") -> Incident:
    with engine.begin() as conn:
        return rows.insert_incident(conn, item, rows.next_number(conn, prefix, item.opened_at))


def test_migrations_match_the_schema_module(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []


def test_ticket_numbers_count_per_prefix_and_year_and_are_found_either_way(
    engine: sa.Engine,
) -> None:
    first = stored(engine, incident("a"))
    second = stored(engine, incident("b"))
    next_year = stored(engine, incident("c", JAN_2026 + 366 * 86400))
    other = stored(engine, incident("d"), prefix="OPS")
    assert [first.number, second.number] == ["INC-2026-000001", "INC-2026-000002"]
    assert (next_year.number, other.number) == ("INC-2027-000001", "OPS-2026-000001")
    reader = IncidentReader(engine)
    assert reader.get("inc-2026-000002") == second
    assert reader.get(str(second.id)) == second
    assert reader.get("INC-2026-999999") is None


def test_database_refuses_a_second_active_incident_for_one_key(engine: sa.Engine) -> None:
    first = stored(engine, incident())
    with pytest.raises(IntegrityError):
        stored(engine, incident())
    with engine.begin() as conn:
        rows.update_incident(conn, Incident(**{**first.__dict__, "state": IncidentState.RESOLVED}))
    assert stored(engine, incident()).id != first.id, "a new one once the first is resolved"


def test_a_stale_copy_cannot_overwrite_a_newer_change(engine: sa.Engine) -> None:
    first = stored(engine, incident())
    with engine.begin() as conn:
        rows.update_incident(conn, Incident(**{**first.__dict__, "assignee": "alice"}))
    with pytest.raises(rows.StaleIncidentError), engine.begin() as conn:
        rows.update_incident(conn, Incident(**{**first.__dict__, "assignee": "bob"}))


def _outbox_row(incident_id: int, key: str, channel: str = "mailto://x") -> dict[str, object]:
    return {
        "idempotency_key": key,
        "incident_id": incident_id,
        "channel": channel,
        "event": "opened",
        "payload": {"title": key},
    }


def test_outbox_claims_lease_and_settle(engine: sa.Engine) -> None:
    item = stored(engine, incident())
    assert item.id is not None
    with engine.begin() as conn:
        enqueue(conn, [_outbox_row(item.id, "m1"), _outbox_row(item.id, "m2")], 100.0)
    box = OutboxStore(engine)
    [claimed] = box.claim("mailto://x", "node-a", 100.0, 60.0, limit=5)
    assert claimed.idempotency_key == "m1", "m2 waits behind the older message of its incident"
    assert box.claim("mailto://x", "node-b", 101.0, 60.0) == [], "m1 is leased, m2 blocked"
    assert box.settle(claimed, "node-a", 102.0, "connection refused", retry_at=200.0) == "pending"
    assert box.claim("mailto://x", "node-b", 150.0, 60.0) == [], "m1 waits for its retry time"
    [again] = box.claim("mailto://x", "node-b", 200.0, 60.0)
    assert (again.idempotency_key, again.attempts) == ("m1", 2)
    assert box.settle(again, "node-b", 201.0, None, None) == "sent"
    [second] = box.claim("mailto://x", "node-b", 201.0, 60.0)
    assert second.idempotency_key == "m2"
    timeline = IncidentReader(engine).timeline(item.id)
    assert [(e["kind"], e["name"]) for e in timeline] == [
        ("delivery", "FAILED"),
        ("delivery", "SENT"),
    ]


def test_a_lease_of_a_dead_owner_expires_and_its_own_restart_takes_it_back(
    engine: sa.Engine,
) -> None:
    item = stored(engine, incident())
    assert item.id is not None
    with engine.begin() as conn:
        enqueue(conn, [_outbox_row(item.id, "m1")], 100.0)
    box = OutboxStore(engine)
    assert len(box.claim("mailto://x", "node-a", 100.0, 60.0)) == 1
    assert box.claim("mailto://x", "node-b", 159.0, 60.0) == []
    assert box.release("node-a") == 1, "node-a restarted: nothing of it is in flight"
    assert len(box.claim("mailto://x", "node-b", 101.0, 60.0)) == 1


def test_due_timers_are_claimed_once_and_replaced_when_rescheduled(engine: sa.Engine) -> None:
    item = stored(engine, incident())
    assert item.id is not None
    with engine.begin() as conn:
        timers.schedule(conn, TimerKind.RENOTIFY, item.id, 500.0, 100.0)
        timers.schedule(conn, TimerKind.RENOTIFY, item.id, 900.0, 200.0)  # replaces the first
        timers.schedule(conn, TimerKind.AUTO_CLOSE, item.id, 600.0, 200.0)
        timers.cancel(conn, TimerKind.AUTO_CLOSE, item.id, 300.0)
    with engine.begin() as conn:
        assert timers.claim_due(conn, 800.0, 10) == []
        [due] = timers.claim_due(conn, 900.0, 10)
        assert (due.kind, due.due_at) == (TimerKind.RENOTIFY, 900.0)
        timers.finish(conn, due.id, 900.0)
    with engine.begin() as conn:
        assert timers.claim_due(conn, 1000.0, 10) == []


def test_hosts_events_and_checkpoints(engine: sa.Engine) -> None:
    repo = Repository(engine)
    repo.save_hosts([HostRecord("web1", 10.0, 10.0, "0.1.0", "web1", 1)])
    repo.save_hosts([HostRecord("web1", 99.0, 50.0, "0.1.1", "web1", 2**63 - 1, "i1", -3.5)])
    [host] = repo.list_hosts()
    assert (host.first_seen, host.last_seen, host.last_sequence, host.clock_skew_seconds) == (
        10.0,
        50.0,
        2**63 - 1,
        -3.5,
    )
    events = [Event("ipmi_sel", float(i), f"entry {i}", {"sensor": "PSU1"}) for i in range(5)]
    repo.add_events("web1", events, 100.0, keep=3)
    assert [e["message"] for e in repo.list_events("web1")] == ["entry 4", "entry 3", "entry 2"]
    repo.save_checkpoints({"web1": {"histories": [["m", [], 60.0, [[1.0, 2.0]]]]}}, 5.0)
    assert repo.load_checkpoints() == {"web1": {"histories": [["m", [], 60.0, [[1.0, 2.0]]]]}}


def test_one_unstorable_host_does_not_block_the_others(engine: sa.Engine) -> None:
    repo = Repository(engine)
    bad = HostRecord("x" * 300, 1.0, 1.0)  # longer than the column on PostgreSQL
    good = HostRecord("web2", 1.0, 1.0)
    repo.save_hosts([bad, good])
    assert "web2" in [h.name for h in repo.list_hosts()]


def test_upgrade_from_the_first_schema_keeps_incidents_and_numbers_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = open_database(f"sqlite:///{path}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO incidents (key, rule, host, labels, priority, state, summary, value, "
            "opened_at, updated_at, annotations) VALUES ('k', 'DiskFull', 'web1', '{}', 'P2', "
            "'open', 'full', '0.9', 1767225600, 1767225600, '{}')"
        )
        db.execute(
            "INSERT INTO incident_events (incident_id, transition, at, detail) "
            "VALUES (1, 'OPEN', 1767225600, 'threshold crossed')"
        )
    migrate(engine)
    reader = IncidentReader(engine)
    [old] = reader.active()
    assert (old.number, old.state, old.hosts) == (
        "INC-2026-000001",
        IncidentState.TRIGGERED,
        ("web1",),
    )
    assert [e["name"] for e in reader.timeline(1)] == ["OPEN"]
    assert stored(engine, incident("new")).number == "INC-2026-000002", "numbering continues"
    engine.dispose()

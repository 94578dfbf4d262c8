"""The database refuses one incident write (open, resolve): the engine takes its signal back.

A SQLAlchemy hook raises OperationalError once for the chosen statement, as a dropped
connection would. The page still goes out once the database answers again (at the next
breaching report or tick), the key is not stuck (the series resolves, reopens, opens anew),
and every transition is one e-mail on the real SMTP server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

from collector.notify.channels import channel_from_url
from rules.loader import load_rules
from tests.collector.conftest import postgres_schema
from tests.collector.harness import FakeClock, RunningCollector, host_report
from tests.faults.collector_process import write_rules
from tests.faults.mailbox import ticket_events
from tests.peers.smtp import SmtpServer

SUSTAINED_RULE = """\
group: faults-sustained
rules:
  - name: FaultLevelSustained
    priority: P2
    metric: fault_sustained
    above: 0.5
    for: 1m
    summary: "fault level {{ value }} on {{ host }} for a minute"
"""
GRACE_SECONDS = 1.0


class InjectedFailure:
    """Makes the next `times` statements that start with `prefix` (and contain `containing`)
    fail like a lost connection."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._prefix = self._containing = ""
        self._left = 0
        self.raised: list[str] = []
        self._lock = threading.Lock()
        event.listen(engine, "before_cursor_execute", self._before)

    def arm(self, prefix: str, times: int = 1, containing: str = "") -> None:
        with self._lock:
            self._prefix, self._containing, self._left = prefix.upper(), containing, times

    def _before(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        with self._lock:
            if self._left == 0 or not statement.lstrip().upper().startswith(self._prefix):
                return
            if self._containing not in statement:
                return
            self._left -= 1
            self.raised.append(self._prefix)
        raise OperationalError(statement, parameters, ConnectionError("injected: server gone"))

    def remove(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._before)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.peer)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wk.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def running(tmp_path: Path, database: str, smtp: SmtpServer) -> Iterator[RunningCollector]:
    (tmp_path / "rules").mkdir()
    write_rules(tmp_path / "rules")
    (tmp_path / "rules" / "sustained.yaml").write_text(SUSTAINED_RULE)
    rules = load_rules([tmp_path / "rules"], include_builtin=False)
    collector = RunningCollector(
        tmp_path, FakeClock(), [channel_from_url(smtp.url())], rules, database
    )
    yield collector
    collector.stop()


@pytest.fixture
def failure(running: RunningCollector) -> Iterator[InjectedFailure]:
    injected = InjectedFailure(running.collector.repository.engine)
    yield injected
    injected.remove()


def _post(running: RunningCollector, sequence: int, **metrics: float) -> None:
    running.clock.advance(10)
    response = running.post(host_report("web1", running.clock, sequence, **metrics))
    assert response.status_code == 202, response.text


def test_failed_open_and_failed_resolve_are_retried_by_the_next_report(
    running: RunningCollector, failure: InjectedFailure, smtp: SmtpServer
) -> None:
    failure.arm("INSERT INTO incidents ")
    _post(running, 1, fault_level=0.9)
    assert failure.raised == ["INSERT INTO INCIDENTS "]
    assert running.get("/api/v1/incidents?state=all") == []
    _post(running, 2, fault_level=0.9)  # the database answers again: the same breach opens
    [opened] = running.get("/api/v1/incidents?state=active")
    number = opened["number"]
    assert ticket_events(smtp.wait_for(1)) == [(number, "OPEN")]

    failure.arm("UPDATE incidents ")
    _post(running, 3, fault_level=0.1)
    assert len(failure.raised) == 2
    assert [i["number"] for i in running.get("/api/v1/incidents?state=active")] == [number]
    _post(running, 4, fault_level=0.1)  # still clear: the resolve is stored now
    assert running.get("/api/v1/incidents?state=active") == []
    smtp.wait_for(2)

    _post(running, 5, fault_level=0.9)  # no stuck key: the same ticket reopens
    [reopened] = running.get("/api/v1/incidents?state=active")
    assert reopened["number"] == number and reopened["reopen_count"] == 1
    smtp.wait_for(3)
    _post(running, 6, fault_level=0.1)
    running.clock.advance(running.config.incidents.reopen_window + 60)
    _post(running, 7, fault_level=0.9)  # past the reopen window: a new ticket
    [fresh] = running.get("/api/v1/incidents?state=active")
    assert fresh["number"] != number

    smtp.wait_for(5)
    time.sleep(GRACE_SECONDS)
    assert ticket_events(smtp.messages) == [
        (number, "OPEN"),
        (number, "RESOLVED"),
        (number, "REOPENED"),
        (number, "RESOLVED"),
        (fresh["number"], "OPEN"),
    ]
    detail = running.get(f"/api/v1/incidents/{number}")
    transitions = [e["name"] for e in detail["timeline"] if e["kind"] == "transition"]
    assert transitions[:4] == ["OPEN", "RESOLVE", "REOPEN", "RESOLVE"]
    assert running.collector.writer.failures == 2


def test_failed_open_on_a_tick_is_retried_by_the_next_tick(
    running: RunningCollector, failure: InjectedFailure, smtp: SmtpServer
) -> None:
    _post(running, 1, fault_sustained=0.9)  # pending: `for: 1m` has not elapsed
    running.clock.advance(61)
    failure.arm("INSERT INTO incidents ")
    assert running.tick() == 1
    assert failure.raised and running.get("/api/v1/incidents?state=all") == []
    assert running.tick() == 1  # the reverted breach fires again, and is stored
    [opened] = running.get("/api/v1/incidents?state=active")
    assert opened["rule"] == "FaultLevelSustained"
    assert running.tick() == 0

    failure.arm("UPDATE incidents ")
    _post(running, 2, fault_sustained=0.1)
    assert running.get("/api/v1/incidents?state=active") != []
    _post(running, 3, fault_sustained=0.1)
    assert running.get("/api/v1/incidents?state=active") == []

    smtp.wait_for(2)
    time.sleep(GRACE_SECONDS)
    assert ticket_events(smtp.messages) == [
        (opened["number"], "OPEN"),
        (opened["number"], "RESOLVED"),
    ]


def test_failed_record_of_a_sent_email_is_retried_not_resent(
    running: RunningCollector, failure: InjectedFailure, smtp: SmtpServer
) -> None:
    """The e-mail went out, then the database refused to record it (three times): the worker
    keeps trying to record it rather than leaving it leased, to go out again later."""
    failure.arm("UPDATE outbox ", times=3, containing="sent_at")  # the settle of a send
    _post(running, 1, fault_level=0.9)
    [opened] = running.get("/api/v1/incidents?state=active")
    smtp.wait_for(1)
    _post(running, 2, fault_level=0.1)  # its message queues behind the unrecorded one
    smtp.wait_for(2)
    time.sleep(GRACE_SECONDS)
    assert len(failure.raised) == 3
    number = opened["number"]
    assert ticket_events(smtp.messages) == [(number, "OPEN"), (number, "RESOLVED")]
    deliveries = running.get(f"/api/v1/incidents/{number}")["deliveries"]
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("sent", 1), ("sent", 1)]

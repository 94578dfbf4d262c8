"""Diagnostic snapshots in the collector: asked when an incident opens on a host, handed to
that host's agent once in the answer to its report, taken back only from a token that may
speak for the host, once, bounded in size."""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collector.auth.roles import Role
from collector.config import AgentToken, ApiToken
from collector.snapshots.model import MAX_OUTPUT_CHARS, SnapshotBody
from tests.collector.conftest import postgres_schema
from tests.collector.harness import TOKEN, FakeClock, RunningCollector, host_report
from tests.collector.web.conftest import PASSWORD, Browser

ALICE = {"Authorization": "Bearer alice-token"}
AGENT = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


@pytest.fixture(params=["sqlite", "postgresql"])
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningCollector]:
    with contextlib.ExitStack() as stack:
        database = None if request.param == "sqlite" else stack.enter_context(postgres_schema())
        collector = start(tmp_path, database)
        yield collector
        collector.stop()


def start(tmp_path: Path, database: str | None) -> RunningCollector:
    return RunningCollector(
        tmp_path,
        FakeClock(),
        database=database,
        channels=[],
        api_tokens=[ApiToken(name="alice", token="alice-token")],  # type: ignore[arg-type]
        agents=[
            AgentToken(name="test", token=TOKEN),  # type: ignore[arg-type]
            AgentToken(name="web", token="web-token", hosts="web*"),  # type: ignore[arg-type]
        ],
    )


def open_incident(running: RunningCollector, host: str) -> str:
    body = {"title": "orders slow", "priority": "P2", "hosts": [host]}
    answer = running.session.post(
        f"{running.url}/api/v1/incidents", json=body, headers=ALICE, timeout=5
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["number"])


def post_snapshot(
    running: RunningCollector, body: dict[str, Any], headers: dict[str, str] = AGENT
) -> requests.Response:
    data = gzip.compress(json.dumps(body).encode())
    return running.session.post(
        f"{running.url}/api/v1/snapshots",
        data=data,
        headers={**headers, "Content-Encoding": "gzip"},
        timeout=5,
    )


def answer_for(request_id: int, host: str = "db7", output: str = "PID ...") -> dict[str, Any]:
    diagnostics = [
        {"name": "processes", "status": "ok", "output": output},
        {"name": "kernel_log", "status": "refused", "note": "not enabled"},
    ]
    return {
        "request_id": request_id,
        "host": host,
        "taken_at": 1.0,
        "seconds": 0.4,
        "diagnostics": diagnostics,
    }


def test_an_opened_incident_asks_its_hosts_agent_once_in_its_report_answer(
    running: RunningCollector,
) -> None:
    number = open_incident(running, "db7")
    other = running.post(host_report("db8", running.clock, 1, memory_used_ratio=0.1)).json()
    assert "snapshots" not in other, "another host's agent is not asked"
    first = running.post(host_report("db7", running.clock, 1, memory_used_ratio=0.1)).json()
    (request,) = first["snapshots"]
    assert [d["name"] for d in request["diagnostics"]] == [
        "processes", "kernel_log", "network_errors",
    ]  # fmt: skip
    again = running.post(host_report("db7", running.clock, 2, memory_used_ratio=0.1)).json()
    assert "snapshots" not in again, "handed over once"
    (stored,) = running.get(f"/api/v1/incidents/{number}/snapshots")
    assert stored["id"] == request["id"] and stored["delivered_at"] is not None
    assert stored["received_at"] is None


def test_an_answer_is_taken_once_from_a_token_that_may_speak_for_the_host(
    running: RunningCollector,
) -> None:
    number = open_incident(running, "db7")
    (request,) = running.post(host_report("db7", running.clock, 1)).json()["snapshots"]
    body = answer_for(request["id"])
    anonymous = post_snapshot(running, body, {"Content-Type": "application/json"})
    assert anonymous.status_code == 401
    web = post_snapshot(running, body, {**AGENT, "Authorization": "Bearer web-token"})
    assert web.status_code == 409 and "was asked of host 'db7'" in web.text
    forged = post_snapshot(running, answer_for(request["id"], host="db8"))
    assert forged.status_code == 409
    assert post_snapshot(running, body).status_code == 202
    repeated = post_snapshot(running, body)
    assert repeated.status_code == 409 and "answered already" in repeated.text
    (stored,) = running.get(f"/api/v1/incidents/{number}/snapshots")
    assert [d["status"] for d in stored["diagnostics"]] == ["ok", "refused"]
    timeline = running.get(f"/api/v1/incidents/{number}")["timeline"]
    assert timeline[-1]["name"] == "SNAPSHOT"
    assert timeline[-1]["detail"] == (
        "diagnostic snapshot in 0.4 s: collected processes; not collected: kernel_log (not enabled)"
    )


def test_an_oversized_or_broken_snapshot_is_refused(running: RunningCollector) -> None:
    open_incident(running, "db7")
    (request,) = running.post(host_report("db7", running.clock, 1)).json()["snapshots"]
    huge = post_snapshot(running, answer_for(request["id"], output="z" * (2 * 1024 * 1024)))
    assert huge.status_code == 413 and "exceeds 1048576 bytes uncompressed" in huge.text
    broken = post_snapshot(running, {"request_id": request["id"], "host": "db7"})
    assert broken.status_code == 400 and "taken_at" in broken.text


def test_the_collector_cuts_an_output_past_its_own_limit_with_a_note() -> None:
    body = SnapshotBody.model_validate(answer_for(1, output="q" * (MAX_OUTPUT_CHARS + 10)))
    stored = body.stored()[0]
    assert stored["truncated"] is True
    assert str(stored["output"]).endswith("[cut by the collector: 10 more characters]")


def test_the_incident_page_shows_the_snapshot_asked_then_answered(
    running: RunningCollector,
) -> None:
    running.collector.access.add_user("carol", PASSWORD, Role.RESPONDER)
    number = open_incident(running, "db7")
    carol = Browser(running, "carol")
    (request,) = running.post(host_report("db7", running.clock, 1)).json()["snapshots"]
    waiting = carol.get(f"/incidents/{number}").text
    assert 'id="snapshots"' in waiting and "not answered yet" in waiting
    output = "PID USER %CPU COMMAND\n4242 postgres 97.0 <postgres: autovacuum>"
    assert post_snapshot(running, answer_for(request["id"], output=output)).status_code == 202
    page = carol.get(f"/incidents/{number}").text
    section = page[page.index('id="snapshots"') :]
    assert "processes" in section and "4242 postgres 97.0 &lt;postgres: autovacuum&gt;" in section
    assert "kernel_log" in section and "not enabled" in section, "what was not collected, and why"
    assert "诊断快照" in carol.get(f"/incidents/{number}?lang=zh").text


def test_a_request_asked_before_a_restart_is_handed_over_after_it(
    running: RunningCollector, tmp_path: Path
) -> None:
    open_incident(running, "db7")  # asked; the agent has not reported since
    running.stop()
    again = RunningCollector(
        tmp_path,
        FakeClock(),
        database=running.config.database,
        channels=[],
        agents=[AgentToken(name="test", token=TOKEN)],  # type: ignore[arg-type]
    )
    try:
        (request,) = again.post(host_report("db7", again.clock, 1)).json()["snapshots"]
        assert request["diagnostics"][0]["name"] == "processes"
    finally:
        again.stop()

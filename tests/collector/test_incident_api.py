"""The incident API over real HTTP: a person opens, acknowledges, assigns, notes, regrades,
resolves, reopens and closes; refusals are 409 naming the state; every error is JSON."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collector.config import ApiToken
from collector.notify.channels import RecordingChannel
from tests.collector.harness import FakeClock, RunningCollector, host_report, wait_for

ALICE = {"Authorization": "Bearer alice-secret-1"}
CAUSE = {
    "cause": "upstream pool too small for month-end load",
    "fix": "pool resized",
    "category": "configuration",
    "actions": [{"action": "load test before month end", "owner": "bob", "due": "2027-02-01"}],
}


@pytest.fixture
def running(
    tmp_path: Path, clock: FakeClock, recorder: RecordingChannel
) -> Iterator[RunningCollector]:
    collector = RunningCollector(
        tmp_path,
        clock,
        channels=[recorder],
        api_tokens=[ApiToken(name="alice", token="alice-secret-1")],  # type: ignore[arg-type]
        console_url="https://wk.example/",
    )
    yield collector
    collector.stop()


def call(running: RunningCollector, method: str, path: str, **body: Any) -> requests.Response:
    return running.session.request(
        method, f"{running.url}{path}", json=body, headers=ALICE, timeout=5
    )


def test_a_person_walks_an_incident_through_its_whole_life(
    running: RunningCollector, clock: FakeClock, recorder: RecordingChannel
) -> None:
    created = call(
        running,
        "POST",
        "/api/v1/incidents",
        title="Payroll site answers 502",
        priority="P2",
        hosts=["web1"],
        contact="+86 138 0000 0000",
    )
    assert created.status_code == 201
    number = created.json()["number"]
    assert number.startswith("INC-") and created.json()["reporter"] == "alice"
    steps = [
        ("ack", {"note": "on it"}, "acknowledged"),
        ("assign", {"assignee": "bob"}, "acknowledged"),
        ("notes", {"text": "upstream pool exhausted"}, "acknowledged"),
        ("regrade", {"priority": "P1", "reason": "all customers"}, "acknowledged"),
        ("resolve", {"note": "pool resized"}, "resolved"),
        ("reopen", {"reason": "502s again"}, "triggered"),
        ("resolve", {}, "resolved"),
        ("verify", {}, "verifying"),
        ("close", {"note": "customer confirmed"}, "closed"),
    ]
    for action, body, state in steps:
        clock.advance(60)
        if action == "close":  # a P1 closes only with its root cause recorded
            recorded = call(running, "POST", f"/api/v1/incidents/{number}/root-cause", **CAUSE)
            assert recorded.status_code == 201, recorded.text
        answer = call(running, "POST", f"/api/v1/incidents/{number}/{action}", **body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == state, action
    detail = running.get(f"/api/v1/incidents/{number.lower()}")
    assert (detail["priority"], detail["assignee"]) == ("P1", "bob")
    names = [e["name"] for e in detail["timeline"] if e["kind"] == "transition"]
    lifecycle = ["OPEN", "ACK", "ASSIGN", "NOTE", "REGRADE", "RESOLVE", "REOPEN", "RESOLVE"]
    assert names == [*lifecycle, "VERIFY", "ROOT_CAUSE", "CLOSE"]
    assert {e["actor"] for e in detail["timeline"] if e["kind"] == "transition"} == {"alice"}
    wait_for(
        lambda: (
            [n.event for n in recorder.notifications]
            == ["opened", "regraded", "resolved", "reopened", "resolved"]
        )
    )
    assert all(n.number == number for n in recorder.notifications)


def test_incidents_are_found_by_any_of_their_hosts(running: RunningCollector) -> None:
    call(running, "POST", "/api/v1/incidents", title="db pair down", hosts=["app_1", "数据库3"])
    call(running, "POST", "/api/v1/incidents", title="other", hosts=["appX1"])
    for host in ("app_1", "数据库3"):
        found = running.get(f"/api/v1/incidents?host={host}")
        assert [i["summary"] for i in found] == ["db pair down"], host


def test_refused_transition_is_409_naming_state_and_allowed_actions(
    running: RunningCollector,
) -> None:
    number = call(running, "POST", "/api/v1/incidents", title="x").json()["number"]
    answer = call(running, "POST", f"/api/v1/incidents/{number}/close")
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["state"] == "triggered"
    assert error["allowed"] == ["ack", "assign", "note", "regrade", "resolve", "eta"]
    assert "it is triggered" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("GET", "/api/v1/incidents/INC-1999-000001", None, 404, "not_found"),
        ("POST", "/api/v1/incidents/999/ack", {}, 404, "not_found"),
        ("GET", "/api/v1/nothing-here", None, 404, "not_found"),
        ("DELETE", "/api/v1/incidents", None, 405, "method_not_allowed"),
        ("POST", "/api/v1/incidents", {"priority": "P9"}, 400, "bad_request"),
        ("POST", "/api/v1/incidents", {"title": "x", "bogus": 1}, 400, "bad_request"),
    ],
    ids=["unknown-number", "unknown-id", "unknown-path", "wrong-method", "bad-body", "extra"],
)
def test_every_error_is_the_json_envelope(
    running: RunningCollector,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    answer = running.session.request(
        method, f"{running.url}{path}", json=body, headers=ALICE, timeout=5
    )
    assert answer.status_code == status
    assert answer.json()["error"]["code"] == code and answer.json()["error"]["message"]


def test_acting_needs_a_known_api_token(running: RunningCollector) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = running.session.post(
            f"{running.url}/api/v1/incidents", json={"title": "x"}, headers=headers, timeout=5
        )
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"


def test_notification_link_opens_the_incident_page_with_its_timeline(
    running: RunningCollector, clock: FakeClock, recorder: RecordingChannel
) -> None:
    for seq in range(1, 8):  # HostMemoryHigh: 95 % for more than 5 minutes
        running.post(host_report("web1", clock, seq, memory_used_ratio=0.95))
        running.tick()
        clock.advance(60)
    [incident] = running.get("/api/v1/incidents")
    page = running.fetch(f"/incidents/{incident['number']}", timeout=5)
    assert page.status_code == 200
    assert incident["number"] in page.text and "HostMemoryHigh" in page.text
    assert 'id="timeline"' in page.text and ">OPEN<" in page.text and "95 %" in page.text
    wait_for(lambda: len(recorder.notifications) == 1)
    link = f"https://wk.example/incidents/{incident['number']}"
    assert f"Link: {link}" in recorder.notifications[0].body.splitlines()
    missing = running.fetch("/incidents/INC-1999-000009", timeout=5)
    assert missing.status_code == 404

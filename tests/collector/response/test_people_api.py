"""People and teams through the API of a real collector: viewers read them without contact
addresses, admins create, replace and disable them; the changes are stored over response.yaml,
audited, survive a restart, and the next page reaches whom they name (a real HTTP sink)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collector.auth.roles import Role
from collector.config import ApiToken
from tests.collector.harness import ADMIN_HEADERS, FakeClock, RunningCollector, wait_for
from tests.peers.http_sink import HttpSink

VIEWER_TOKEN = "test-viewer-token-71ce"
VIEWER = {"Authorization": f"Bearer {VIEWER_TOKEN}"}
RESPONSE = """\
people:
  - id: alice
    name: Alice
    contacts:
      mail: {{kind: email, url: "mailto://alice:s3cret-pw@mail.example?to=alice@example.com"}}
      hook: {{kind: chat, url: "{alice_hook}"}}
    notification_rules:
      - methods: [hook]
teams:
  - id: dba
    name: Database team
    members: [alice]
policies:
  - id: ops
    tiers:
      - targets: [{{team: dba}}]
        timeout: 5m
"""
CAROL: dict[str, Any] = {
    "id": "carol",
    "name": "Carol Chen",
    "timezone": "Asia/Shanghai",
    "language": "zh",
    "contacts": {"sms": {"kind": "sms", "url": "PLACEHOLDER"}},
}


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    with HttpSink() as server:
        yield server


@pytest.fixture
def response(tmp_path: Path, sink: HttpSink) -> Path:
    path = tmp_path / "response.yaml"
    path.write_text(RESPONSE.format(alice_hook=sink.url("/alice", scheme="json")))
    return path


def start(tmp_path: Path, response: Path) -> RunningCollector:
    return RunningCollector(
        tmp_path,
        FakeClock(),
        channels=[],
        response=response,
        api_tokens=[ApiToken(name="vera", token=VIEWER_TOKEN, role="viewer")],  # type: ignore[arg-type]
    )


@pytest.fixture
def running(tmp_path: Path, response: Path) -> Iterator[RunningCollector]:
    collector = start(tmp_path, response)
    yield collector
    collector.stop()


def call(
    running: RunningCollector,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] = ADMIN_HEADERS,
) -> requests.Response:
    return running.session.request(
        method, f"{running.url}{path}", json=body, headers=headers, timeout=5
    )


def test_viewers_read_people_without_addresses_and_admins_never_see_url_passwords(
    running: RunningCollector,
) -> None:
    [alice] = call(running, "GET", "/api/v1/people", headers=VIEWER).json()
    assert alice["contacts"] == {"mail": {"kind": "email"}, "hook": {"kind": "chat"}}
    assert alice["source"] == "file" and alice["disabled"] is False
    as_admin = call(running, "GET", "/api/v1/people/alice").json()
    assert as_admin["contacts"]["mail"]["url"] == (
        "mailto://alice:***@mail.example?to=alice@example.com"
    )
    [team] = call(running, "GET", "/api/v1/teams", headers=VIEWER).json()
    assert (team["id"], team["members"], team["source"]) == ("dba", ["alice"], "file")
    assert call(running, "GET", "/api/v1/people/nobody").status_code == 404
    refused = call(running, "POST", "/api/v1/people", CAROL, headers=VIEWER)
    assert refused.status_code == 403


def test_admin_adds_a_person_to_a_team_disables_another_and_the_next_page_follows(
    running: RunningCollector, sink: HttpSink, tmp_path: Path, response: Path
) -> None:
    carol = {**CAROL, "contacts": {"sms": {"kind": "sms", "url": sink.url("/carol", "json")}}}
    made = call(running, "POST", "/api/v1/people", carol)
    assert made.status_code == 201, made.text
    assert made.json()["source"] == "api"
    assert call(running, "POST", "/api/v1/people", carol).status_code == 409
    bad_team = {"id": "dba", "name": "Database team", "members": ["alice", "karol"]}
    invalid = call(running, "PUT", "/api/v1/teams/dba", bad_team)
    assert invalid.status_code == 400
    assert "unknown person 'karol'; did you mean 'carol'?" in invalid.json()["error"]["message"]
    team = {**bad_team, "members": ["alice", "carol"]}
    assert call(running, "PUT", "/api/v1/teams/dba", team).json()["source"] == "file+api"
    disabled = call(running, "POST", "/api/v1/people/alice/disable")
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True

    opened = call(
        running, "POST", "/api/v1/incidents", {"title": "db1 down", "priority": "P1"}
    ).json()
    [page] = sink.wait_for(1)
    assert page.path == "/carol" and opened["number"] in page.json()["title"]
    wait_for(lambda: running.collector.delivery.deliver_due() == 0)
    assert [r.path for r in sink.requests] == ["/carol"], "alice is disabled: not paged"

    audit = [e["action"] for e in call(running, "GET", "/api/v1/audit").json()]
    assert "POST /api/v1/people" in audit and "POST /api/v1/people/alice/disable" in audit

    running.stop()  # the database is the truth: a restart keeps the API's changes
    again = start(tmp_path, response)
    try:
        people = {p["id"]: p for p in call(again, "GET", "/api/v1/people").json()}
        assert people["carol"]["source"] == "api" and people["alice"]["disabled"] is True
        assert call(again, "GET", "/api/v1/teams/dba").json()["members"] == ["alice", "carol"]
    finally:
        again.stop()


def test_a_replacement_must_name_the_person_of_its_path(running: RunningCollector) -> None:
    alice = {"id": "alice", "name": "Alice Liddell"}
    bob = {"id": "bob", "name": "Bob"}
    assert call(running, "PUT", "/api/v1/people/bob", bob).status_code == 404, "POST creates"
    other = call(running, "PUT", "/api/v1/people/alice", {**alice, "id": "alicia"})
    assert other.status_code == 400
    changed = call(running, "PUT", "/api/v1/people/alice", alice).json()
    assert (changed["name"], changed["contacts"], changed["source"]) == (
        "Alice Liddell",
        {},
        "file+api",
    )
    assert call(running, "POST", "/api/v1/people/alice/enable").json()["disabled"] is False


def test_a_contact_no_channel_can_be_made_for_is_refused_before_it_is_stored(
    running: RunningCollector,
) -> None:
    bad = {**CAROL, "contacts": {"chat": {"kind": "chat", "url": "nosuch://hook"}}}
    refused = call(running, "POST", "/api/v1/people", bad)
    assert refused.status_code == 400
    message = refused.json()["error"]["message"]
    assert "person 'carol': contact 'chat': unsupported notification URL scheme 'nosuch'" in message
    assert call(running, "GET", "/api/v1/people/carol").status_code == 404


def test_oncall_and_its_feeds_and_the_console_use_the_people_stored_through_the_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`watchkeeper oncall --collector` and the on-call page read the merged directory."""
    from datetime import UTC, datetime

    from collector.response.cli import oncall_command
    from tests.collector.web.conftest import PASSWORD, Browser

    response = tmp_path / "response.yaml"
    response.write_text(
        "people:\n  - {id: alice, name: Alice}\n"
        "schedules:\n  - id: primary\n    layers:\n"
        "      - {participants: [alice], start: '2026-01-05T09:00', length: weekly}\n"
        "policies:\n  - id: ops\n    tiers:\n      - targets: [{schedule: primary}]\n"
    )
    running = start(tmp_path, response)
    try:
        renamed = {"id": "alice", "name": "Alice Liddell", "timezone": "Europe/London"}
        assert call(running, "PUT", "/api/v1/people/alice", renamed).status_code == 200
        team = {"id": "night", "name": "Night shift", "members": ["alice"],
                "schedules": ["primary"]}  # fmt: skip
        assert call(running, "POST", "/api/v1/teams", team).status_code == 201
        running.collector.access.add_user("olga", PASSWORD, Role.VIEWER)
        page = Browser(running, "olga").get("/oncall").text
        assert "Alice Liddell" in page and "Night shift" in page and "api" in page
        assert running.collector.config.database
        collector_yaml = tmp_path / "collector.yaml"
        collector_yaml.write_text(f"database: {running.config.database}\nresponse: {response}\n")
    finally:
        running.stop()
    at = lambda: datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # noqa: E731
    assert oncall_command(["night", "--collector", str(collector_yaml)], clock=at) == 0
    out = capsys.readouterr().out
    assert "team night (Night shift): primary" in out and "Alice Liddell (alice)" in out
    assert oncall_command(["primary", "--ical", "--collector", str(collector_yaml)], clock=at) == 0
    assert "On call: Alice Liddell" in capsys.readouterr().out
    assert oncall_command(["night", "--config", str(response)], clock=at) == 1, "file alone"

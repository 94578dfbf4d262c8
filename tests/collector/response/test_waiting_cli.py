"""Waiting on the customer through a real collector: `watchkeeper incidents wait|resume`, the
409 naming what the state allows, and the paused clock's time left in the API, the CLI's
`show` and /metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from collector.auth.roles import Role
from collector.config import ApiToken
from collector.incidents_cli import incidents_command
from tests.collector.harness import API_TOKEN, FakeClock, RunningCollector
from tests.collector.test_access import Browser


@pytest.fixture
def running(tmp_path: Path, clock: FakeClock) -> Iterator[RunningCollector]:
    response = tmp_path / "response.yaml"
    response.write_text("sla:\n  update_reminder: 5m\n")  # the default targets
    collector = RunningCollector(
        tmp_path,
        clock,
        channels=[],
        response=response,
        api_tokens=[ApiToken(name="alice", token=API_TOKEN)],
    )
    yield collector
    collector.stop()


def cli(
    running: RunningCollector, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    capsys.readouterr()
    env = {"WATCHKEEPER_URL": running.url, "WATCHKEEPER_TOKEN": API_TOKEN}
    code = incidents_command(list(argv), env, running.clock)
    out, err = capsys.readouterr()
    return code, out, err


def test_wait_and_resume_from_the_cli_pause_the_resolution_clock(
    running: RunningCollector, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(running, capsys, "open", "Invoice export fails", "--priority", "P2")
    number = out.strip()
    refused = cli(running, capsys, "wait", number, "-m", "asked for the file")
    assert refused[0] == 1
    assert f"cannot wait {number}: it is triggered; allowed now: ack," in refused[2]
    clock.advance(600)
    assert cli(running, capsys, "ack", number)[0] == 0
    code, out, _ = cli(running, capsys, "wait", number, "-m", "asked for the failing file")
    assert code == 0 and out.split()[:3] == [number, "P2", "waiting"]

    clock.advance(7200)  # two hours on the customer: the clock stands still
    code, out, _ = cli(running, capsys, "show", number)
    assert "resolution paused, 3h50m left" in out  # 4 h target, 10 min used
    listed = running.get("/api/v1/incidents?state=waiting")
    assert [i["number"] for i in listed] == [number]
    resolve = next(c for c in listed[0]["sla"] if c["clock"] == "resolve")
    assert (resolve["state"], resolve["seconds_left"]) == ("paused", 13800)
    metrics = running.fetch("/metrics").text
    assert 'watchkeeper_open_incident_sla_clocks{clock="resolve",state="paused"} 1.0' in metrics

    again = cli(running, capsys, "wait", number)
    assert (
        again[0] == 1
        and "it is waiting; allowed now: assign, note, regrade, resolve, resume" in again[2]
    )
    code, out, _ = cli(running, capsys, "resume", number, "-m", "file received")
    assert code == 0 and out.split()[2] == "acknowledged"
    clock.advance(600)
    resolve = next(
        c for c in running.get(f"/api/v1/incidents/{number}")["sla"] if c["clock"] == "resolve"
    )
    assert (resolve["state"], resolve["seconds_left"]) == ("ok", 13200)
    names = [e["name"] for e in running.get(f"/api/v1/incidents/{number}")["timeline"]]
    assert names[-3:] == ["ACK", "WAIT", "RESUME"]


def test_the_customers_note_ends_the_wait(tmp_path: Path, clock: FakeClock) -> None:
    customers = tmp_path / "customers.yaml"
    customers.write_text('customers:\n  - name: acme\n    hosts: ["acme-*"]\n')
    response = tmp_path / "response.yaml"
    response.write_text("sla: {}\n")
    customer = {"Authorization": "Bearer acme-token-19f0"}
    running = RunningCollector(
        tmp_path,
        clock,
        channels=[],
        response=response,
        customers=customers,
        api_tokens=[
            ApiToken(name="alice", token=API_TOKEN),
            ApiToken(name="acme-it", token="acme-token-19f0", role="customer", customer="acme"),  # type: ignore[arg-type]
        ],
    )
    staff = {"Authorization": f"Bearer {API_TOKEN}"}
    try:

        def post(path: str, body: dict[str, object], headers: dict[str, str]) -> Any:
            answer = running.session.post(
                f"{running.url}{path}", json=body, headers=headers, timeout=5
            )
            assert answer.status_code in (200, 201), answer.text
            return answer.json()

        opened = post(
            "/api/v1/incidents",
            {"title": "acme db slow", "priority": "P2", "hosts": ["acme-db1"]},
            staff,
        )
        number = opened["number"]
        post(f"/api/v1/incidents/{number}/ack", {}, staff)
        waiting = post(f"/api/v1/incidents/{number}/wait", {"note": "which queries?"}, staff)
        assert waiting["state"] == "waiting"
        clock.advance(3600)
        answered = post(
            f"/api/v1/incidents/{number}/notes", {"text": "the nightly report"}, customer
        )
        assert answered["state"] == "acknowledged"
        timeline = running.get(f"/api/v1/incidents/{number}")["timeline"]
        last = [e for e in timeline if e["kind"] == "transition"][-1]
        assert (last["name"], last["actor"]) == ("RESUME", "acme-it")
        assert last["detail"] == "the customer answered: the nightly report"
        # In the console, a customer's note ends the wait the same way.
        post(f"/api/v1/incidents/{number}/wait", {"note": "and since when?"}, staff)
        running.collector.access.add_user("ann", "correct horse battery", Role.CUSTOMER, "acme")
        browser = Browser(running)
        assert browser.sign_in("ann", "correct horse battery").status_code == 303
        page = browser.session.get(f"{running.url}/incidents/{number}", timeout=5)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        noted = browser.session.post(
            f"{running.url}/incidents/{number}/note",
            data={"text": "since Monday", "csrf": csrf.group(1)},
            allow_redirects=False,
            timeout=5,
        )
        assert noted.status_code == 303, noted.text
        assert running.get(f"/api/v1/incidents/{number}")["state"] == "acknowledged"
    finally:
        running.stop()

"""The root-cause gate: a P1/P2 closes only with a root-cause record (pure, on both backends,
and over HTTP with a 409 naming what is missing); a P3 closes without. The fault analysis
report renders the real timeline, SLA results and the actions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from collector.config import ApiToken
from collector.incidents.events import Close, PersonOpened, Resolve
from collector.incidents.model import Incident, IncidentState, Source
from collector.incidents.plan import ResponsePlan, SlaTargets
from collector.incidents.rootcause import Category, FollowUp, RootCause
from collector.incidents.service import IncidentService, IncidentSettings
from collector.incidents.transitions import LifecyclePolicy, TransitionRefusedError, transition
from collector.incidents_cli import incidents_command
from collector.knowledge.report import render
from collector.knowledge.service import FaultRecord, KnowledgeService
from rules.priority import Priority
from tests.collector.harness import FakeClock, RunningCollector

ALICE = {"Authorization": "Bearer alice-secret-1"}
CAUSE: dict[str, Any] = {
    "cause": "RAID controller battery failed; write cache off",
    "fix": "battery replaced, write-back cache re-enabled",
    "category": "hardware",
    "actions": [
        {"action": "monitor BBU health", "owner": "bob", "due": "2027-01-31"},
        {"action": "stock spare batteries", "owner": "carol", "due": "2027-02-15"},
    ],
}
ROOT_CAUSE = RootCause(
    "battery failed", "battery replaced", Category.HARDWARE,
    (FollowUp("monitor BBU", "bob", date(2027, 1, 31)),), "alice", 0.0,
)  # fmt: skip


def resolved(priority: Priority) -> Incident:
    return Incident(
        source=Source.PERSON,
        priority=priority,
        state=IncidentState.RESOLVED,
        summary="slow writes",
        opened_at=0.0,
        updated_at=0.0,
        resolved_at=10.0,
        id=7,
        number="INC-2026-000007",
    )


@pytest.mark.parametrize("priority", [Priority.P1, Priority.P2], ids=["P1", "P2"])
def test_a_p1_or_p2_closes_only_with_a_root_cause(priority: Priority) -> None:
    with pytest.raises(TransitionRefusedError) as refused:
        transition(resolved(priority), Close("alice"), 20.0, LifecyclePolicy())
    message = refused.value.message
    assert (
        f"cannot close INC-2026-000007: a {priority.value} incident needs a root-cause" in message
    )
    assert "missing: cause, fix, category" in message and "owner and a due date" in message
    closed = transition(
        resolved(priority), Close("alice", has_root_cause=True), 20.0, LifecyclePolicy()
    )
    assert closed is not None and closed.incident.state is IncidentState.CLOSED


@pytest.mark.parametrize("priority", [Priority.P3, Priority.P4], ids=["P3", "P4"])
def test_a_p3_or_p4_closes_without_one(priority: Priority) -> None:
    closed = transition(resolved(priority), Close("alice"), 20.0, LifecyclePolicy())
    assert closed is not None and closed.incident.state is IncidentState.CLOSED


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


def test_the_service_reads_the_record_from_the_store_on_both_backends(
    engine: sa.Engine, clock: FakeClock
) -> None:
    service = IncidentService(engine, [], IncidentSettings(), clock)
    knowledge = KnowledgeService(engine, clock)
    opened = service.open(PersonOpened("alice", "slow writes on db1", Priority.P2, hosts=("db1",)))
    service.act(opened.number, Resolve("alice", "cache back on"))
    with pytest.raises(TransitionRefusedError, match="needs a root-cause record"):
        service.act(opened.number, Close("alice"))
    knowledge.record_root_cause(opened.number, ROOT_CAUSE)
    assert service.act(opened.number, Close("alice")).state is IncidentState.CLOSED
    record = knowledge.fault_record(opened.number)
    assert record is not None and record.root_cause is not None
    assert record.root_cause.actions == ROOT_CAUSE.actions
    names = [e["name"] for e in record.timeline]
    assert names == ["OPEN", "RESOLVE", "ROOT_CAUSE", "CLOSE"]


def test_the_report_has_times_sla_results_root_cause_and_timeline(clock: FakeClock) -> None:
    start = clock()
    plan = ResponsePlan(
        "vip", sla=SlaTargets(ack=600, resolve=3600),
        clocks={"ack": (start, start + 600), "resolve": (start, start + 3600)},
    )  # fmt: skip
    incident = Incident(
        source=Source.RULE, priority=Priority.P1, state=IncidentState.CLOSED,
        summary="db1 writes <slow>", opened_at=start, updated_at=start + 5000,
        acknowledged_at=start + 900, acknowledged_by="bob", resolved_at=start + 3000,
        closed_at=start + 5000, plan=plan, hosts=("db1",), number="INC-2027-000001", id=1,
    )  # fmt: skip
    timeline = [
        {"at": start, "name": "OPEN", "actor": "rule:DiskIO", "detail": "for 5m"},
        {"at": start + 900, "name": "ACK", "actor": "bob", "detail": ""},
    ]
    record = FaultRecord(incident, timeline, ROOT_CAUSE)
    text = render(record, "md", start + 6000)
    assert "# Fault analysis report: INC-2027-000001" in text
    assert "**Acknowledged:** 2027-01-15 08:15:00 UTC (+15m00s) by bob" in text
    assert "| ack | 10m00s | 2027-01-15 08:10:00 UTC | breached |" in text
    assert "| resolve | 1h00m | 2027-01-15 09:00:00 UTC | met |" in text
    assert "| monitor BBU | bob | 2027-01-31 |" in text
    assert "| 2027-01-15 08:00:00 UTC | OPEN | rule:DiskIO | for 5m |" in text
    page = render(record, "html", start + 6000)
    assert "db1 writes &lt;slow&gt;" in page and "<slow>" not in page
    assert "<td>breached</td>" in page


@pytest.fixture
def running(tmp_path: Path, clock: FakeClock) -> Iterator[RunningCollector]:
    collector = RunningCollector(
        tmp_path,
        clock,
        channels=[],
        api_tokens=[ApiToken(name="alice", token="alice-secret-1")],  # type: ignore[arg-type]
    )
    yield collector
    collector.stop()


def call(running: RunningCollector, method: str, path: str, **body: Any) -> requests.Response:
    return running.session.request(
        method, f"{running.url}{path}", json=body, headers=ALICE, timeout=5
    )


def resolved_by_api(running: RunningCollector, priority: str) -> str:
    number = call(running, "POST", "/api/v1/incidents", title="db1 slow", priority=priority)
    reference = str(number.json()["number"])
    assert call(running, "POST", f"/api/v1/incidents/{reference}/resolve").status_code == 200
    return reference


def test_closing_a_p2_without_a_root_cause_is_409_naming_what_is_missing(
    running: RunningCollector, clock: FakeClock
) -> None:
    number = resolved_by_api(running, "P2")
    refused = call(running, "POST", f"/api/v1/incidents/{number}/close")
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "conflict" and error["state"] == "resolved"
    assert "needs a root-cause record first; missing: cause, fix, category" in error["message"]
    clock.advance(60)
    recorded = call(running, "POST", f"/api/v1/incidents/{number}/root-cause", **CAUSE)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["author"] == "alice" and recorded.json()["actions"] == CAUSE["actions"]
    closed = call(running, "POST", f"/api/v1/incidents/{number}/close", note="done")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    report = running.fetch(f"/api/v1/incidents/{number}/report?format=md")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/markdown")
    assert (
        "| RESOLVE | alice |" in report.text and "| ROOT_CAUSE | alice | hardware:" in report.text
    )
    assert "- **Fix:** battery replaced, write-back cache re-enabled" in report.text
    assert "| stock spare batteries | carol | 2027-02-15 |" in report.text
    html = running.fetch(f"/api/v1/incidents/{number}/report?format=html")
    assert html.headers["content-type"].startswith("text/html")
    assert "<dd>RAID controller battery failed; write cache off</dd>" in html.text


def test_a_p3_closes_without_a_root_cause(running: RunningCollector) -> None:
    number = resolved_by_api(running, "P3")
    closed = call(running, "POST", f"/api/v1/incidents/{number}/close")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    report = running.fetch(f"/api/v1/incidents/{number}/report").text
    assert "No root cause has been recorded yet." in report


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/api/v1/incidents/INC-1999-000001/root-cause", CAUSE, 404, "no incident"),
        ("{incident}/root-cause", {**CAUSE, "category": "gremlins"}, 400, "category"),
        ("{incident}/root-cause", {**CAUSE, "actions": []}, 400, "actions"),
        ("{incident}/root-cause", {**CAUSE, "actions": [{"action": "x", "due": "2027-01-01"}]},
         400, "actions.0.owner"),
    ],
    ids=["unknown-incident", "bad-category", "no-actions", "action-without-owner"],
)  # fmt: skip
def test_a_bad_root_cause_is_refused_naming_the_field(
    running: RunningCollector, path: str, body: dict[str, Any], status: int, words: str
) -> None:
    number = resolved_by_api(running, "P2")
    answer = call(
        running, "POST", path.replace("{incident}", f"/api/v1/incidents/{number}"), **body
    )
    assert answer.status_code == status
    assert words in answer.json()["error"]["message"]


def test_a_report_in_an_unknown_format_is_400(running: RunningCollector) -> None:
    number = resolved_by_api(running, "P2")
    answer = running.fetch(f"/api/v1/incidents/{number}/report?format=pdf")
    assert answer.status_code == 400 and "md, html" in answer.json()["error"]["message"]


def test_the_cli_prints_or_writes_the_report(
    running: RunningCollector, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    number = resolved_by_api(running, "P2")
    call(running, "POST", f"/api/v1/incidents/{number}/root-cause", **CAUSE)
    env = {"WATCHKEEPER_URL": running.url, "WATCHKEEPER_TOKEN": "alice-secret-1"}
    capsys.readouterr()
    assert incidents_command(["report", number], env) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# Fault analysis report: {number}\n")
    assert "| monitor BBU health | bob | 2027-01-31 |" in out
    target = tmp_path / "report.html"
    assert incidents_command(["report", number, "--format", "html", "-o", str(target)], env) == 0
    assert "<h2>Follow-up actions</h2>" in target.read_text(encoding="utf-8")
    assert incidents_command(["report", "INC-1999-000001"], env) == 1
    assert "no incident INC-1999-000001" in capsys.readouterr().err

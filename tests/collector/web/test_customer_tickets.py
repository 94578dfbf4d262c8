"""The customer side of the console over real HTTP: a customer opens a ticket from the form and
lands on it (only for itself, only its own hosts, never P1; the API agrees), staff set an
expected resolution time that the customer sees on its page and list and hears about by mail,
the customer answers a verification from its page, and staff link a ticket to a suggested
incident (the customer sees no links)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collector.auth.roles import Role
from collector.config import ApiToken
from collector.web.tickets import priority_of
from rules.loader import load_rules
from tests.collector.harness import ADMIN_HEADERS, FakeClock, RunningCollector, host_report
from tests.collector.web.conftest import PASSWORD, Browser
from tests.peers.smtp import SmtpServer

CUSTOMERS = """\
customers:
  - name: acme
    contacts:
      - {name: Li Lei, email: lilei@acme.example.cn}
    hosts: ["acme-*"]
  - name: globex
    hosts: ["globex-*"]
"""
RULES = """\
group: t
rules:
  - name: DiskSlow
    priority: P3
    metric: disk_latency_seconds
    above: 0.5
    summary: "disk latency {{ value }} s"
"""
ACME_TOKEN = {"Authorization": "Bearer acme-token-1a2b"}
TICKET = {"title": "shop checkout fails", "impact": "high", "urgency": "medium"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def running(tmp_path: Path, clock: FakeClock, smtp: SmtpServer) -> Iterator[RunningCollector]:
    (tmp_path / "customers.yaml").write_text(CUSTOMERS)
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / "response.yaml").write_text("sla: {}\n")  # the default targets: P2 resolve 4h
    token = ApiToken(name="acme-portal", token="acme-token-1a2b", role="customer", customer="acme")  # type: ignore[arg-type]
    collector = RunningCollector(
        tmp_path,
        clock,
        rules=load_rules([tmp_path / "rules.yaml"], include_builtin=False),
        api_tokens=[token],
        customers=tmp_path / "customers.yaml",
        response=tmp_path / "response.yaml",
        customer_mail=smtp.url(to="nobody@example.test", sender="support@example.test"),
    )
    for host in ("acme-web1", "acme-db1", "globex-db1"):
        assert collector.post(host_report(host, clock, 1)).ok
    access = collector.collector.access
    access.add_user("carol", PASSWORD, Role.RESPONDER)
    access.add_user("ann", PASSWORD, Role.CUSTOMER, "acme")
    yield collector
    collector.stop()


@pytest.fixture
def ann(running: RunningCollector) -> Browser:
    return Browser(running, "ann")


@pytest.fixture
def carol(running: RunningCollector) -> Browser:
    return Browser(running, "carol")


def open_from_form(browser: Browser, **fields: str) -> str:
    """Open a ticket through the form; the new ticket's number, from where it redirects."""
    form = browser.get("/tickets/new")
    assert form.status_code == 200, form.text[:300]
    opened = browser.submit("/tickets/new", **{**TICKET, **fields})
    assert opened.status_code == 303, opened.text[:500]
    found = re.fullmatch(r"/incidents/(INC-\d{4}-\d{6})", opened.headers["location"])
    assert found, opened.headers["location"]
    return found.group(1)


def staff_view(running: RunningCollector, number: str) -> dict[str, Any]:
    view: dict[str, Any] = running.get(f"/api/v1/incidents/{number}")
    return view


def all_numbers(running: RunningCollector) -> set[str]:
    return {i["number"] for i in running.get("/api/v1/incidents?state=all")}


def test_a_customer_opens_a_ticket_from_the_form_and_lands_on_it(
    running: RunningCollector, ann: Browser
) -> None:
    form = ann.get("/tickets/new").text
    assert 'name="host:acme-web1"' in form and 'name="host:acme-db1"' in form
    assert "globex-db1" not in form, "another customer's hosts are not offered"
    assert 'name="customer"' not in form, "a customer cannot choose whom the ticket is for"
    assert "P1" in form, "the form says P1 comes only from our staff"
    number = open_from_form(
        ann, **{"host:acme-web1": "on", "customer": "globex", "contact": "+86 138 0000 0000"}
    )
    page = ann.get(f"/incidents/{number}")
    assert page.status_code == 200 and "shop checkout fails" in page.text
    assert 'id="plain-state"' in page.text and "we will start on it shortly" in page.text
    stored = staff_view(running, number)
    assert stored["labels"] == {"via": "console", "customer": "acme"}, "the forged label ignored"
    assert (stored["priority"], stored["hosts"], stored["reporter"]) == ("P2", ["acme-web1"], "ann")
    assert stored["contact"] == "+86 138 0000 0000"
    listed = ann.get("/incidents").text
    assert number in listed and "we will start on it shortly" in listed


def test_another_customers_host_or_a_bad_priority_opens_nothing(
    running: RunningCollector, ann: Browser
) -> None:
    before = all_numbers(running)
    foreign = ann.submit("/tickets/new", **{**TICKET, "host:globex-db1": "on"})
    assert foreign.status_code == 400 and "not among acme&#39;s hosts: globex-db1" in foreign.text
    urgent = ann.submit("/tickets/new", **{**TICKET, "impact": "critical"})
    assert urgent.status_code == 400 and "high, medium or low" in urgent.text
    stale = ann.submit("/tickets/new", csrf="forged", **TICKET)
    assert stale.status_code == 403
    assert all_numbers(running) == before


def test_staff_open_a_ticket_on_a_customers_behalf(
    running: RunningCollector, carol: Browser
) -> None:
    form = carol.get("/tickets/new").text
    assert 'name="customer"' in form and "globex-db1" in form
    number = open_from_form(carol, customer="globex", **{"host:globex-db1": "on"})
    assert staff_view(running, number)["labels"] == {"via": "console", "customer": "globex"}
    unknown = carol.submit("/tickets/new", **{**TICKET, "customer": "initech"})
    assert unknown.status_code == 400 and "initech" in unknown.text


def test_a_customer_opens_by_the_api_only_for_itself(running: RunningCollector) -> None:
    url = f"{running.url}/api/v1/incidents"

    def post(body: dict[str, Any]) -> requests.Response:
        return requests.post(url, json=body, headers=ACME_TOKEN, timeout=5)

    assert post({"title": "x", "hosts": ["globex-db1"]}).status_code == 400
    assert post({"title": "x", "priority": "P1"}).status_code == 400
    assert post({"title": "x", "labels": {"customer": "globex"}}).status_code == 400
    opened = post({"title": "orders stuck", "hosts": ["acme-db1"]})
    assert opened.status_code == 201, opened.text
    assert "labels" not in opened.json(), "the customer's answer leaves out our labels"
    stored = staff_view(running, opened.json()["number"])
    assert stored["labels"] == {"customer": "acme"} and stored["reporter"] == "acme-portal"


def test_staff_set_an_eta_the_customer_sees_and_hears_about(
    running: RunningCollector, ann: Browser, carol: Browser, smtp: SmtpServer
) -> None:
    number = open_from_form(ann)
    smtp.wait_for(1)  # the opening message with the ticket number
    page = ann.get(f"/incidents/{number}").text
    assert 'data-source="target"' in page and "Resolution target (service level)" in page
    assert 'id="form-eta"' not in page
    assert ann.submit(f"/incidents/{number}/eta", eta_in="1h", reason="x").status_code == 403
    api = requests.post(
        f"{running.url}/api/v1/incidents/{number}/eta",
        json={"after": "1h", "reason": "x"},
        headers=ACME_TOKEN,
        timeout=5,
    )
    assert api.status_code == 403
    assert 'id="form-eta"' in carol.get(f"/incidents/{number}").text
    past = carol.submit(f"/incidents/{number}/eta", eta_at="2020-01-01T00:00", reason="late")
    assert past.status_code == 409 and "not in the future" in past.text
    set_ = carol.submit(f"/incidents/{number}/eta", eta_in="3h", reason="a new disk is on its way")
    assert set_.status_code == 303, set_.text[:300]
    eta = running.clock() + 3 * 3600
    page = ann.get(f"/incidents/{number}").text
    assert 'data-source="eta"' in page and "a new disk is on its way" in page
    assert "Expected resolution" in page and "3 h left" in page
    assert ">ETA<" in page, "the change is on the customer's timeline too"
    (listed,) = re.findall(r'class="eta">(.*?)</td>', ann.get("/incidents").text)
    assert listed and "service level target" not in listed
    assert staff_view(running, number)["eta"] is not None
    (_opened, told) = smtp.wait_for(2)
    assert told.rcpt_tos == ["lilei@acme.example.cn"]
    assert told.subject == f"{number} When we expect your ticket to be fixed"
    assert "a new disk is on its way" in told.text
    assert _utc_minutes(eta) in told.text
    cleared = requests.post(
        f"{running.url}/api/v1/incidents/{number}/eta",
        json={"reason": "the vendor cannot say"},
        headers=ADMIN_HEADERS,
        timeout=5,
    )
    assert cleared.status_code == 200 and cleared.json()["eta"] is None
    assert 'data-source="target"' in ann.get(f"/incidents/{number}").text


def _utc_minutes(unix_seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(unix_seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def resolve_and_verify(running: RunningCollector, number: str) -> None:
    for verb in ("resolve", "verify"):
        answer = requests.post(
            f"{running.url}/api/v1/incidents/{number}/{verb}",
            json={},
            headers=ADMIN_HEADERS,
            timeout=5,
        )
        assert answer.status_code == 200, answer.text


def test_the_customer_confirms_the_fix_from_its_page(
    running: RunningCollector, ann: Browser, carol: Browser
) -> None:
    number = open_from_form(ann, impact="low", urgency="low")
    assert 'id="form-answer"' not in ann.get(f"/incidents/{number}").text
    resolve_and_verify(running, number)
    page = ann.get(f"/incidents/{number}").text
    assert 'id="form-answer"' in page and "please confirm it works for you" in page
    assert 'id="form-answer"' not in carol.get(f"/incidents/{number}").text
    bad = ann.submit(f"/incidents/{number}/answer", verdict="maybe")
    assert bad.status_code == 400
    done = ann.submit(f"/incidents/{number}/answer", verdict="fixed", rating="5", comment="thanks")
    assert done.status_code == 303, done.text[:300]
    assert staff_view(running, number)["state"] == "closed"
    assert staff_view(running, number)["satisfaction"]["via"] == "console"
    shown = carol.get(f"/incidents/{number}").text
    assert 'id="satisfaction"' in shown and "rated 5 of 5" in shown and "thanks" in shown
    again = ann.submit(f"/incidents/{number}/answer", verdict="broken")
    assert again.status_code == 409, "answered once"


def test_not_fixed_reopens_the_same_ticket(running: RunningCollector, ann: Browser) -> None:
    number = open_from_form(ann)
    resolve_and_verify(running, number)
    assert ann.submit(f"/incidents/{number}/answer", verdict="broken").status_code == 303
    view = staff_view(running, number)
    assert (view["state"], view["reopen_count"]) == ("triggered", 1)


def test_staff_see_the_linked_incident_the_customer_does_not(
    running: RunningCollector, ann: Browser, carol: Browser
) -> None:
    ticket = open_from_form(ann, **{"host:acme-web1": "on"})
    assert running.post(host_report("acme-web1", running.clock, 2, disk_latency_seconds=0.9)).ok
    running.tick()
    listed = running.get("/api/v1/incidents?host=acme-web1&state=all")
    (other,) = [i["number"] for i in listed if i["rule"] == "DiskSlow"]
    suggested = carol.get(f"/incidents/{ticket}").text
    assert 'id="suggested-links"' in suggested and other in suggested
    assert ann.submit(f"/incidents/{ticket}/link", incident=other).status_code == 403
    linked = carol.submit(f"/incidents/{ticket}/link", incident=other)
    assert linked.status_code == 303, linked.text[:300]
    page = carol.get(f"/incidents/{ticket}").text
    assert 'id="links"' in page and f'href="/incidents/{other}"' in page
    assert f"linked to {other}" in page and 'id="suggested-links"' not in page
    assert staff_view(running, ticket)["links"][0]["number"] == other, "the API agrees"
    missing = carol.submit(f"/incidents/{ticket}/link", incident="INC-2099-999999")
    assert missing.status_code == 404 and "no incident INC-2099-999999" in missing.text
    assert 'id="links"' not in ann.get(f"/incidents/{ticket}").text


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [
        ("high", "high", "P2"),
        ("high", "medium", "P2"),
        ("medium", "high", "P2"),
        ("high", "low", "P3"),
        ("medium", "medium", "P3"),
        ("medium", "low", "P4"),
        ("low", "low", "P4"),
    ],
    ids=str,
)
def test_impact_and_urgency_choose_p2_to_p4(impact: str, urgency: str, priority: str) -> None:
    assert priority_of(impact, urgency).value == priority

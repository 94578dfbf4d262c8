"""Role customer over real HTTP, two customers each with a token and a signed-in user: every
route of the API and console is either refused (403) or confined to the caller's own customer,
another customer's incident or host is a 404 worded as for one that does not exist, and a
customer acts only with its verbs on its own tickets."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from collector.api.access import (
    CUSTOMER_ACTIONS,
    CUSTOMER_RULES,
    ROUTE_RULES,
    Gate,
    Scoped,
    check_rules,
    route_methods,
)
from collector.auth.roles import Role
from collector.config import ApiToken
from collector.notify.channels import RecordingChannel
from rules.loader import load_rules
from tests.collector.harness import (
    ADMIN_HEADERS,
    FakeClock,
    RunningCollector,
    host_report,
    wait_for,
)
from tests.collector.test_access import Browser

CUSTOMERS = """\
customers:
  - name: acme
    hosts: ["acme-*"]
  - name: globex
    hosts: ["globex-*"]
"""
# A rule whose incidents carry `customer: globex`: on an acme-* host the label decides.
RULE = """\
group: t
rules:
  - name: LabDiskSlow
    priority: P3
    metric: disk_latency_seconds
    above: 0.5
    summary: "disk latency {{ value }} s"
    labels: {customer: globex}
"""
RESPONDER = {"Authorization": "Bearer responder-token-77aa"}
PASSWORD = "correct horse battery"
MISSING = "INC-2099-999999"


@dataclass
class Caller:
    """A customer principal: a token, or a browser session with its CSRF token."""

    name: str
    customer: str
    url: str
    session: requests.Session = field(default_factory=requests.Session)
    csrf: str = ""

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        kwargs.setdefault("allow_redirects", False)
        if self.csrf and method in ("POST", "PATCH"):
            if path.startswith("/api/"):
                kwargs.setdefault("headers", {})["X-CSRF-Token"] = self.csrf
            else:
                kwargs["data"] = {**kwargs.get("data", {}), "csrf": self.csrf}
        return self.session.request(method, f"{self.url}{path}", **kwargs)


@dataclass
class World:
    running: RunningCollector
    callers: list[Caller]
    numbers: dict[str, str]  # A1, G1, GL (labelled globex, on an acme host), N1 (nobody's)
    mine: dict[str, dict[str, str]] = field(default_factory=dict)
    foreign: dict[str, list[str]] = field(default_factory=dict)


def token_caller(running: RunningCollector, name: str, customer: str, token: str) -> Caller:
    caller = Caller(name, customer, running.url)
    caller.session.headers["Authorization"] = f"Bearer {token}"
    return caller


def session_caller(running: RunningCollector, user: str, customer: str) -> Caller:
    running.collector.access.add_user(user, PASSWORD, Role.CUSTOMER, customer)
    browser = Browser(running)
    assert browser.sign_in(user, PASSWORD).status_code == 303
    page = browser.session.get(f"{running.url}/", timeout=5)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert page.status_code == 200 and csrf, page.text
    return Caller(user, customer, running.url, browser.session, csrf.group(1))


def open_incident(running: RunningCollector, title: str, host: str) -> str:
    body = {"title": title, "hosts": [host]}
    opened = requests.post(
        f"{running.url}/api/v1/incidents", json=body, headers=RESPONDER, timeout=5
    )
    assert opened.status_code == 201, opened.text
    return str(opened.json()["number"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    (tmp_path / "customers.yaml").write_text(CUSTOMERS)
    (tmp_path / "rules.yaml").write_text(RULE)
    clock = FakeClock()
    tokens = [
        ApiToken(name="acme-portal", token="acme-token-1a2b", role="customer", customer="acme"),
        ApiToken(
            name="globex-portal", token="globex-token-3c4d", role="customer", customer="globex"
        ),
        ApiToken(name="desk", token="responder-token-77aa", role="responder"),
    ]
    running = RunningCollector(
        tmp_path,
        clock,
        channels=[RecordingChannel("ops-mail")],
        rules=load_rules([tmp_path / "rules.yaml"], include_builtin=False),
        api_tokens=tokens,
        customers=tmp_path / "customers.yaml",
    )
    try:
        for host, latency in (("acme-web1", 0.1), ("globex-db1", 0.1), ("intranet1", 0.1)):
            assert running.post(host_report(host, clock, 1, disk_latency_seconds=latency)).ok
        assert running.post(host_report("acme-lab1", clock, 1, disk_latency_seconds=0.9)).ok
        [labelled] = running.get("/api/v1/incidents?host=acme-lab1")
        numbers = {
            "A1": open_incident(running, "acme orders slow", "acme-web1"),
            "G1": open_incident(running, "globex backups late", "globex-db1"),
            "N1": open_incident(running, "intranet down", "intranet1"),
            "GL": labelled["number"],
        }
        callers = [
            token_caller(running, "acme-portal", "acme", "acme-token-1a2b"),
            session_caller(running, "ann", "acme"),
            token_caller(running, "globex-portal", "globex", "globex-token-3c4d"),
            session_caller(running, "gus", "globex"),
        ]
        world = World(running, callers, numbers)
        world.mine = {
            "acme": {"reference": numbers["A1"], "name": "acme-web1"},
            "globex": {"reference": numbers["G1"], "name": "globex-db1"},
        }
        world.foreign = {
            "acme": [numbers["G1"], numbers["GL"], numbers["N1"], "globex-db1", "intranet1"],
            "globex": [numbers["A1"], numbers["N1"], "acme-web1", "intranet1"],
        }
        yield world
    finally:
        running.stop()


def fill(template: str, values: dict[str, str]) -> str:
    """A concrete path: {reference}, {name} and {action} from `values`, numbers as 1."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return values.get(name, "1")

    return re.sub(r"\{([^}]+)\}", value, template)


def verb(template: str) -> str:
    """A verb every customer may use on this action route (adding a note)."""
    return "notes" if template.startswith("/api/") else "note"


def body(template: str) -> dict[str, Any]:
    if template == "/api/v1/whoami":  # PATCH: one's own time zone
        return {"json": {"time_zone": "Asia/Shanghai"}}
    if template == "/api/v1/incidents":  # a customer opens a ticket for itself
        return {"json": {"title": "the shop is slow", "hosts": []}}
    if template == "/tickets/new":
        return {"data": {"title": "the shop is slow", "impact": "low", "urgency": "low"}}
    if "{action}" not in template:
        return {}
    if template.startswith("/api/"):
        return {"json": {"text": "the shop is still slow"}}
    return {"data": {"text": "the shop is still slow"}}


def other_customer(world: World, customer: str) -> str:
    return "globex" if customer == "acme" else "acme"


def test_every_route_is_refused_or_confined_for_each_customer_principal(world: World) -> None:
    endpoints = route_methods(world.running.collector.asgi.routes)
    assert set(CUSTOMER_RULES) <= set(endpoints)
    for caller in world.callers:
        mine = world.mine[caller.customer]
        theirs = world.mine[other_customer(world, caller.customer)]
        for method, template in endpoints:
            need = ROUTE_RULES[(method, template)]
            if need in (Gate.PUBLIC, Gate.AGENT, Gate.INTEGRATION) or template == "/logout":
                continue  # no customer data; /logout would end the session under test
            where = f"{method} {template} as {caller.name}"
            scoped = CUSTOMER_RULES.get((method, template))
            values = {**mine, "action": verb(template)}
            answer = caller.call(method, fill(template, values), **body(template))
            if scoped is None:
                assert answer.status_code == 403, f"{where}: {answer.status_code}"
                assert "has role customer" in answer.json()["error"]["message"], where
                continue
            if template in ("/api/v1/whoami", "/me") and method != "GET" and not caller.csrf:
                assert answer.status_code == 400 and "API token" in answer.text, where
                continue  # a token is no user: it has no preferences
            assert answer.status_code in (200, 201, 303), f"{where}: {answer.text[:300]}"
            leaked = [x for x in world.foreign[caller.customer] if x in answer.text]
            assert not leaked, f"{where} shows {leaked}"
            if scoped in (Scoped.FILTERED, Scoped.INCIDENT) and method == "GET":
                assert any(v in answer.text for v in mine.values()), (
                    f"{where} shows none of its own"
                )
            if scoped in (Scoped.INCIDENT, Scoped.HOST):
                assert_hidden(caller, method, template, {**theirs, "action": verb(template)})


def assert_hidden(caller: Caller, method: str, template: str, theirs: dict[str, str]) -> None:
    """Another customer's incident or host answers exactly as one that does not exist."""
    nowhere = {**theirs, "reference": MISSING, "name": "no-such-host"}
    other = caller.call(method, fill(template, theirs), **body(template))
    missing = caller.call(method, fill(template, nowhere), **body(template))
    where = f"{method} {template} as {caller.name}"
    assert (other.status_code, missing.status_code) == (404, 404), where
    told = other.json()["error"]["message"]
    for key in ("reference", "name"):
        told = told.replace(theirs[key], nowhere[key])
    assert told == missing.json()["error"]["message"], where


def test_action_routes_refuse_other_verbs_before_looking_anything_up(world: World) -> None:
    for caller in world.callers:
        own = world.mine[caller.customer]["reference"]
        other = world.mine[other_customer(world, caller.customer)]["reference"]
        for (method, template), verbs in CUSTOMER_ACTIONS.items():
            for refused in ("resolve", "close", "assign", "regrade", "reopen"):
                assert refused not in verbs
                for reference in (own, other, MISSING):
                    path = fill(template, {"reference": reference, "action": refused})
                    answer = caller.call(method, path, json={})
                    assert answer.status_code == 403, f"{path} as {caller.name}"
                    assert "role customer may only" in answer.json()["error"]["message"]


def test_lists_hold_only_the_callers_own_hosts_and_incidents(world: World) -> None:
    acme_token, ann, globex_token, gus = world.callers
    n = world.numbers
    for caller, hosts, numbers in (
        (acme_token, ["acme-lab1", "acme-web1"], {n["A1"]}),
        (ann, ["acme-lab1", "acme-web1"], {n["A1"]}),
        (globex_token, ["globex-db1"], {n["G1"], n["GL"]}),
        (gus, ["globex-db1"], {n["G1"], n["GL"]}),
    ):
        listed = caller.call("GET", "/api/v1/hosts").json()
        assert [h["name"] for h in listed] == hosts, caller.name
        found = caller.call("GET", "/api/v1/incidents?state=all").json()
        assert {i["number"] for i in found} == numbers, caller.name
    staff = world.running.get("/api/v1/incidents?state=all")
    assert {i["number"] for i in staff} == set(n.values()), "staff roles still see everything"


def test_a_customer_acknowledges_notes_and_verifies_its_own_ticket(world: World) -> None:
    acme = world.callers[0]
    a1 = world.numbers["A1"]
    acked = acme.call("POST", f"/api/v1/incidents/{a1}/ack", json={"note": "seen it"})
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "acme-portal"
    resolved = requests.post(
        f"{world.running.url}/api/v1/incidents/{a1}/resolve", json={}, headers=RESPONDER, timeout=5
    )
    assert resolved.json()["state"] == "resolved"
    verified = acme.call("POST", f"/api/v1/incidents/{a1}/verify", json={"note": "checking"})
    assert verified.status_code == 200 and verified.json()["state"] == "verifying"
    closed = acme.call("POST", f"/api/v1/incidents/{a1}/close", json={})
    assert closed.status_code == 403
    audit = world.running.get("/api/v1/audit")
    assert ("acme-portal", f"POST /api/v1/incidents/{a1}/verify", 200) in [
        (e["actor"], e["action"], e["status"]) for e in audit
    ]


def test_a_customer_sees_its_ticket_without_our_deliveries_or_knowledge_base(
    world: World,
) -> None:
    a1 = world.numbers["A1"]
    path = f"/api/v1/incidents/{a1}"
    world.running.collector.delivery.wake()
    wait_for(lambda: any(d["status"] == "sent" for d in world.running.get(path)["deliveries"]))
    staff = world.running.get(path)
    assert any(e["kind"] == "delivery" for e in staff["timeline"]) and "kb_matches" in staff
    for caller in world.callers[:2]:
        seen = caller.call("GET", path).json()
        assert "deliveries" not in seen and "kb_matches" not in seen
        assert seen["timeline"] and all(e["kind"] != "delivery" for e in seen["timeline"])
        assert "ops-mail" not in caller.call("GET", f"/incidents/{a1}").text


def test_a_customer_session_in_the_console(world: World) -> None:
    ann = world.callers[1]
    a1, g1 = world.numbers["A1"], world.numbers["G1"]
    quiet = {"matchers": {"host": "globex-db1"}, "reason": "globex-maint", "duration": "2h"}
    silenced = requests.post(
        f"{ann.url}/api/v1/silences", json=quiet, headers=ADMIN_HEADERS, timeout=5
    )
    assert silenced.status_code == 201, silenced.text
    assert "globex-maint" in world.running.fetch("/").text, "staff see the silence"
    overview = ann.call("GET", "/")
    assert "globex-maint" not in overview.text, "silences name other customers' hosts"
    assert a1 in overview.text and "acme-web1" in overview.text
    assert g1 not in overview.text and "globex-db1" not in overview.text
    assert ann.call("GET", "/silences").status_code == 403
    assert ann.call("GET", "/metrics").status_code == 403
    assert ann.call("GET", f"/incidents/{g1}").status_code == 404
    noted = ann.call("POST", f"/incidents/{a1}/note", data={"text": "since 9:00"})
    assert noted.status_code == 303 and noted.headers["location"].startswith(f"/incidents/{a1}")
    page = ann.call("GET", f"/incidents/{a1}")
    assert "since 9:00" in page.text
    assert 'id="form-ack"' in page.text and 'id="form-note"' in page.text
    assert 'id="form-resolve"' not in page.text and 'id="form-assign"' not in page.text
    assert 'id="silence-similar"' not in page.text
    forged = ann.session.post(
        f"{ann.url}/incidents/{a1}/note", data={"text": "x"}, allow_redirects=False, timeout=5
    )
    assert forged.status_code == 403, "a customer's form needs its CSRF token too"
    assert ann.call("POST", f"/incidents/{a1}/resolve", data={}).status_code == 403


def test_customer_rules_must_name_a_route_with_the_parameter_they_confine(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = world.running.collector.asgi.routes
    check_rules(routes)
    monkeypatch.setitem(CUSTOMER_RULES, ("GET", "/api/v1/nothing"), Scoped.FILTERED)
    with pytest.raises(ValueError, match="GET /api/v1/nothing"):
        check_rules(routes)
    monkeypatch.delitem(CUSTOMER_RULES, ("GET", "/api/v1/nothing"))
    monkeypatch.setitem(CUSTOMER_RULES, ("GET", "/api/v1/hosts"), Scoped.HOST)
    with pytest.raises(ValueError, match="confine no endpoint: GET /api/v1/hosts"):
        check_rules(routes)


def test_a_customer_missing_from_the_customers_file_sees_nothing(tmp_path: Path) -> None:
    running = RunningCollector(
        tmp_path,
        FakeClock(),
        api_tokens=[
            ApiToken(name="lost", token="lost-token-9z", role="customer", customer="initech")
        ],
    )
    try:
        assert running.post(host_report("acme-web1", running.clock, 1)).ok
        lost = {"Authorization": "Bearer lost-token-9z"}
        url = running.url
        assert requests.get(f"{url}/api/v1/hosts", headers=lost, timeout=5).json() == []
        assert requests.get(f"{url}/api/v1/incidents", headers=lost, timeout=5).json() == []
        assert requests.get(f"{url}/api/v1/whoami", headers=lost, timeout=5).json()["customer"] == (
            "initech"
        )
        assert requests.get(f"{url}/api/v1/hosts", headers=ADMIN_HEADERS, timeout=5).json()
    finally:
        running.stop()


def test_the_api_document_says_what_role_customer_gets(world: World) -> None:
    acme = world.callers[0]
    paths = acme.call("GET", "/api/v1/openapi.json").json()["paths"]
    detail = paths["/api/v1/incidents/{reference}"]["get"]["description"]
    assert "Role customer: only its own customer's incidents (another's is a 404)." in detail
    act = paths["/api/v1/incidents/{reference}/{action}"]["post"]["description"]
    assert act.endswith("verbs ack, notes, verify.")
    assert "Refused to role customer (403)." in paths["/api/v1/silences"]["get"]["description"]

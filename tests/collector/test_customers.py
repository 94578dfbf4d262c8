"""Customers and VIPs: the example file loads, hosts find their customer by label or name
pattern, and a VIP's incident opens one priority higher (never above P1) — in the pure
lifecycle and in a running collector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.config import ApiToken
from collector.incidents.customers import CustomerBook, load_customers, raised
from collector.incidents.events import PersonOpened, RuleFired
from collector.incidents.model import Incident
from collector.incidents.plan import ResponsePlan
from collector.incidents.transitions import LifecyclePolicy, transition
from rules.loader import RuleLoadError
from rules.priority import Priority
from tests.collector.harness import FakeClock, RunningCollector

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "customers.example.yaml"
BOOK = CustomerBook.model_validate(
    {
        "customers": [
            {"name": "acme", "vip": True, "hosts": ["acme-*"],
             "contacts": [{"name": "Li", "email": "li@acme.cn", "language": "zh"}]},
            {"name": "plain", "hosts": ["plain-*", "acme-legacy"]},
        ]
    }
)  # fmt: skip


def test_the_annotated_example_loads_through_the_model() -> None:
    book = load_customers(EXAMPLE)
    acme = book.named("acme")
    assert acme is not None and acme.vip and acme.sla.availability == 99.9
    assert acme.contacts[0].language == "zh" and acme.owns("db-acme-1")


@pytest.mark.parametrize(
    ("before", "after"),
    [(Priority.P4, Priority.P3), (Priority.P3, Priority.P2), (Priority.P2, Priority.P1),
     (Priority.P1, Priority.P1)],
    ids=["P4", "P3", "P2", "P1-stays"],
)  # fmt: skip
def test_a_vip_raises_one_level_never_above_p1(before: Priority, after: Priority) -> None:
    assert raised(before) is after


def fired(host: str, priority: Priority = Priority.P3, **labels: str) -> RuleFired:
    return RuleFired("k", "DiskSlow", host, labels, priority, "slow", "", 0.9, "x")


@pytest.mark.parametrize(
    ("event", "customer"),
    [
        (fired("acme-web1"), "acme"),
        (fired("plain-db1"), "plain"),
        (fired("plain-db1", customer="acme"), "acme"),  # the agent's label wins
        (fired("acme-web1", customer="unknown"), None),
        (fired("other"), None),
    ],
    ids=["pattern", "other-pattern", "label-wins", "unknown-label", "nobody"],
)
def test_an_incident_finds_its_customer_by_label_then_host_pattern(
    event: RuleFired, customer: str | None
) -> None:
    opened = transition(None, event, 0.0, LifecyclePolicy())
    assert opened is not None
    found = BOOK.customer_of(opened.incident)
    assert (found.name if found else None) == customer


def test_a_vip_incident_opens_one_level_higher_and_gets_that_priority_plan() -> None:
    planned: list[Priority] = []

    def plan_for(incident: Incident) -> ResponsePlan | None:
        planned.append(incident.priority)
        return None

    policy = LifecyclePolicy(adjust_priority=BOOK.adjust_priority, plan_for=plan_for)
    vip = transition(None, fired("acme-web1"), 0.0, policy)
    assert vip is not None and vip.incident.priority is Priority.P2
    assert vip.detail == "x; raised from P3 to P2 (VIP customer)" and planned == [Priority.P2]
    plain = transition(None, fired("plain-db1"), 0.0, policy)
    assert plain is not None and plain.incident.priority is Priority.P3
    top = transition(None, fired("acme-web1", Priority.P1), 0.0, policy)
    assert top is not None and top.incident.priority is Priority.P1 and top.detail == "x"
    by_person = transition(
        None, PersonOpened("bob", "site down", Priority.P4, hosts=("acme-1",)), 0.0, policy
    )
    assert by_person is not None and by_person.incident.priority is Priority.P3


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("customers:\n  - name: a\n  - name: a\n", "given twice: a"),
        ("customers:\n  - name: a\n    contacts:\n      - name: x\n", "needs an email or a phone"),
        ("customers:\n  - name: a\n    vip: true\n    colour: red\n", ":4: customers[0].colour"),
        ("- a\n", "the customers file is a mapping"),
    ],
    ids=["duplicate", "unreachable-contact", "unknown-key", "not-a-mapping"],
)
def test_a_bad_customers_file_is_refused_naming_file_and_line(
    tmp_path: Path, text: str, words: str
) -> None:
    path = tmp_path / "customers.yaml"
    path.write_text(text)
    with pytest.raises(RuleLoadError) as refused:
        load_customers(path)
    assert words in str(refused.value) and str(path) in str(refused.value)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningCollector]:
    customers = tmp_path / "customers.yaml"
    customers.write_text("customers:\n  - name: acme\n    vip: true\n    hosts: ['acme-*']\n")
    collector = RunningCollector(
        tmp_path,
        FakeClock(),
        channels=[],
        api_tokens=[ApiToken(name="alice", token="alice-secret-1")],  # type: ignore[arg-type]
        customers=customers,
    )
    yield collector
    collector.stop()


def test_a_running_collector_opens_a_vip_p3_as_p2(running: RunningCollector) -> None:
    headers = {"Authorization": "Bearer alice-secret-1"}
    url = f"{running.url}/api/v1/incidents"
    body = {"title": "orders slow", "priority": "P3", "hosts": ["acme-shop1"]}
    vip = running.session.post(url, json=body, headers=headers, timeout=5).json()
    other = running.session.post(
        url, json={**body, "hosts": ["intranet1"]}, headers=headers, timeout=5
    ).json()
    assert (vip["priority"], other["priority"]) == ("P2", "P3")
    opened = running.get(f"/api/v1/incidents/{vip['number']}")["timeline"][0]
    assert opened["name"] == "OPEN" and "raised from P3 to P2 (VIP customer)" in opened["detail"]

"""The incident page's root-cause form (a P1 closes only with one), wait and resume, the
"waiting" filter, the customer's page and API without staff-only fields, and the silence form's
preview of what it would hold back."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from collector.auth.roles import Role
from tests.collector.harness import ADMIN_HEADERS, FakeClock, RunningCollector, host_report
from tests.collector.web.conftest import PASSWORD, Browser, open_incident

ROOT_CAUSE = {
    "cause": "a full /var stopped the database",
    "fix": "log rotation fixed",
    "category": "configuration",
    "action_action": "alert at 80 % of /var",
    "action_owner": "carol",
    "action_due": "2027-01-15",
}


def test_a_p1_closes_after_its_root_cause_is_recorded_through_the_form(
    running: RunningCollector, carol: Browser
) -> None:
    number = open_incident(running, "database down", priority="P1")["number"]
    assert 'id="form-root-cause"' in carol.get(f"/incidents/{number}").text
    for verb in ("ack", "resolve"):
        assert carol.submit(f"/incidents/{number}/{verb}").status_code == 303
    refused = carol.submit(f"/incidents/{number}/close")
    assert refused.status_code == 409 and "root cause" in refused.text.lower()
    wrong = carol.submit(f"/incidents/{number}/root-cause", **{**ROOT_CAUSE, "action_due": "soon"})
    assert wrong.status_code == 400 and "due" in wrong.text
    recorded = carol.submit(f"/incidents/{number}/root-cause", **ROOT_CAUSE)
    assert recorded.status_code == 303, recorded.text[:300]
    page = carol.get(f"/incidents/{number}").text
    assert 'id="root-cause-record"' in page and "alert at 80 % of /var" in page
    assert carol.submit(f"/incidents/{number}/close").status_code == 303
    closed = carol.get(f"/incidents/{number}").text
    assert 'data-state="closed"' in closed and 'id="form-root-cause"' not in closed


def test_a_p3_has_no_root_cause_form(running: RunningCollector, carol: Browser) -> None:
    number = open_incident(running, "slow page", priority="P3")["number"]
    assert 'id="form-root-cause"' not in carol.get(f"/incidents/{number}").text


def test_waiting_on_the_customer_and_resuming_through_the_forms(
    running: RunningCollector, carol: Browser
) -> None:
    number = open_incident(running, "mail bounces", priority="P3")["number"]
    assert carol.submit(f"/incidents/{number}/ack").status_code == 303
    assert 'id="form-wait"' in carol.get(f"/incidents/{number}").text
    assert carol.submit(f"/incidents/{number}/wait", note="which sender?").status_code == 303
    page = carol.get(f"/incidents/{number}").text
    assert 'data-state="waiting"' in page and 'id="form-resume"' in page
    listed = carol.get("/incidents?state=waiting&lang=zh").text
    assert (
        f'data-number="{number}"' in listed
        and '<option value="waiting" selected>等待客户' in listed
    )
    assert carol.submit(f"/incidents/{number}/resume").status_code == 303
    assert 'data-state="acknowledged"' in carol.get(f"/incidents/{number}").text
    assert f'data-number="{number}"' not in carol.get("/incidents?state=waiting").text


def test_a_customer_reads_its_ticket_without_staff_only_fields(
    tmp_path: Path, clock: FakeClock
) -> None:
    (tmp_path / "customers.yaml").write_text('customers:\n  - name: acme\n    hosts: ["acme-*"]\n')
    running = RunningCollector(tmp_path, clock, customers=tmp_path / "customers.yaml")
    try:
        running.collector.access.add_user("carol", PASSWORD, Role.RESPONDER)
        running.collector.access.add_user("cust", PASSWORD, Role.CUSTOMER, "acme")
        number = open_incident(running, "acme shop down", priority="P2", hosts=["acme-web1"])[
            "number"
        ]
        carol = Browser(running, "carol")
        assert (
            carol.submit(f"/incidents/{number}/assign", assignee="dave-oncall").status_code == 303
        )
        staff_page = carol.get(f"/incidents/{number}").text
        assert "dave-oncall" in staff_page and 'id="assignee"' in staff_page
        customer = Browser(running, "cust")
        page = customer.get(f"/incidents/{number}").text
        assert "acme shop down" in page
        assert "dave-oncall" not in page and 'id="assignee"' not in page
        assert 'id="escalation"' not in page and "silence-similar" not in page
        session = customer.session
        detail = session.get(f"{running.url}/api/v1/incidents/{number}", timeout=5).json()
        assert not {"assignee", "policy", "escalation_tier", "labels"} & set(detail)
        assert all(e["name"] != "ASSIGN" and e["data"] is None for e in detail["timeline"])
        [listed] = session.get(f"{running.url}/api/v1/incidents", timeout=5).json()
        assert "assignee" not in listed
        staff = requests.get(
            f"{running.url}/api/v1/incidents/{number}", headers=ADMIN_HEADERS, timeout=5
        ).json()
        assert staff["assignee"] == "dave-oncall", "staff still read every field"
    finally:
        running.stop()


def test_the_silence_preview_lists_what_it_would_hold_back_and_stores_nothing(
    running: RunningCollector, clock: FakeClock, carol: Browser
) -> None:
    for sequence, host in enumerate(("web1", "web2", "db1"), 1):
        assert running.post(host_report(host, clock, sequence, memory_used_ratio=0.1)).ok
    web = open_incident(running, "web1 slow", hosts=["web1"], priority="P3")["number"]
    db = open_incident(running, "db1 slow", hosts=["db1"], priority="P3")["number"]
    shown = carol.submit(
        "/silences/preview", matchers="host=~web.*", duration="1h", reason="deploy"
    )
    assert shown.status_code == 200
    preview = re.search(r'id="preview">.*?</section>', shown.text, re.S)
    assert preview and web in preview.group() and db not in preview.group()
    assert '<span id="preview-hosts">web1, web2</span>' in preview.group()
    assert "host=~web.*</textarea>" in shown.text, "the form keeps what was typed"
    listed = requests.get(f"{running.url}/api/v1/silences", headers=ADMIN_HEADERS, timeout=5)
    assert listed.json() == [], "a preview stores nothing"
    bad = carol.submit("/silences/preview", matchers="web1", duration="1h", reason="x")
    assert bad.status_code == 400 and "is not label=value" in bad.text
    assert carol.submit("/silences/preview", csrf="forged", matchers="host=web1").status_code == 403


def test_the_incident_page_shows_known_fixes_to_staff_only(
    running: RunningCollector, carol: Browser
) -> None:
    entry = {
        "title": "Payroll export stuck",
        "cause": "SFTP host key changed at the bank",
        "fix": "accepted the new host key after calling the bank",
    }
    answer = requests.post(f"{running.url}/api/v1/kb", json=entry, headers=ADMIN_HEADERS, timeout=5)
    assert answer.status_code == 201, answer.text
    number = open_incident(running, "payroll export stuck again", priority="P3")["number"]
    page = carol.get(f"/incidents/{number}?lang=zh").text
    found = re.search(r'id="kb-matches">.*?</ul>', page, re.S)
    assert found and "accepted the new host key" in found.group() and "已知的修复方法" in page

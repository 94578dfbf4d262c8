"""The overview's on-call panel and its "last hour": who is on call in each schedule now, and
what happened to incidents in the last hour, newest first; a customer sees only its own
tickets' changes, without our own process's entries, and no on-call panel. Staff filter the
incident list by customer."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from collector.auth.roles import Role
from tests.collector.harness import ADMIN_HEADERS, FakeClock, RunningCollector
from tests.collector.web.conftest import PASSWORD, Browser, open_incident

# The harness clock starts at 2027-01-15 08:00 UTC.
RESPONSE = """\
people:
  - {id: wang-wei, name: 王伟}
  - {id: alice, name: Alice}
schedules:
  - id: primary
    name: Platform primary
    timezone: Asia/Shanghai
    layers:
      - {participants: [wang-wei, alice], start: "2027-01-11T09:00", length: weekly}
"""
CUSTOMERS = 'customers:\n  - name: acme\n    hosts: ["acme-*"]\n'


def started(tmp_path: Path, clock: FakeClock) -> RunningCollector:
    (tmp_path / "response.yaml").write_text(RESPONSE)
    (tmp_path / "customers.yaml").write_text(CUSTOMERS)
    running = RunningCollector(
        tmp_path,
        clock,
        response=tmp_path / "response.yaml",
        customers=tmp_path / "customers.yaml",
    )
    running.collector.access.add_user("carol", PASSWORD, Role.RESPONDER)
    running.collector.access.add_user("cust", PASSWORD, Role.CUSTOMER, "acme")
    return running


def act(running: RunningCollector, number: str, verb: str, **body: str) -> None:
    answer = requests.post(
        f"{running.url}/api/v1/incidents/{number}/{verb}",
        json=body,
        headers=ADMIN_HEADERS,
        timeout=5,
    )
    assert answer.status_code == 200, answer.text


def changes_of(page: str) -> list[tuple[str, str]]:
    table = re.search(r'<table class="list" id="changes">.*?</table>', page, re.S)
    assert table is not None, "the last hour is listed"
    rows = re.findall(
        r'href="/incidents/([^"]+)">.*?<td data-label="What">(\w+)</td>', table[0], re.S
    )
    return [(number, what) for number, what in rows]


def test_the_overview_says_who_is_on_call_and_what_changed_in_the_last_hour(
    tmp_path: Path, clock: FakeClock
) -> None:
    running = started(tmp_path, clock)
    try:
        old = open_incident(running, "yesterday's disk", priority="P3")["number"]
        clock.advance(2 * 3600)  # its opening is over an hour ago now
        ours = open_incident(running, "acme shop down", hosts=["acme-web1"])["number"]
        theirs = open_incident(running, "globex mail slow", hosts=["globex-mx1"])
        clock.advance(60)
        act(running, ours, "ack", note="looking")
        act(running, ours, "assign", assignee="carol")
        carol = Browser(running, "carol")
        page = carol.get("/").text
        panel = re.search(r'<ul class="card" id="on-call-now">.*?</ul>', page, re.S)
        assert panel is not None and "Platform primary" in panel[0] and "王伟" in panel[0]
        assert "until 2027-01-18 01:00 UTC" in panel[0], "the 09:00 Shanghai hand-off, in UTC"
        staff = changes_of(page)
        assert staff[:3] == [(ours, "ASSIGN"), (ours, "ACK"), (theirs["number"], "OPEN")]
        assert (old, "OPEN") not in staff, "over an hour ago"
        assert changes_of(carol.get("/overview/live").text) == staff, "the polled fragment too"

        customer = Browser(running, "cust").get("/").text
        assert changes_of(customer) == [(ours, "ACK"), (ours, "OPEN")], "its own, no ASSIGN"
        assert 'id="on-call-now"' not in customer and theirs["number"] not in customer

        # Staff narrow the incident list to one customer's tickets, as that customer sees them.
        listing = carol.get("/incidents?state=all&customer=acme").text
        assert ours in listing and theirs["number"] not in listing and old not in listing
        assert "<option selected>acme</option>" in listing
        assert theirs["number"] in carol.get("/incidents?state=all").text

        clock.advance(2 * 3600)
        later = Browser(running, "carol").get("/?lang=zh").text
        assert "最近一小时" in later
        gone = {(ours, "ACK"), (ours, "ASSIGN"), (theirs["number"], "OPEN")}
        # (SLA clocks may have run out since: those are changes of this hour)
        assert 'id="no-changes"' in later or not gone & set(changes_of(later)), "an hour on"
    finally:
        running.stop()

"""A customer-reported ticket and the monitoring incident it is about: the matching incident
(same host named, or a host of that customer, open at about the same time) is suggested on
the ticket, and a responder links them."""

from __future__ import annotations

from pathlib import Path

from collector.incidents.events import PersonOpened, Resolve, RuleFired
from collector.incidents.model import Incident
from rules.priority import Priority
from tests.collector.harness import FakeClock, RunningCollector
from tests.collector.intake.conftest import ALICE, start_collector
from tests.peers.smtp import SmtpServer

HOUR = 3600.0


def fire(running: RunningCollector, host: str) -> Incident:
    event = RuleFired(
        key=f"DiskFull:{host}", rule="DiskFull", host=host, labels={}, priority=Priority.P2,
        summary=f"/ is 97% full on {host}", description="", value=97.0, reason="97 > 95",
    )  # fmt: skip
    found = running.collector.incidents.apply_rule(event)
    assert found is not None
    return found


def ticket(running: RunningCollector, title: str, hosts: tuple[str, ...] = ()) -> Incident:
    event = PersonOpened(
        actor="mail:lilei@acme.example.cn", title=title, priority=Priority.P3, hosts=hosts,
        labels={"customer": "acme", "via": "email"},
    )  # fmt: skip
    return running.collector.incidents.open(event)


def test_the_matching_incident_is_suggested_and_a_responder_links_it(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    clock = FakeClock()
    running = start_collector(tmp_path, clock, smtp)
    try:
        old = fire(running, "acme-web1")
        running.collector.incidents.act(old.number, Resolve("alice"))
        clock.advance(3 * 24 * HOUR)  # long over when the customer writes
        db = fire(running, "acme-db1")
        other = fire(running, "other-1")
        clock.advance(10 * 60)
        theirs = ticket(running, "Orders fail")
        named = ticket(running, "other-1 is full", ("other-1",))

        view = running.get(f"/api/v1/incidents/{theirs.number}")
        assert [s["number"] for s in view["suggested_links"]] == [db.number]
        assert view["links"] == [] and view["satisfaction"] is None
        by_host = running.get(f"/api/v1/incidents/{named.number}")
        assert [s["number"] for s in by_host["suggested_links"]] == [other.number]

        url = f"{running.url}/api/v1/incidents/{theirs.number}/links"
        made = running.session.post(url, json={"incident": db.number}, headers=ALICE, timeout=5)
        assert made.status_code == 200 and made.json()["added"] is True
        again = running.session.post(url, json={"incident": db.number}, headers=ALICE, timeout=5)
        assert again.json()["added"] is False
        itself = running.session.post(
            url, json={"incident": theirs.number}, headers=ALICE, timeout=5
        )
        assert itself.status_code == 400
        missing = running.session.post(
            url, json={"incident": "INC-1999-9"}, headers=ALICE, timeout=5
        )
        assert missing.status_code == 404

        linked = running.get(f"/api/v1/incidents/{theirs.number}")
        assert [x["number"] for x in linked["links"]] == [db.number]
        assert linked["suggested_links"] == []
        notes = [e["detail"] for e in linked["timeline"] if e["name"] == "NOTE"]
        assert notes == [f"linked to {db.number} (/ is 97% full on acme-db1)"]
        back = running.get(f"/api/v1/incidents/{db.number}")
        assert [x["number"] for x in back["links"]] == [theirs.number]
    finally:
        running.stop()

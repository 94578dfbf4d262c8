"""The response process on /metrics: active incidents by priority, state, source and customer,
alerts taken per integration, and how late each channel's oldest due message is."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from collector.config import IntegrationToken
from collector.store.database import migrate, open_database
from collector.store.outbox import OutboxStore, enqueue
from tests.collector.harness import ADMIN_HEADERS, FakeClock, RunningCollector
from tests.peers import promtool_problems

AM_TOKEN = "am-token-metrics-4e1c"
CUSTOMERS = """customers:
  - {name: acme, hosts: ['web-*'], contacts: [{name: Ops, email: ops@acme.example}]}
"""
ALERT = {
    "version": "4",
    "status": "firing",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Down", "instance": "db-01:9100", "severity": "critical"},
            "fingerprint": "f1",
        }
    ],
}


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningCollector]:
    (tmp_path / "customers.yaml").write_text(CUSTOMERS)
    collector = RunningCollector(
        tmp_path,
        FakeClock(),
        customers=tmp_path / "customers.yaml",
        integrations=[IntegrationToken(name="prom", kind="alertmanager", token=AM_TOKEN)],  # type: ignore[arg-type]
    )
    yield collector
    collector.stop()


def sample(page: str, name: str, **labels: str) -> float | None:
    for line in page.splitlines():
        found = re.match(rf"^{name}{{(.*)}} (\S+)$", line)
        if found and all(f'{k}="{v}"' in found.group(1) for k, v in labels.items()):
            return float(found.group(2))
    return None


def test_incidents_and_integration_alerts_are_counted(running: RunningCollector) -> None:
    url = f"{running.url}/api/v1/integrations/alertmanager"
    headers = {"Authorization": f"Bearer {AM_TOKEN}"}
    assert requests.post(url, json=ALERT, headers=headers, timeout=5).status_code == 200
    opened = running.session.post(
        f"{running.url}/api/v1/incidents",
        json={"title": "site slow", "priority": "P2", "hosts": ["web-01"]},
        headers=ADMIN_HEADERS,
        timeout=5,
    )
    assert opened.status_code == 201, opened.text
    page = running.fetch("/metrics").text
    name = "watchkeeper_active_incidents"
    alert = sample(page, name, priority="P1", state="triggered", source="alert", customer="")
    person = sample(page, name, priority="P2", state="triggered", source="person", customer="acme")
    assert (alert, person) == (1.0, 1.0)
    taken = sample(
        page, "watchkeeper_integration_alerts_total", integration="prom", status="firing"
    )
    assert taken == 1.0
    assert promtool_problems(page) == ""  # lint included


def test_the_oldest_due_message_per_channel(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'o.db'}")
    migrate(engine)
    rows = [
        {"idempotency_key": k, "incident_id": None, "channel": c, "event": "opened",
         "payload": {}, "due_at": due, "group_key": None}
        for k, c, due in [("a", "mail", 100.0), ("b", "mail", 160.0), ("c", "sms", 400.0)]
    ]  # fmt: skip
    with engine.begin() as conn:
        enqueue(conn, rows, 100.0)
    # At 300 s the mail channel's oldest message has been due for 200 s; sms is not due yet.
    assert OutboxStore(engine).oldest_due(300.0) == {"mail": 100.0}

"""Alertmanager's webhook (recorded bodies) through a real collector: one incident per
fingerprint, priority and host from the integration's mapping, resolved when Alertmanager
says so; tokens are per integration and per kind; bad bodies are refused with the reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from collector.config import IntegrationToken
from rules.priority import Priority
from tests.collector.harness import ADMIN_HEADERS, API_TOKEN, TOKEN, FakeClock, RunningCollector

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "alertmanager"
AM_TOKEN = "am-token-5d21"
OTHER_TOKEN = "am-token-of-beta-0a9e"


def payload(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


INTEGRATIONS = [
    IntegrationToken(
        name="prom-acme",
        kind="alertmanager",
        token=AM_TOKEN,  # type: ignore[arg-type]
        labels={"customer": "acme"},
    ),
    IntegrationToken(
        name="prom-beta",
        kind="alertmanager",
        token=OTHER_TOKEN,  # type: ignore[arg-type]
        priority_label="tier",
        priorities={"gold": Priority.P2},
        default_priority=Priority.P4,
        host_labels=["mountpoint"],
    ),
]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningCollector]:
    collector = RunningCollector(tmp_path, FakeClock(), integrations=INTEGRATIONS)
    yield collector
    collector.stop()


def post(
    running: RunningCollector, body: Any, token: str = AM_TOKEN, kind: str = "alertmanager"
) -> requests.Response:
    return running.session.post(
        f"{running.url}/api/v1/integrations/{kind}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def alert_incidents(running: RunningCollector) -> dict[str, dict[str, Any]]:
    found = running.get("/api/v1/incidents?state=all")
    return {i["host"]: i for i in found if i["source"] == "alert"}


def test_each_alert_opens_an_incident_mapped_by_the_integration(
    running: RunningCollector,
) -> None:
    answer = post(running, payload("firing.json"))
    assert answer.status_code == 200, answer.text
    assert [a["state"] for a in answer.json()["alerts"]] == ["triggered", "triggered"]
    found = alert_incidents(running)
    assert set(found) == {"db-01.example.net", "2001:db8::7"}  # instance without its port
    warning, critical = found["db-01.example.net"], found["2001:db8::7"]
    assert (warning["priority"], critical["priority"]) == ("P3", "P1")
    assert warning["rule"] == "prom-acme/NodeFilesystemAlmostFull"
    assert warning["summary"] == "Filesystem /var/lib/postgresql on db-01 has 4% space left"
    assert warning["description"] == "Filesystem is 96% full."
    assert warning["labels"]["customer"] == "acme"  # the integration's routing label
    assert warning["labels"]["integration"] == "prom-acme"


def test_a_repeated_alert_is_one_incident_and_resolved_ends_it(running: RunningCollector) -> None:
    post(running, payload("firing.json"))
    again = post(running, payload("firing.json"))
    assert [a["state"] for a in again.json()["alerts"]] == ["unchanged", "unchanged"]
    answer = post(running, payload("one_resolved.json"))
    assert [a["state"] for a in answer.json()["alerts"]] == ["unchanged", "resolved"]
    found = alert_incidents(running)
    assert len(running.get("/api/v1/incidents?state=all")) == 2
    assert found["db-01.example.net"]["state"] == "resolved"
    assert found["2001:db8::7"]["state"] == "triggered"
    reopened = post(running, payload("firing.json")).json()["alerts"]
    assert reopened[1]["incident"] == found["db-01.example.net"]["number"]  # same ticket back
    assert reopened[1]["state"] == "triggered"


def test_the_routing_labels_win_over_the_alerts_own(running: RunningCollector) -> None:
    body = payload("firing.json")
    body["alerts"][1]["labels"]["customer"] = "someone-else"
    post(running, body)
    assert alert_incidents(running)["db-01.example.net"]["labels"]["customer"] == "acme"


def test_priority_and_host_labels_are_configurable(running: RunningCollector) -> None:
    body = payload("firing.json")
    body["alerts"][1]["labels"]["tier"] = "Gold"  # the /var/lib/postgresql one
    post(running, body, token=OTHER_TOKEN)
    found = alert_incidents(running)
    assert found["/var/lib/postgresql"]["priority"] == "P2"  # tier: Gold -> P2
    assert found["/"]["priority"] == "P4"  # no tier (severity: critical is no tier): default
    assert found["/"]["rule"] == "prom-beta/NodeFilesystemAlmostFull"


def test_the_same_fingerprint_from_two_integrations_is_two_incidents(
    running: RunningCollector,
) -> None:
    post(running, payload("firing.json"))
    post(running, payload("firing.json"), token=OTHER_TOKEN)
    assert len(running.get("/api/v1/incidents?state=all")) == 4


@pytest.mark.parametrize(
    "token", [None, "wrong", TOKEN, API_TOKEN], ids=["none", "unknown", "agent", "api"]
)
def test_only_an_integration_token_is_taken(running: RunningCollector, token: str | None) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    answer = running.session.post(
        f"{running.url}/api/v1/integrations/alertmanager",
        json=payload("firing.json"),
        headers=headers,
        timeout=5,
    )
    assert answer.status_code == 401
    assert "alertmanager integration" in answer.json()["error"]["message"]
    assert alert_incidents(running) == {}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"version": "3"}, "version"),
        ({"alerts": [{"status": "firing"}]}, "alerts.0.labels"),
        ({"alerts": [{"status": "burning", "labels": {"alertname": "x"}}]}, "alerts.0.status"),
    ],
    ids=["version", "no-labels", "bad-status"],
)
def test_a_bad_payload_is_refused_naming_the_field(
    running: RunningCollector, change: dict[str, Any], named: str
) -> None:
    answer = post(running, {**payload("firing.json"), **change})
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert message.startswith("not a alertmanager payload") and named in message


def test_alert_incidents_survive_a_restart(tmp_path: Path) -> None:
    first = RunningCollector(tmp_path, FakeClock(), integrations=INTEGRATIONS)
    post(first, payload("firing.json"))
    first.stop()
    second = RunningCollector(tmp_path, FakeClock(), integrations=INTEGRATIONS)
    try:
        # Not "rule no longer loaded": only Alertmanager resolves its alerts.
        states = {i["state"] for i in alert_incidents(second).values()}
        assert states == {"triggered"}
    finally:
        second.stop()


def test_integration_tokens_are_taken_again_on_reload(running: RunningCollector) -> None:
    """SIGHUP calls reload_tokens (tests/collector/test_reload.py): a removed integration's
    token is refused from then on, a new one is taken."""
    new = IntegrationToken(name="prom-new", kind="alertmanager", token="am-new-token-77d0")  # type: ignore[arg-type]
    edited = running.config.model_copy(update={"integrations": [new]})
    running.collector.reload_tokens(edited)
    assert post(running, payload("firing.json")).status_code == 401
    answer = post(running, payload("firing.json"), token="am-new-token-77d0")
    assert answer.status_code == 200 and answer.json()["integration"] == "prom-new"


def test_an_alert_whose_severity_changes_regrades_its_incident(running: RunningCollector) -> None:
    body = payload("firing.json")
    post(running, body)
    number = alert_incidents(running)["db-01.example.net"]["number"]
    body["alerts"][1]["labels"]["severity"] = "critical"  # the filesystem got worse
    answer = post(running, body).json()["alerts"]
    assert answer[1]["state"] == "triggered" and answer[1]["incident"] == number
    incident = running.get(f"/api/v1/incidents/{number}")
    assert incident["priority"] == "P1"
    regrade = [e for e in incident["timeline"] if e["name"] == "REGRADE"]
    assert [e["detail"] for e in regrade] == ["P3 -> P1: the source's severity changed (P3 -> P1)"]
    assert [a["state"] for a in post(running, body).json()["alerts"]] == ["unchanged"] * 2
    person = running.session.post(
        f"{running.url}/api/v1/incidents/{number}/regrade",
        json={"priority": "P2", "reason": "only a log volume"},
        headers=ADMIN_HEADERS,
        timeout=5,
    )
    assert person.status_code == 200, person.text
    post(running, body)
    assert running.get(f"/api/v1/incidents/{number}")["priority"] == "P2", "the person's stays"
    body["alerts"][1]["labels"]["severity"] = "warning"  # the source changes its mind again
    post(running, body)
    assert running.get(f"/api/v1/incidents/{number}")["priority"] == "P3"

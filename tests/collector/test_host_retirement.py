"""An admin retires a host over the API: it leaves /metrics, the host list and the rule engine
at once, its open rule incidents are resolved with a note, a restart does not bring it back,
and a report under its name later makes it a new host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from collector.config import ApiToken
from collector.hosts_cli import hosts_command
from rules.loader import RuleSet, load_rules
from tests.collector.conftest import postgres_schema
from tests.collector.harness import ADMIN_HEADERS, FakeClock, RunningCollector, host_report
from tests.peers import promtool_problems

RULES = """\
group: t
rules:
  - name: MemoryHigh
    priority: P3
    metric: memory_used_ratio
    above: 0.9
    summary: "memory {{ value }}"
  - name: LoadHigh
    priority: P3
    metric: load1
    above: 10
    for: 10m
    summary: "load {{ value }}"
  - name: Silent
    priority: P2
    absent: 2m
    summary: "{{ host }} silent"
"""
RESPONDER_TOKEN = "retire-responder-token-4e1a"


@pytest.fixture
def rules(tmp_path: Path) -> RuleSet:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return load_rules([path], include_builtin=False)


def _delete(running: RunningCollector, path: str, **headers: str) -> requests.Response:
    sent = {**ADMIN_HEADERS, **headers} if "Authorization" not in headers else headers
    return requests.delete(f"{running.url}{path}", headers=sent, timeout=10)


def _exported_hosts(running: RunningCollector) -> set[str]:
    """The host label of every sample /metrics exposes, parsed as Prometheus would."""
    text = running.fetch("/metrics").text
    return {
        sample.labels["host"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if "host" in sample.labels
    }


def _incidents(running: RunningCollector, state: str = "all") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = running.get(f"/api/v1/incidents?state={state}")
    return found


def test_retiring_a_host_forgets_it_and_resolves_its_rule_incidents(
    tmp_path: Path, clock: FakeClock, rules: RuleSet
) -> None:
    running = RunningCollector(tmp_path, clock, rules=rules)
    try:
        assert running.post(host_report("web1", clock, 1, memory_used_ratio=0.95, load1=12.0)).ok
        assert running.post(host_report("web2", clock, 1, memory_used_ratio=0.2)).ok
        [memory] = [i for i in _incidents(running, "active") if i["rule"] == "MemoryHigh"]
        ticket = requests.post(
            f"{running.url}/api/v1/incidents",
            json={"title": "web1 needs new disks", "hosts": ["web1"], "priority": "P4"},
            headers=ADMIN_HEADERS,
            timeout=5,
        ).json()
        assert _exported_hosts(running) == {"web1", "web2"}  # cached for a second from here

        answer = _delete(running, "/api/v1/hosts/web1?reason=decommissioned")

        assert answer.status_code == 200, answer.text
        done = answer.json()
        assert (done["host"], done["retired_by"], done["reason"]) == (
            "web1",
            "harness-admin",
            "decommissioned",
        )
        assert (done["incidents_resolved"], done["resolved"]) == (1, [memory["number"]])
        assert done["left_open"] == [ticket["number"]], "a person's ticket stays open"
        assert done["rule_series_dropped"] == 2  # MemoryHigh firing, LoadHigh pending
        assert _exported_hosts(running) == {"web2"}, "gone from /metrics at once, not cached"
        assert [h["name"] for h in running.get("/api/v1/hosts")] == ["web2"]
        assert running.fetch("/api/v1/hosts/web1/inventory").status_code == 404

        resolved = running.get(f"/api/v1/incidents/{memory['number']}")
        assert resolved["state"] == "resolved"
        last = resolved["timeline"][-1]
        assert (last["name"], last["actor"]) == ("RESOLVE", "harness-admin")
        assert last["detail"] == "host web1 retired by harness-admin: decommissioned"
        assert running.get(f"/api/v1/incidents/{ticket['number']}")["state"] == "triggered"

        audit = running.get("/api/v1/audit")
        entry = next(e for e in audit if e["action"] == "RETIRE host web1")
        assert "reason: decommissioned" in entry["detail"] and memory["number"] in entry["detail"]

        clock.advance(3600)  # the pending LoadHigh's for: and the silence window both pass
        running.tick()
        active = _incidents(running, "active")
        assert [i["host"] for i in active if i["source"] == "rule"] == ["web2"]
        assert [i["rule"] for i in active if i["source"] == "rule"] == ["Silent"]
        assert _delete(running, "/api/v1/hosts/web1").status_code == 404, "already retired"
    finally:
        running.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None: the harness's SQLite file; else a throwaway PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    with postgres_schema() as url:
        yield url


def test_a_restart_keeps_it_retired_and_a_new_report_brings_it_back_as_new(
    tmp_path: Path, clock: FakeClock, rules: RuleSet, database: str | None
) -> None:
    first = RunningCollector(tmp_path, clock, rules=rules, database=database)
    try:
        assert first.post(host_report("db1", clock, 1, load1=12.0)).ok  # LoadHigh pending
        first.collector.flush()
        first.collector.checkpoint()  # the row and the pending breach are stored
        assert _delete(first, "/api/v1/hosts/db1").status_code == 200
    finally:
        first.stop()  # saves host states and checkpoints again
    clock.advance(3600)
    second = RunningCollector(tmp_path, clock, rules=rules, database=database)
    try:
        assert second.get("/api/v1/hosts") == []
        second.tick()  # neither the silence watch nor the pending LoadHigh came back
        assert _incidents(second, "active") == []
        assert "db1" not in _exported_hosts(second)
        clock.advance(60)
        assert second.post(host_report("db1", clock, 1, load1=1.0)).ok
        [back] = second.get("/api/v1/hosts")
        assert back["name"] == "db1" and back["first_seen"] == back["last_seen"]
    finally:
        second.stop()


def test_only_an_admin_retires_a_known_host(tmp_path: Path, clock: FakeClock) -> None:
    responder = ApiToken(name="resp", token=RESPONDER_TOKEN, role="responder")  # type: ignore[arg-type]
    running = RunningCollector(tmp_path, clock, api_tokens=[responder])
    try:
        assert running.post(host_report("web1", clock, 1, memory_used_ratio=0.2)).ok
        refused = _delete(running, "/api/v1/hosts/web1", Authorization=f"Bearer {RESPONDER_TOKEN}")
        assert refused.status_code == 403
        assert "needs role admin" in refused.json()["error"]["message"]
        anonymous = requests.delete(f"{running.url}/api/v1/hosts/web1", timeout=5)
        assert anonymous.status_code == 401
        missing = _delete(running, "/api/v1/hosts/nobody")
        assert missing.status_code == 404
        assert "no host 'nobody'" in missing.json()["error"]["message"]
        assert [h["name"] for h in running.get("/api/v1/hosts")] == ["web1"]
    finally:
        running.stop()


def test_the_api_document_describes_retiring(tmp_path: Path, clock: FakeClock) -> None:
    running = RunningCollector(tmp_path, clock)
    try:
        operation = running.get("/api/v1/openapi.json")["paths"]["/api/v1/hosts/{name}"]["delete"]
        assert {"200", "401", "403", "404"} <= set(operation["responses"])
        assert [p["name"] for p in operation["parameters"]] == ["name", "reason"]
        assert operation["description"].startswith("Needs role admin")
        assert "Refused to role customer" in operation["description"]
    finally:
        running.stop()


def test_metrics_after_retiring_pass_promtool(
    tmp_path: Path, clock: FakeClock, rules: RuleSet
) -> None:
    running = RunningCollector(tmp_path, clock, rules=rules)
    try:
        for host in ("web1", "web2"):
            assert running.post(host_report(host, clock, 1, memory_used_ratio=0.5)).ok
        assert _delete(running, "/api/v1/hosts/web1").status_code == 200
        text = running.fetch("/metrics").text
        assert 'host="web1"' not in text and 'host="web2"' in text
        assert promtool_problems(text) == ""
    finally:
        running.stop()


def test_the_hosts_command_lists_and_retires(
    tmp_path: Path, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    responder = ApiToken(name="resp", token=RESPONDER_TOKEN, role="responder")  # type: ignore[arg-type]
    running = RunningCollector(tmp_path, clock, api_tokens=[responder])
    admin = ["--url", running.url, "--token", ADMIN_HEADERS["Authorization"].split()[1]]
    try:
        for host in ("web1", "web2"):
            assert running.post(host_report(host, clock, 1, memory_used_ratio=0.2)).ok
        assert hosts_command([*admin, "list"]) == 0
        listed = capsys.readouterr().out
        assert listed.startswith("HOST") and "web1" in listed and "web2" in listed
        assert hosts_command([*admin, "retire", "web1"]) == 2, "--yes is needed"
        assert "add --yes" in capsys.readouterr().err
        as_responder = ["--url", running.url, "--token", RESPONDER_TOKEN]
        assert hosts_command([*as_responder, "retire", "web1", "--yes"]) == 1
        assert "needs role admin" in capsys.readouterr().err
        assert hosts_command([*admin, "retire", "web1", "-r", "sold", "--yes"]) == 0
        assert "retired web1 (0 incident(s) resolved)" in capsys.readouterr().out
        assert [h["name"] for h in running.get("/api/v1/hosts")] == ["web2"]
        assert hosts_command([*admin, "retire", "web1", "--yes"]) == 1
        assert "no host 'web1'" in capsys.readouterr().err
    finally:
        running.stop()

"""Zabbix (webhook media type) and Checkmk (notification script) alerts become incidents like
Alertmanager's: the shipped media type's script (run by node with Zabbix's HttpRequest stood in
by curl) and the shipped Checkmk script post the recorded payloads to a real collector."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from collector.config import IntegrationToken
from collector.integrations.zabbix import ZabbixPayload
from tests.collector.harness import FakeClock, RunningCollector
from tests.peers import require_tool

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
ZABBIX_TOKEN = "zabbix-token-64be"
CHECKMK_TOKEN = "checkmk-token-1f07"

SHIM = """
const { spawnSync } = require('child_process');
class HttpRequest {
  constructor() { this.headers = []; this.status = 0; }
  addHeader(h) { this.headers.push(h); }
  setProxy(p) {}
  post(url, data) {
    const args = ['-s', '-o', '-', '-w', '\\n%{http_code}', '--data-binary', '@-'];
    for (const h of this.headers) { args.push('-H', h); }
    args.push(url);
    const out = spawnSync('curl', args, { input: data }).stdout.toString();
    const cut = out.lastIndexOf('\\n');
    this.status = parseInt(out.slice(cut + 1));
    return out.slice(0, cut);
  }
  getStatus() { return this.status; }
}
const Zabbix = { log() {}, Log() {} };
const value = process.argv[process.argv.length - 1];
console.log((function () { SCRIPT })());
"""


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningCollector]:
    integrations = [
        IntegrationToken(name="zbx", kind="zabbix", token=ZABBIX_TOKEN, labels={"team": "web"}),  # type: ignore[arg-type]
        IntegrationToken(name="cmk", kind="checkmk", token=CHECKMK_TOKEN),  # type: ignore[arg-type]
    ]
    collector = RunningCollector(tmp_path, FakeClock(), integrations=integrations)
    yield collector
    collector.stop()


def incidents(running: RunningCollector, rule_prefix: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = running.get("/api/v1/incidents?state=all")
    return [i for i in found if (i["rule"] or "").startswith(rule_prefix)]


def run_media_type(running: RunningCollector, params: dict[str, Any]) -> str:
    """The shipped media type's script, as Zabbix runs it: `value` is the parameters' JSON."""
    node = require_tool("node", "nodejs")
    require_tool("curl", "curl")
    media = yaml.safe_load((ROOT / "deploy/zabbix/media_watchkeeper.yaml").read_text())
    script = media["zabbix_export"]["media_types"][0]["script"]
    value = {
        **params,
        "url": f"{running.url}/api/v1/integrations/zabbix",
        "token": ZABBIX_TOKEN,
        "HTTPProxy": "",
    }
    done = subprocess.run(
        [node, "-e", SHIM.replace("SCRIPT", script), json.dumps(value)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.stdout.strip() or done.stderr


def test_a_zabbix_problem_opens_and_its_recovery_resolves(running: RunningCollector) -> None:
    assert run_media_type(running, fixture("zabbix/problem.json")) == "OK"
    (incident,) = incidents(running, "zbx/")
    assert incident["source"] == "alert"
    assert incident["host"] == "web-01.example.net"
    assert incident["priority"] == "P3"  # Average
    assert incident["summary"] == "High CPU utilization (over 90% for 5m)"
    assert incident["value"] == "Current utilization: 97.2 %"
    assert incident["labels"]["component"] == "cpu"  # an event tag
    assert incident["labels"]["team"] == "web"  # the integration's routing label
    assert run_media_type(running, fixture("zabbix/recovery.json")) == "OK"
    (resolved,) = incidents(running, "zbx/")
    assert resolved["state"] == "resolved" and resolved["number"] == incident["number"]


def test_the_media_type_names_only_parameters_the_collector_reads() -> None:
    media = yaml.safe_load((ROOT / "deploy/zabbix/media_watchkeeper.yaml").read_text())
    names = {p["name"] for p in media["zabbix_export"]["media_types"][0]["parameters"]}
    read = set(ZabbixPayload.model_fields) | {"url", "token", "HTTPProxy"}
    unread = {"event_update_status", "event_nseverity", "event_source", "event_date"}
    unread |= {"event_time", "host_ip"}
    assert names - unread == read


def test_zabbix_disaster_is_p1_and_a_bad_event_value_is_refused(running: RunningCollector) -> None:
    body = {**fixture("zabbix/problem.json"), "event_severity": "Disaster"}
    answer = post(running, "zabbix", ZABBIX_TOKEN, body)
    assert answer.json()["alerts"][0]["state"] == "triggered"
    assert incidents(running, "zbx/")[0]["priority"] == "P1"
    refused = post(running, "zabbix", ZABBIX_TOKEN, {**body, "event_value": "{EVENT.VALUE}"})
    assert refused.status_code == 400 and "event_value" in refused.json()["error"]["message"]


def post(running: RunningCollector, kind: str, token: str, body: Any) -> requests.Response:
    return running.session.post(
        f"{running.url}/api/v1/integrations/{kind}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def run_checkmk_script(
    running: RunningCollector, context: dict[str, str], token: str = CHECKMK_TOKEN
) -> int:
    """The shipped notification script with Checkmk's NOTIFY_* environment."""
    env = {f"NOTIFY_{k}": v for k, v in context.items()}
    env["NOTIFY_PARAMETER_1"] = f"{running.url}/api/v1/integrations/checkmk"
    env["NOTIFY_PARAMETER_2"] = token
    env["PATH"] = os.environ["PATH"]
    script = ROOT / "deploy/checkmk/watchkeeper"
    done = subprocess.run([sys.executable, str(script)], env=env, timeout=30, check=False)
    return done.returncode


def test_a_checkmk_service_problem_opens_an_incident(running: RunningCollector) -> None:
    assert run_checkmk_script(running, fixture("checkmk/service_problem.json")) == 0
    (incident,) = incidents(running, "cmk/")
    assert incident["rule"] == "cmk/CPU utilization"
    assert incident["host"] == "heute"
    assert incident["priority"] == "P3"  # WARNING
    assert incident["labels"]["service"] == "CPU utilization"
    assert incident["summary"].startswith("heute/CPU utilization WARNING: ")


def test_a_checkmk_host_recovery_resolves_the_host_problem(running: RunningCollector) -> None:
    recovery = fixture("checkmk/host_recovery.json")
    down = {**recovery, "NOTIFICATIONTYPE": "PROBLEM", "HOSTSTATE": "DOWN", "HOSTOUTPUT": "down"}
    assert run_checkmk_script(running, down) == 0
    assert incidents(running, "cmk/")[0]["priority"] == "P1"  # DOWN
    assert run_checkmk_script(running, recovery) == 0
    (resolved,) = incidents(running, "cmk/")
    assert resolved["state"] == "resolved"


def test_checkmk_acknowledgements_are_not_alerts(running: RunningCollector) -> None:
    body = {**fixture("checkmk/service_problem.json"), "NOTIFICATIONTYPE": "ACKNOWLEDGEMENT"}
    answer = post(running, "checkmk", CHECKMK_TOKEN, body)
    assert answer.status_code == 200 and answer.json()["alerts"] == []
    assert incidents(running, "cmk/") == []


def test_the_checkmk_script_gives_up_on_a_refused_token(
    running: RunningCollector, tmp_path: Path
) -> None:
    context = fixture("checkmk/service_problem.json")
    assert run_checkmk_script(running, context, token="wrong") == 2  # Checkmk: do not retry
    token_file = tmp_path / "checkmk.token"
    token_file.write_text(CHECKMK_TOKEN + "\n")
    assert run_checkmk_script(running, context, token=str(token_file)) == 0


def test_a_token_of_another_kind_is_refused(running: RunningCollector) -> None:
    answer = post(running, "checkmk", ZABBIX_TOKEN, fixture("checkmk/service_problem.json"))
    assert answer.status_code == 401
    assert "checkmk integration" in answer.json()["error"]["message"]

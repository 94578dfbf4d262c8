"""A real Prometheus evaluates a rule on a gauge this test flips; a real Alertmanager posts its
webhook to a real collector: the alert opens a P1 incident on the instance's host (port cut
off), routed by the integration's labels, and resolves it when Alertmanager says so."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from collector.config import IntegrationToken
from tests.collector.harness import FakeClock, RunningCollector
from tests.peers import free_port, require_tool, wait_until

pytestmark = pytest.mark.peer

AM_TOKEN = "am-integration-token-71c4"

RULES = """groups:
  - name: test
    rules:
      - alert: DiskFailed
        expr: test_disk_failed > 0
        labels: {severity: critical}
        annotations:
          summary: "Disk {{ $labels.device }} failed on {{ $labels.instance }}"
"""


def _spawn(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[RunningCollector]:
    integration = IntegrationToken(
        name="prom-acme",
        kind="alertmanager",
        token=AM_TOKEN,  # type: ignore[arg-type]
        labels={"customer": "acme", "team": "storage"},
    )
    running = RunningCollector(tmp_path, FakeClock(), integrations=[integration])
    yield running
    running.stop()


@pytest.fixture
def target() -> Iterator[tuple[Gauge, int]]:
    registry = CollectorRegistry()
    gauge = Gauge("test_disk_failed", "1 when the disk failed", ["device"], registry=registry)
    gauge.labels("sda").set(0)
    port = free_port()
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield gauge, port
    server.shutdown()


@pytest.fixture
def alertmanager(tmp_path: Path, collector: RunningCollector) -> Iterator[int]:
    binary = require_tool("prometheus-alertmanager", "prometheus-alertmanager")
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "route: {receiver: watchkeeper, group_by: [alertname], group_wait: 1s,"
        " group_interval: 1s, repeat_interval: 1h}\n"
        "receivers:\n"
        "  - name: watchkeeper\n"
        "    webhook_configs:\n"
        f"      - url: {collector.url}/api/v1/integrations/alertmanager\n"
        "        send_resolved: true\n"
        f"        http_config: {{authorization: {{credentials: {AM_TOKEN}}}}}\n"
    )
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'am_data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    process = _spawn(command, tmp_path / "alertmanager.log")
    wait_until(lambda: _ready(port), 10, "alertmanager")
    yield port
    _stop(process)


@pytest.fixture
def prometheus(tmp_path: Path, target: tuple[Gauge, int], alertmanager: int) -> Iterator[int]:
    binary = require_tool("prometheus", "prometheus")
    port = free_port()
    (tmp_path / "rules.yml").write_text(RULES)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{tmp_path / 'rules.yml'}]\n"
        "alerting:\n"
        f"  alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{alertmanager}']}}]}}]\n"
        "scrape_configs:\n"
        f"  - {{job_name: disks, static_configs: [{{targets: ['127.0.0.1:{target[1]}']}}]}}\n"
    )
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'prom_data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--rules.alert.resend-delay=1s",
        "--log.level=warn",
    ]
    process = _spawn(command, tmp_path / "prometheus.log")
    wait_until(lambda: _ready(port), 10, "prometheus")
    yield port
    _stop(process)


def _ready(port: int) -> bool:
    return requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).status_code == 200


def _incidents(collector: RunningCollector) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = collector.get("/api/v1/incidents?state=all")
    return [i for i in found if i["rule"] == "prom-acme/DiskFailed"]


def test_a_prometheus_alert_opens_and_resolves_an_incident(
    collector: RunningCollector, target: tuple[Gauge, int], prometheus: int
) -> None:
    gauge, target_port = target
    gauge.labels("sda").set(1)
    wait_until(lambda: bool(_incidents(collector)), 40, "incident from Alertmanager", step=0.2)
    (incident,) = _incidents(collector)
    assert incident["source"] == "alert"
    assert incident["state"] == "triggered"
    assert incident["priority"] == "P1"  # severity: critical
    assert incident["host"] == "127.0.0.1"  # instance 127.0.0.1:<port> without the port
    assert incident["summary"] == f"Disk sda failed on 127.0.0.1:{target_port}"
    assert incident["labels"]["customer"] == "acme"
    assert incident["labels"]["team"] == "storage"
    assert incident["labels"]["device"] == "sda"

    gauge.labels("sda").set(0)
    wait_until(lambda: _incidents(collector)[0]["state"] == "resolved", 40, "resolved", step=0.2)
    (resolved,) = _incidents(collector)
    assert resolved["number"] == incident["number"]  # the same ticket, resolved

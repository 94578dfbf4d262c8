"""GET /api/v1/hosts/{name}/inventory: the hardware a real agent cycle identified, as the
collector got it in the report; 404 for an unknown host; access by role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from agent.exec import FixtureRunner
from agent.probes.inventory.probe import InventoryProbe, InventorySettings
from agent.runner import ProbeRunner
from collector.config import ApiToken
from tests.agent.probes.test_inventory import DMI, FIXTURES, dmi_reader
from tests.collector.harness import FakeClock, RunningCollector

VIEWER = "inventory-viewer-token-4d2a"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningCollector]:
    viewer = ApiToken(name="v", token=VIEWER, role="viewer")
    collector = RunningCollector(tmp_path, FakeClock(), api_tokens=[viewer])
    yield collector
    collector.stop()


def test_a_hosts_inventory_as_its_agent_reported_it(running: RunningCollector) -> None:
    runner = FixtureRunner(
        {
            ("ipmitool", "mc", "info"): FIXTURES / "ipmitool-mc-info-ipmi-sim.txt",
            ("ipmitool", "fru", "print"): FIXTURES / "ipmitool-fru-print-ipmi-sim.txt",
        }
    )
    probe = InventoryProbe(
        InventorySettings(dmi_path=str(DMI), bmc=True), runner, dmi_reader(as_root=False)
    )
    report = ProbeRunner([probe], "web1", 10.0, clock=running.clock).run_cycle()
    assert running.post(report).status_code == 202
    headers = {"Authorization": f"Bearer {VIEWER}"}
    answer = requests.get(f"{running.url}/api/v1/hosts/web1/inventory", headers=headers, timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["host"] == "web1"
    system, board, bmc, fru = body["items"]
    assert system == {
        "probe": "inventory",
        "kind": "system",
        "name": "system",
        "vendor": "Dell Inc.",
        "model": "PowerEdge R6515",
        "serial": "",
        "firmware": "BIOS 2.2.4 04/12/2021",
        "unreadable": {"serial": f"readable by root only ({DMI / 'product_serial'})"},
    }
    assert (board["kind"], bmc["firmware"], fru["serial"]) == (
        "baseboard",
        "9.08",
        "S526388X1A09915",
    )


def test_an_unknown_host_is_404_and_no_token_401(running: RunningCollector) -> None:
    answer = running.fetch("/api/v1/hosts/nowhere/inventory")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    anonymous = requests.get(f"{running.url}/api/v1/hosts/nowhere/inventory", timeout=5)
    assert anonymous.status_code == 401

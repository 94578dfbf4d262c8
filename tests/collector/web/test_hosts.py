"""The host list and host page over real HTTP: health and links, 24 h charts from the
short-term history, current values, probes, inventory, the devices an agent watches, open
incidents; a customer sees only its own hosts."""

from __future__ import annotations

import re
from pathlib import Path

from agent.probes.smart.parse import parse_device
from agent.report import SCHEMA_V1, InventoryItem, ProbeResult, Report, Sample
from collector.auth.roles import Role
from tests.collector.harness import FakeClock, RunningCollector
from tests.collector.web.conftest import PASSWORD, Browser, open_incident


def host_cycle(host: str, clock: FakeClock, sequence: int, cpu: float) -> Report:
    """A host probe's cycle with the charted series, like the agent's."""
    samples = [
        Sample("cpu_usage_ratio", cpu, {"cpu": "total"}),
        Sample("load1_per_core", 0.4),
        Sample("memory_used_ratio", 0.61),
        Sample("filesystem_used_ratio", 0.73, {"mountpoint": "/var", "device": "sda2"}),
        Sample("temperature_celsius", 47.0, {"chip": "coretemp", "sensor": "Package id 0"}),
        Sample("network_receive_bytes_total", 3e9 + sequence * 61_440.0, {"interface": "eth0"}),
    ]
    disk = InventoryItem(kind="disk", name="sda", vendor="ACME", model="SSD 9", serial="S123")
    probes = [
        ProbeResult("host", "ok", 0.01, samples),
        ProbeResult("smart", "error", 0.2, error="smartctl timed out", inventory=[disk]),
    ]
    return Report(SCHEMA_V1, host, clock(), sequence, "test", 10.0, probes)


def test_host_page_shows_charts_probes_inventory_and_open_incidents(
    running: RunningCollector, clock: FakeClock, carol: Browser
) -> None:
    for sequence in range(1, 31):  # half an hour, a report every minute
        assert running.post(host_cycle("web1", clock, sequence, sequence / 100)).ok
        clock.advance(60)
    opened = open_incident(running, "web1 slow", hosts=["web1"], priority="P4")
    listing = carol.get("/hosts").text
    row = re.search(r'data-host="web1">.*?</tr>', listing, re.S)
    assert row and 'href="/hosts/web1"' in row.group()
    assert '"Failing probes">smart<' in row.group() and "health-ok" not in row.group()
    page = carol.get("/hosts/web1")
    assert page.status_code == 200
    for chart in ("cpu", "load", "memory", "filesystems", "temperatures", "network"):
        assert f'id="chart-{chart}"' in page.text, chart
    cpu = re.search(r'id="chart-cpu".*?</figure>', page.text, re.S)
    assert cpu and "<polyline" in cpu.group() and "<strong>30%</strong>" in cpu.group()
    assert "/var <strong>73%</strong>" in page.text and "coretemp Package id 0" in page.text
    assert "eth0 in <strong>1 KiB/s</strong>" in page.text, "a byte counter is charted as a rate"
    assert "smartctl timed out" in page.text and "S123" in page.text
    assert f'href="/incidents/{opened["number"]}"' in page.text
    assert carol.get("/hosts/nobody").status_code == 404
    assert 'href="/hosts/web1"' in carol.get("/").text, "the overview links each host"


def test_a_host_without_history_says_so_in_chinese(
    running: RunningCollector, clock: FakeClock, carol: Browser
) -> None:
    probe = ProbeResult("host", "ok", 0.01, [Sample("uptime_seconds", 5.0)])
    assert running.post(Report(SCHEMA_V1, "db1", clock(), 1, "test", 10.0, [probe])).ok
    page = carol.get("/hosts/db1?lang=zh").text
    assert 'id="no-charts"' in page and "过去 24 小时" in page


def test_a_customer_sees_only_its_own_hosts_and_staff_see_whose_each_host_is(
    tmp_path: Path, clock: FakeClock
) -> None:
    (tmp_path / "customers.yaml").write_text('customers:\n  - name: acme\n    hosts: ["acme-*"]\n')
    running = RunningCollector(tmp_path, clock, customers=tmp_path / "customers.yaml")
    try:
        running.collector.access.add_user("cust", PASSWORD, Role.CUSTOMER, "acme")
        for sequence, host in enumerate(("acme-web1", "globex-db1"), 1):
            assert running.post(host_cycle(host, clock, sequence, 0.2)).ok
        customer = Browser(running, "cust")
        listing = customer.get("/hosts").text
        assert "acme-web1" in listing and "globex-db1" not in listing
        assert customer.get("/hosts/acme-web1").status_code == 200
        assert customer.get("/hosts/globex-db1").status_code == 404
        for staff_only in ("/oncall", "/silences", "/reports"):
            assert customer.get(staff_only).status_code == 403, staff_only
            assert f'href="{staff_only}"' not in listing, "no link to a page it may not see"
        assert "acme-web1" in customer.get("/hosts?customer=globex").text, "no way out"
        assert 'class="customer"' not in listing, "no customer column for a customer"
        running.collector.access.add_user("sam", PASSWORD, Role.VIEWER)
        staff = Browser(running, "sam")
        everyone = staff.get("/hosts").text
        row = re.search(r'data-host="acme-web1">.*?</tr>', everyone, re.S)
        assert row is not None and '<td data-label="Customer" class="customer">acme</td>' in row[0]
        assert "globex-db1" in everyone
        acme = staff.get("/hosts?customer=acme").text
        assert "acme-web1" in acme and "globex-db1" not in acme
    finally:
        running.stop()


def test_host_page_lists_current_values_from_a_real_smartctl_capture_and_the_devices_watched(
    running: RunningCollector, clock: FakeClock, carol: Browser, shared_fixtures: Path
) -> None:
    capture = (
        shared_fixtures / "smartctl/ata-hdd-smart-failed-reallocated-535-wdc-wd3200bevt-usb.json"
    )
    smart = parse_device(capture.read_text(), "/dev/sda", 8)  # as the agent's probe parses it
    switch = [Sample("interface_up", 1.0, {"interface": "Gi0/1"})]
    probes = [
        ProbeResult("smart", "ok", 0.2, smart),
        ProbeResult("snmp", "ok", 0.1, switch, target="switch1"),
    ]
    assert running.post(Report(SCHEMA_V1, "db1", clock(), 1, "test", 10.0, probes)).ok
    page = carol.get("/hosts/db1").text
    values = re.search(
        r'<details class="card values" data-probe="smart" open>.*?</details>', page, re.S
    )
    assert values is not None, "a short probe is shown unfolded"
    row = re.search(r"<td[^>]*>smart_temperature_celsius</td>.*?</tr>", values.group(0), re.S)
    assert row is not None and "/dev/sda" in row.group(0) and "27 °C" in row.group(0)
    assert "smart_disk_failing" in values.group(0) and "WD-WXE708D44602" in values.group(0)
    devices = re.search(r'<ul class="card" id="devices">.*?</ul>', page, re.S)
    assert devices is not None and 'href="/hosts/switch1"' in devices.group(0)
    device_page = carol.get("/hosts/switch1").text
    assert 'data-probe="snmp"' in device_page and "interface_up" in device_page
    assert "当前值" in carol.get("/hosts/db1?lang=zh").text

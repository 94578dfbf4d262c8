"""The agent's own /metrics over real HTTP: latest samples, states, self-metrics, promtool."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agent.metrics_server import AgentSnapshot, MetricsServer, build_registry
from agent.report import SCHEMA_V1, ProbeResult, Report, Sample
from tests.peers import promtool_problems

HOST = ProbeResult(
    "host",
    "ok",
    0.002,
    samples=[
        Sample("load1", 3.5),
        Sample(
            "filesystem_used_ratio",
            0.91,
            {"mountpoint": "/", "device": "/dev/sda1", "fstype": "ext4"},
        ),
        Sample("disk_read_bytes_total", 4096.0, {"device": "sda"}),
        Sample("temperature_celsius", 71.0, {"chip": "coretemp", "sensor": "Core 0"}),
    ],
)
RAID = ProbeResult(
    "mdraid",
    "ok",
    0.001,
    samples=[
        Sample("raid_array_state", "degraded", {"array": "md0"}),
        Sample("raid_array_degraded", 1.0, {"array": "md0"}),
    ],
)
SENSORS = ProbeResult(
    "lmsensors",
    "ok",
    0.01,
    samples=[Sample("temperature_celsius", 71.0, {"chip": "coretemp", "sensor": "Core 0"})],
)
SWITCH = ProbeResult(
    "snmp:core",
    "ok",
    0.05,
    samples=[Sample("interface_up", 1.0, {"interface": "ge-0/0/1"})],
    target="core-sw",
)
BROKEN = ProbeResult("smart", "error", 0.0, error="smartctl: not found")
REPORT = Report(
    SCHEMA_V1, "web-01", 1_700_000_000.0, 7, "0.1.0", 10.0, [HOST, RAID, SENSORS, SWITCH, BROKEN]
)
SNAPSHOT = AgentSnapshot(
    report=REPORT,
    cycle_seconds=0.0015,
    reports_sent_total=41,
    send_failures_total=2,
    reports_rejected_total=1,
    spooled_reports=3,
    spool_dropped_total=0,
    probe_success={
        "host": True,
        "mdraid": True,
        "lmsensors": True,
        "snmp:core": True,
        "smart": False,
    },
)


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    running = MetricsServer("127.0.0.1", 0, lambda: SNAPSHOT)
    yield running
    running.stop()


def scrape(server: MetricsServer) -> str:
    response = requests.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5)
    response.raise_for_status()
    return response.text


def samples_of(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def types_of(text: str) -> dict[str, str]:
    return {family.name: family.type for family in text_string_to_metric_families(text)}


def test_latest_samples_are_served_with_their_labels(server: MetricsServer) -> None:
    found = samples_of(scrape(server))
    assert found[("watchkeeper_load1", ())] == 3.5
    fs = (("device", "/dev/sda1"), ("fstype", "ext4"), ("mountpoint", "/"))
    assert found[("watchkeeper_filesystem_used_ratio", fs)] == 0.91
    assert found[("watchkeeper_disk_read_bytes_total", (("device", "sda"),))] == 4096
    assert found[("watchkeeper_raid_array_degraded", (("array", "md0"),))] == 1


def test_string_values_become_a_state_label(server: MetricsServer) -> None:
    found = samples_of(scrape(server))
    assert found[("watchkeeper_raid_array_state", (("array", "md0"), ("state", "degraded")))] == 1


def test_targets_are_labelled_and_duplicates_served_once(server: MetricsServer) -> None:
    text = scrape(server)
    found = samples_of(text)
    assert (
        found[("watchkeeper_interface_up", (("interface", "ge-0/0/1"), ("target", "core-sw")))] == 1
    )
    assert text.count('watchkeeper_temperature_celsius{chip="coretemp",sensor="Core 0"}') == 1


def test_counters_and_gauges_are_typed_by_name(server: MetricsServer) -> None:
    types = types_of(scrape(server))
    assert types["watchkeeper_disk_read_bytes"] == "counter"
    assert types["watchkeeper_agent_reports_sent"] == "counter"
    assert types["watchkeeper_load1"] == "gauge"


def test_agent_self_metrics(server: MetricsServer) -> None:
    found = samples_of(scrape(server))
    assert found[("watchkeeper_agent_cycle_seconds", ())] == 0.0015
    assert found[("watchkeeper_agent_reports_sent_total", ())] == 41
    assert found[("watchkeeper_agent_send_failures_total", ())] == 2
    assert found[("watchkeeper_agent_reports_rejected_total", ())] == 1
    assert found[("watchkeeper_agent_spooled_reports", ())] == 3
    assert found[("watchkeeper_agent_probe_success", (("probe", "smart"),))] == 0
    assert found[("watchkeeper_agent_probe_success", (("probe", "host"),))] == 1


def test_before_the_first_cycle_only_self_metrics() -> None:
    text = generate_latest(build_registry(AgentSnapshot)).decode()
    assert "watchkeeper_agent_reports_sent_total 0.0" in text
    assert "watchkeeper_load1" not in text


def test_own_registry_not_the_global_one(server: MetricsServer) -> None:
    scrape(server)
    assert b"watchkeeper_" not in generate_latest(REGISTRY)


@pytest.mark.peer
def test_promtool_accepts_the_exposition(server: MetricsServer) -> None:
    assert promtool_problems(scrape(server)) == ""


def test_prometheus_client_is_not_loaded_without_listen() -> None:
    code = (
        "import sys, agent.cli, agent.daemon, agent.metrics_server; "
        "sys.exit('prometheus_client' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60, check=False).returncode == 0

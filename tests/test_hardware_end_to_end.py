"""Hardware peers through the real collector: a real snmpd's UPS (and, when the IPMI probe is
present, a real ipmi_sim BMC) open and resolve incidents with the built-in rule packs.

The agent side runs the real probes and the real ProbeRunner; reports go over HTTP to a
collector served by uvicorn on loopback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.exec import FixtureRunner
from agent.probes.ipmi.probe import build_ipmi_probes
from agent.probes.ipmi.settings import IpmiSettings
from agent.probes.kind import ProbeContext
from agent.probes.snmp.polling import build_snmp_probes
from agent.probes.snmp.settings import SnmpSettings
from agent.report import Report
from agent.runner import ProbeRunner
from agent.secret import convert
from collector.notify.channels import RecordingChannel
from tests.collector.harness import FakeClock, RunningCollector, wait_for
from tests.peers import require_tool
from tests.peers.ipmi_sim import CPU_TEMP, FAN_1, running_ipmi_sim
from tests.peers.snmpd import (
    UPS_BATTERY_LOW,
    UPS_BATTERY_NORMAL,
    UPS_OUTPUT_BATTERY,
    UPS_OUTPUT_NORMAL,
    SnmpdPeer,
    running_snmpd,
)

pytestmark = pytest.mark.peer


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[SnmpdPeer]:
    require_tool("snmpd", "snmpd")
    with running_snmpd(tmp_path) as peer:
        yield peer


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[tuple[RunningCollector, RecordingChannel]]:
    recorder = RecordingChannel("e2e")
    # Reports carry the agent's real time; the collector must agree or it calls them stale.
    running = RunningCollector(tmp_path, FakeClock(time.time()), channels=[recorder])
    yield running, recorder
    running.stop()


def _open(running: RunningCollector) -> list[tuple[str, str, str]]:
    return sorted(
        (i["rule"], i["host"], i["priority"]) for i in running.get("/api/v1/incidents?state=open")
    )


def test_ups_on_battery_then_low_pages_and_recovers_through_the_collector(
    snmpd: SnmpdPeer, collector: tuple[RunningCollector, RecordingChannel]
) -> None:
    running, recorder = collector
    settings = convert(
        {
            "devices": [
                {
                    "name": "ups-1",
                    "address": "127.0.0.1",
                    "port": snmpd.port,
                    "community": snmpd.community,
                    "timeout": "1s",
                    "retries": 0,
                    "profiles": ["system", "ups_mib"],
                }
            ]
        },
        SnmpSettings,
    )
    # The agent stamps its reports with the collector's test clock: time moves for both at once.
    agent = ProbeRunner(build_snmp_probes(settings), "monitor-1", 10.0, clock=running.clock)

    def cycle() -> None:
        report = agent.run_cycle()
        assert running.post(report).status_code == 202
        running.clock.advance(10)

    cycle()
    assert _open(running) == [], "a UPS on mains is quiet"
    assert "ups-1" in [h["name"] for h in running.get("/api/v1/hosts")], "device is a host"

    snmpd.set_ups(output_source=UPS_OUTPUT_BATTERY, seconds_on_battery=60)
    cycle()
    assert _open(running) == [("UpsOnBattery", "ups-1", "P2")]

    snmpd.set_ups(battery_status=UPS_BATTERY_LOW)
    cycle()
    assert ("UpsBatteryLow", "ups-1", "P1") in _open(running)

    snmpd.set_ups(battery_status=UPS_BATTERY_NORMAL, output_source=UPS_OUTPUT_NORMAL)
    cycle()
    assert _open(running) == []
    resolved = running.get("/api/v1/incidents?state=resolved")
    assert {i["rule"] for i in resolved} == {"UpsOnBattery", "UpsBatteryLow"}
    wait_for(
        lambda: (
            sorted(n.event for n in recorder.notifications)
            == ["opened", "opened", "resolved", "resolved"]
        )
    )


def test_bmc_sensors_page_and_recover_and_a_lost_bmc_is_its_own_incident(
    tmp_path: Path, collector: tuple[RunningCollector, RecordingChannel]
) -> None:
    require_tool("ipmi_sim", "openipmi")
    running, _ = collector
    with running_ipmi_sim(tmp_path) as bmc:
        settings = convert(
            {
                "interval": "1ms",
                "bmcs": [
                    {
                        "name": "db7",
                        "address": "127.0.0.1",
                        "port": bmc.port,
                        "username": bmc.username,
                        "password": bmc.password,
                        "timeout": "5s",
                    }
                ],
            },
            IpmiSettings,
        )
        probes = build_ipmi_probes(settings, ProbeContext(FixtureRunner({})))
        agent = ProbeRunner(probes, "monitor-1", 10.0, clock=running.clock)

        def cycle() -> None:
            assert running.post(agent.run_cycle()).status_code == 202
            running.clock.advance(10)

        def read_cycle() -> None:
            """A cycle whose BMC read succeeded: the simulator now and then drops a session's
            first packet, and on a busy machine a read can outlast its timeout; such reads are
            not posted (BmcUnreachable is the last part's subject, not this one's)."""
            deadline = time.monotonic() + 60
            while True:
                report = agent.run_cycle()
                if _bmc_up(report) or time.monotonic() > deadline:
                    break
            assert running.post(report).status_code == 202
            running.clock.advance(10)

        read_cycle()
        assert _open(running) == [], "healthy sensors are quiet"

        bmc.set_sensor_value(CPU_TEMP, 90)
        bmc.set_sensor_value(FAN_1, 0)
        read_cycle()
        assert _open(running) == [
            ("FanStopped", "db7", "P2"),
            ("IpmiSensorCritical", "db7", "P2"),
            ("IpmiSensorCriticalP1", "db7", "P1"),
        ], "CPU critical P1; fan P2"

        bmc.reset()
        read_cycle()
        assert _open(running) == []

        for probe in probes:
            probe.close()  # log out before the BMC goes away
        bmc.stop()
        for _ in range(14):  # 2m of cycles with the BMC gone: `for: 2m`
            cycle()
        running.tick()
    assert _open(running) == [("BmcUnreachable", "db7", "P3")], "unreachable, not a sensor fault"


def _bmc_up(report: Report) -> bool:
    return any(
        s.metric == "ipmi_bmc_up" and s.value == 1.0 for p in report.probes for s in p.samples
    )

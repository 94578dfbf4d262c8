"""SNMP traps sent by the real net-snmp `snmptrap` to the receiver, drained by TrapProbe."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.probe import ProbeData, ProbeError
from agent.probes.snmp.settings import SnmpDevice, TrapSettings
from agent.probes.snmp.traps import (
    SNMP_TRAP_OID,
    TRAP_COMMUNITY,
    Trap,
    TrapProbe,
    TrapReceiver,
    trap_event,
)
from agent.report import Event
from agent.secret import Secret, convert
from tests.peers import free_udp_port, require_tool

ENGINE_ID = "8000000001020304"
V3 = ["-u", "v3user", "-l", "authPriv", "-a", "SHA", "-x", "AES", "-X", "privpass123"]
LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
IF_INDEX_2 = ["1.3.6.1.2.1.2.2.1.1.2", "i", "2"]
IF_OPER_STATUS_2 = ["1.3.6.1.2.1.2.2.1.8.2", "i", "2"]


class Sender:
    """Runs the real snmptrap against one receiver port, its state kept in tmp_path."""

    def __init__(self, port: int, tmp_path: Path) -> None:
        self.binary = require_tool("snmptrap", "snmp")
        self.address = f"127.0.0.1:{port}"
        persist = tmp_path / "snmptrap"
        persist.mkdir(exist_ok=True)
        self.env = dict(os.environ, MIBS=":", SNMP_PERSISTENT_DIR=str(persist))

    def v2c(self, *args: str, community: str = "public") -> None:
        self._run("-v2c", "-c", community, self.address, "", *args)

    def v1(self, *args: str) -> None:
        self._run("-v1", "-c", "public", self.address, *args)

    def v3(self, *args: str, auth_password: str = "authpass123") -> None:
        auth = [*V3, "-A", auth_password]
        self._run("-v3", "-e", f"0x{ENGINE_ID}", *auth, self.address, "", *args)

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [self.binary, *args],
            check=False,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert done.returncode == 0, done.stderr


def make_settings(port: int, **fields: Any) -> TrapSettings:
    data = {
        "listen": f"127.0.0.1:{port}",
        "communities": ["public"],
        "v3_users": [
            {
                "user": "v3user",
                "auth_password": "authpass123",
                "priv_password": "privpass123",
                "engine_id": ENGINE_ID,
            }
        ],
    }
    return convert(data | fields, TrapSettings)


@pytest.fixture
def port() -> int:
    return free_udp_port()


@pytest.fixture
def probe(port: int) -> Iterator[TrapProbe]:
    switch = SnmpDevice(name="switch-1", address="127.0.0.1", community=Secret("public"))
    trap_probe = TrapProbe(TrapReceiver(make_settings(port)), devices=[switch])
    trap_probe.collect()  # starts the receiver
    yield trap_probe
    trap_probe.close()
    assert not trap_probe.receiver.running


@pytest.fixture
def sender(port: int, tmp_path: Path) -> Sender:
    return Sender(port, tmp_path)


def collect_events(
    probe: TrapProbe, count: int, timeout: float = 5.0
) -> tuple[list[Event], ProbeData]:
    """Collect cycles until `count` events arrived (UDP delivery is asynchronous)."""
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    while True:
        data = probe.collect()
        events += data.events
        if len(events) >= count or time.monotonic() > deadline:
            return events, data
        time.sleep(0.05)


def sample(data: ProbeData, metric: str, **labels: str) -> float | str:
    found = [s for s in data.samples if s.metric == metric and s.labels == labels]
    assert len(found) == 1, f"{metric}{labels} in {data.samples}"
    return found[0].value


@pytest.mark.peer
def test_v2c_link_down_becomes_an_event_with_interface_and_device(
    probe: TrapProbe, sender: Sender
) -> None:
    sender.v2c(LINK_DOWN, *IF_INDEX_2, *IF_OPER_STATUS_2)
    events, data = collect_events(probe, 1)
    assert len(events) == 1
    event = events[0]
    assert event.kind == "snmp_trap"
    assert event.labels == {
        "trap_oid": LINK_DOWN,
        "trap_name": "linkDown",
        "source": "127.0.0.1",
        "version": "2c",
        "device": "switch-1",
        "if_index": "2",
    }
    assert event.message.startswith("linkDown from 127.0.0.1 (ifIndex 2)")
    assert abs(event.time - time.time()) < 10
    labels = {"trap_name": "linkDown", "source": "127.0.0.1", "device": "switch-1"}
    assert sample(data, "snmp_trap_received_total", **labels) == 1.0


@pytest.mark.peer
def test_v1_traps_arrive_in_v2_form_without_the_community(probe: TrapProbe, sender: Sender) -> None:
    sender.v1("1.3.6.1.4.1.8072.2.3", "127.0.0.1", "2", "0", "", *IF_INDEX_2)  # generic linkDown
    sender.v1("1.3.6.1.4.1.8072.2.3", "127.0.0.1", "6", "17", "", "1.3.6.1.2.1.1.1.0", "s", "v1")
    events, data = collect_events(probe, 2)
    by_name = {e.labels["trap_name"]: e for e in events}
    assert set(by_name) == {"linkDown", "1.3.6.1.4.1.8072.2.3.0.17"}
    assert by_name["linkDown"].labels["if_index"] == "2"
    assert by_name["linkDown"].labels["version"] == "1"
    for event in events:
        assert "public" not in event.message
        assert "public" not in str(event.labels)
    # counters accumulate across cycles: a rule on increase() sees each trap once
    events_again, data = collect_events(probe, 0)
    assert events_again == []
    labels = {"trap_name": "linkDown", "source": "127.0.0.1", "device": "switch-1"}
    assert sample(data, "snmp_trap_received_total", **labels) == 1.0


@pytest.mark.peer
def test_v3_auth_priv_trap(probe: TrapProbe, sender: Sender) -> None:
    sender.v3("1.3.6.1.2.1.33.2.0.1", "1.3.6.1.2.1.33.1.2.2.0", "i", "30")  # upsTrapOnBattery
    events, _ = collect_events(probe, 1)
    assert [(e.labels["trap_name"], e.labels["version"]) for e in events] == [
        ("upsTrapOnBattery", "3")
    ]
    assert "1.3.6.1.2.1.33.1.2.2.0=30" in events[0].message


@pytest.mark.peer
def test_bad_credentials_and_garbage_are_dropped_and_counted(
    probe: TrapProbe, sender: Sender, port: int
) -> None:
    sender.v2c(LINK_DOWN, community="not-ours")
    sender.v3("1.3.6.1.6.3.1.1.5.1", auth_password="wrong-password")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for junk in (b"", b"\x30\x03abc", bytes(range(256))):
            sock.sendto(junk, ("127.0.0.1", port))
    sender.v2c("1.3.6.1.6.3.1.1.5.1")  # a good trap after them: the receiver still works
    events, data = collect_events(probe, 1)
    assert [e.labels["trap_name"] for e in events] == ["coldStart"]
    assert probe.receiver.running
    assert sample(data, "snmp_trap_dropped_total", reason="bad_community") == 1.0
    assert sample(data, "snmp_trap_dropped_total", reason="v3_wrong_digest") == 1.0
    assert sample(data, "snmp_trap_dropped_total", reason="malformed") == 3.0
    assert sample(data, "snmp_trap_dropped_total", reason="queue_full") == 0.0


@pytest.mark.peer
def test_traps_beyond_the_queue_are_dropped_and_counted(port: int, tmp_path: Path) -> None:
    trap_probe = TrapProbe(TrapReceiver(make_settings(port, queue_size=1)))
    trap_probe.collect()
    try:
        sender = Sender(port, tmp_path)
        for _ in range(3):
            sender.v2c("1.3.6.1.6.3.1.1.5.1")
        deadline = time.monotonic() + 5
        while trap_probe.receiver.queue_full < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        data = trap_probe.collect()
    finally:
        trap_probe.close()
    assert len(data.events) == 1
    assert sample(data, "snmp_trap_dropped_total", reason="queue_full") == 2.0


def test_port_in_use_is_a_probe_error_naming_the_address() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        trap_probe = TrapProbe(TrapReceiver(make_settings(port)))
        with pytest.raises(ProbeError, match=f"cannot listen on 127.0.0.1:{port}") as caught:
            trap_probe.collect()
    assert "authpass123" not in str(caught.value)
    assert not trap_probe.receiver.running


@pytest.mark.parametrize(
    ("varbinds", "name", "message"),
    [
        (((TRAP_COMMUNITY, "public"), (SNMP_TRAP_OID, "1.9.9")), "1.9.9", "1.9.9 from 10.0.0.9"),
        ((), "unknown", "unknown from 10.0.0.9"),
    ],
    ids=["unknown-oid-keeps-number-and-hides-community", "no-trap-oid"],
)
def test_trap_event_for_unusual_traps(
    varbinds: tuple[tuple[str, str], ...], name: str, message: str
) -> None:
    event = trap_event(Trap(1.0, "10.0.0.9", "2c", varbinds))
    assert event.labels["trap_name"] == name
    assert event.message == message
    assert "device" not in event.labels

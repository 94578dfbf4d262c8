"""A real net-snmp snmpd on a free 127.0.0.1 UDP port, with a fake UPS the test can change.

    with running_snmpd(tmp_path) as agent:
        agent.set_ups(battery_status=UPS_BATTERY_LOW, output_source=UPS_OUTPUT_BATTERY)
        agent.write_extend("OB LB")
        ... poll 127.0.0.1:agent.port with community agent.community ...

The config is /work/shared/peers/snmpd.conf with the port templated and three more
`override -rw` UPS-MIB objects (seconds on battery, minutes remaining, output source), so a
test can put the UPS on battery with SNMP SETs. All state lives in the given directory.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.peers import free_udp_port, require_tool, stop_process, wait_until

SHARED_CONFIG = ROOT.parent / "shared" / "peers" / "snmpd.conf"

COMMUNITY = "public"
RW_COMMUNITY = "private"
V3_USER = "v3user"
V3_AUTH_PASSWORD = "authpass123"  # SHA
V3_PRIV_PASSWORD = "privpass123"  # AES
SYS_NAME = "test-host"

UPS_BATTERY_STATUS = "1.3.6.1.2.1.33.1.2.1.0"  # 2 normal, 3 low, 4 depleted
UPS_SECONDS_ON_BATTERY = "1.3.6.1.2.1.33.1.2.2.0"
UPS_MINUTES_REMAINING = "1.3.6.1.2.1.33.1.2.3.0"
UPS_CHARGE_PERCENT = "1.3.6.1.2.1.33.1.2.4.0"
UPS_OUTPUT_SOURCE = "1.3.6.1.2.1.33.1.4.1.0"  # 3 normal, 5 battery
UPS_BATTERY_NORMAL, UPS_BATTERY_LOW = 2, 3
UPS_OUTPUT_NORMAL, UPS_OUTPUT_BATTERY = 3, 5
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18"  # ifAlias.<ifIndex>, writable in net-snmp
# nsExtendOutput1Line."ups-status": the first line of the file `write_extend` writes (1 s cache).
EXTEND_UPS_STATUS = "1.3.6.1.4.1.8072.1.3.2.3.1.1.10.117.112.115.45.115.116.97.116.117.115"

_EXTRA_OVERRIDES = f"""
# Added by tests/peers/snmpd.py: more writable UPS-MIB objects.
override -rw  .{UPS_SECONDS_ON_BATTERY} integer 0
override -rw  .{UPS_MINUTES_REMAINING} integer 45
override -rw  .{UPS_OUTPUT_SOURCE} integer {UPS_OUTPUT_NORMAL}
"""


@dataclass
class SnmpdPeer:
    """A running snmpd: where it listens and how to change what it answers."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]
    host: str = "127.0.0.1"
    community: str = COMMUNITY

    def set_integer(self, oid: str, value: int) -> None:
        """SET an `override -rw` integer (instant, unlike extend/pass caches)."""
        from pysnmp.proto.rfc1902 import Integer32

        self._set(oid, Integer32(value))

    def set_text(self, oid: str, value: str) -> None:
        """SET a writable string, e.g. an interface's ifAlias."""
        from pysnmp.proto.rfc1902 import OctetString

        self._set(oid, OctetString(value))

    def set_ups(
        self,
        *,
        battery_status: int | None = None,
        charge_percent: int | None = None,
        output_source: int | None = None,
        seconds_on_battery: int | None = None,
        minutes_remaining: int | None = None,
    ) -> None:
        """Change the fake UPS; only the given values are SET."""
        changes = {
            UPS_BATTERY_STATUS: battery_status,
            UPS_CHARGE_PERCENT: charge_percent,
            UPS_OUTPUT_SOURCE: output_source,
            UPS_SECONDS_ON_BATTERY: seconds_on_battery,
            UPS_MINUTES_REMAINING: minutes_remaining,
        }
        for oid, value in changes.items():
            if value is not None:
                self.set_integer(oid, value)

    def write_extend(self, text: str) -> None:
        """Write the file behind nsExtendOutput1Line."ups-status" (seen within ~1 s)."""
        (self.directory / "ups_status").write_text(text + "\n", encoding="utf-8")

    def get(self, oid: str, timeout: float = 1.0) -> str:
        """GET one value as text (for checks in tests)."""
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        async def fetch() -> Any:
            bind = hlapi.ObjectType(hlapi.ObjectIdentity(oid))
            return await self._command(hlapi.get_cmd, bind, timeout=timeout)

        varbinds = asyncio.run(fetch())
        return str(varbinds[0][1].prettyPrint())

    def _set(self, oid: str, value: Any) -> None:
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        bind = hlapi.ObjectType(hlapi.ObjectIdentity(oid), value)
        asyncio.run(self._command(hlapi.set_cmd, bind, community=RW_COMMUNITY))

    async def _command(
        self, command: Any, bind: Any, community: str = COMMUNITY, timeout: float = 1.0
    ) -> Any:
        from pysnmp.hlapi.v3arch import asyncio as hlapi

        engine = hlapi.SnmpEngine()
        try:
            address = (self.host, self.port)
            target = await hlapi.UdpTransportTarget.create(address, timeout, 2)
            auth = hlapi.CommunityData(community, mpModel=1)
            indication, status, _, varbinds = await command(
                engine, auth, target, hlapi.ContextData(), bind, lookupMib=False
            )
        finally:
            engine.close_dispatcher()
        if indication or status:
            raise RuntimeError(f"snmpd {command.__name__} failed: {indication or status}")
        return varbinds


def write_config(directory: Path, port: int) -> Path:
    """The shared snmpd.conf with this run's directory and port, plus the extra overrides."""
    text = SHARED_CONFIG.read_text(encoding="utf-8").replace("@DIR@", str(directory))
    text = re.sub(r"(?m)^agentAddress\s+\S+$", f"agentAddress  udp:127.0.0.1:{port}", text)
    path = directory / "snmpd.conf"
    path.write_text(text + _EXTRA_OVERRIDES, encoding="utf-8")
    return path


def _answers(peer: SnmpdPeer) -> bool:
    if peer.process.poll() is not None:
        raise RuntimeError(f"snmpd exited with {peer.process.returncode}")
    try:
        return peer.get("1.3.6.1.2.1.1.3.0", timeout=0.2) != ""
    except RuntimeError:
        return False


def _start(snmpd: str, directory: Path, port: int) -> SnmpdPeer:
    config = write_config(directory, port)
    (directory / "persist").mkdir(exist_ok=True)
    log = (directory / "snmpd.log").open("ab")
    process = subprocess.Popen(
        [snmpd, "-f", "-C", "-m", ":", "-I", "-smux", "-Lo", "-c", str(config)],
        env={"SNMP_PERSISTENT_DIR": str(directory / "persist"), "PATH": "/usr/bin:/bin"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    return SnmpdPeer(port=port, directory=directory, process=process)


@contextmanager
def running_snmpd(directory: Path) -> Iterator[SnmpdPeer]:
    """Start snmpd in `directory` (a test's tmp_path), wait until it answers, stop it after.

    Skips (fails in CI) when snmpd is not installed. A port taken between choosing and binding
    makes snmpd exit; we then retry on another port.
    """
    snmpd = require_tool("snmpd", "snmpd")
    (directory / "ups_status").write_text("OL\n", encoding="utf-8")
    for attempt in range(3):
        peer = _start(snmpd, directory, free_udp_port())
        try:
            wait_until(lambda: _answers(peer), timeout=10, what="snmpd")  # noqa: B023
            break
        except RuntimeError:
            stop_process(peer.process)
            if attempt == 2:
                log = (directory / "snmpd.log").read_text(errors="replace")
                raise RuntimeError(f"snmpd would not start; log:\n{log[-2000:]}") from None
    try:
        yield peer
    finally:
        stop_process(peer.process)

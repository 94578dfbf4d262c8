"""A real BMC simulator (OpenIPMI's ipmi_sim) on a free 127.0.0.1 UDP port, changed at run time.

    with running_ipmi_sim(tmp_path) as bmc:
        ... pyghmi / ipmitool to 127.0.0.1:bmc.port as bmc.username / bmc.password ...
        bmc.set_sensor_value(CPU_TEMP, 90)          # CPU Temp -> 90 C (upper critical)
        bmc.set_bit(PSU1_STATUS, PSU_FAILURE, True)  # PSU1: "Failure detected"

The config is /work/shared/peers/lan.conf (LAN and console ports templated) and bmc.emu:
sensor 1 "CPU Temp" (raw = C; UNC 75, UC 85, UNR 95; starts at 40), sensor 2 "Fan 1"
(raw x 100 = RPM; LNC 1000, LC 500; starts at 6000), sensor 3 "PSU1 Status" (bit 0 presence,
1 failure, 3 AC lost), a SEL. The console is an unauthenticated control port: loopback only.
Log pyghmi sessions out before `stop()`: a cached session to a vanished BMC delays the next
login to that port by up to a minute.
"""

from __future__ import annotations

import re
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import ROOT
from tests.peers import free_port, free_udp_port, require_tool, stop_process, wait_until

SHARED_PEERS = ROOT.parent / "shared" / "peers"

USERNAME = "admin"
PASSWORD = "secret"
BMC_ADDRESS = "0x20"
CPU_TEMP, FAN_1, PSU1_STATUS = 1, 2, 3  # sensor numbers in bmc.emu
PSU_PRESENT, PSU_FAILURE, PSU_AC_LOST = 0, 1, 3  # PSU1 Status state bits
_PROMPT = b"> "


class IpmiSimError(RuntimeError):
    """ipmi_sim refused a console command or did not come up."""


class IpmiSim:
    """A running ipmi_sim: LAN (RMCP/RMCP+) on `port`, command console on `console_port`."""

    host = "127.0.0.1"
    username = USERNAME
    password = PASSWORD

    def __init__(self, directory: Path, binary: str) -> None:
        self.directory = directory
        self.binary = binary
        self.port = free_udp_port()
        self.console_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> IpmiSim:
        """Write the configs into `directory`, spawn, and wait for the console prompt."""
        lan = (SHARED_PEERS / "lan.conf").read_text()
        lan = re.sub(r"addr 127\.0\.0\.1 \d+", f"addr {self.host} {self.port}", lan)
        lan = re.sub(r"console 127\.0\.0\.1 \d+", f"console {self.host} {self.console_port}", lan)
        (self.directory / "lan.conf").write_text(lan)
        (self.directory / "bmc.emu").write_text((SHARED_PEERS / "bmc.emu").read_text())
        state = self.directory / "ipmi_state"
        state.mkdir()
        argv = [self.binary, "-c", "lan.conf", "-f", "bmc.emu", "-s", str(state), "-n"]
        log = (self.directory / "ipmi_sim.log").open("wb")
        # restore_signals=False keeps SIGPIPE ignored (Python's default) in the child: ipmi_sim
        # dies of SIGPIPE when a console client leaves before reading its answer.
        self.process = subprocess.Popen(
            argv, cwd=self.directory, stdout=log, stderr=log, restore_signals=False
        )
        log.close()
        wait_until(self._console_ready, 5, f"ipmi_sim on {self.host}:{self.port}")
        return self

    def _console_ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise IpmiSimError(f"ipmi_sim exited with {self.process.returncode}; see its log")
        self.sim("")
        return True

    def sim(self, command: str) -> str:
        """Run one ipmi_sim console command (man ipmi_sim_cmd) and return what it printed."""
        with socket.create_connection((self.host, self.console_port), 2) as sock:
            self._read_prompt(sock)
            sock.sendall(command.encode() + b"\n")
            answer = self._read_prompt(sock).decode(errors="replace")
        output = answer.removeprefix(command).strip("\r\n> ")
        if output.startswith("**"):
            raise IpmiSimError(f"ipmi_sim refused {command!r}: {output}")
        return output

    @staticmethod
    def _read_prompt(sock: socket.socket) -> bytes:
        data = b""
        while not data.endswith(_PROMPT):
            chunk = sock.recv(512)
            if not chunk:
                raise IpmiSimError("ipmi_sim closed the console")
            data += chunk
        return data

    def set_sensor_value(self, sensor: int, raw: int, log_event: bool = True) -> None:
        """Set a threshold sensor's raw reading (CPU Temp: C; Fan 1: RPM / 100)."""
        self.sim(f"sensor_set_value {BMC_ADDRESS} 0 {sensor} {raw} {int(log_event)}")

    def set_bit(self, sensor: int, bit: int, value: bool, log_event: bool = True) -> None:
        """Assert or deassert one state bit of a discrete sensor."""
        self.sim(f"sensor_set_bit {BMC_ADDRESS} 0 {sensor} {bit} {int(value)} {int(log_event)}")

    def set_only_bit(self, sensor: int, bit: int, log_event: bool = True) -> None:
        """Assert `bit` and clear every other state bit (PSU back to "present" only)."""
        self.sim(f"sensor_set_bit_clr_rest {BMC_ADDRESS} 0 {sensor} {bit} 1 {int(log_event)}")

    def reset(self) -> None:
        """Every sensor back to its healthy start value."""
        self.set_sensor_value(CPU_TEMP, 40)
        self.set_sensor_value(FAN_1, 60)
        self.set_only_bit(PSU1_STATUS, PSU_PRESENT)

    def stop(self) -> None:
        """Stop the process we started (terminate, wait, kill)."""
        if self.process is None or self.process.poll() is not None:
            return
        stop_process(self.process)


@contextmanager
def running_ipmi_sim(directory: Path) -> Iterator[IpmiSim]:
    """A started simulator with its configs and state in `directory`; stopped on exit."""
    binary = require_tool("ipmi_sim", "openipmi")
    bmc = IpmiSim(directory, binary)
    try:
        yield bmc.start()
    finally:
        bmc.stop()

"""SNMP polling of many devices: cycle time and agent CPU per cycle.

One real snmpd on loopback answers for every simulated device (same address and port, a name
each), so the figures measure the agent's side: one engine, all devices at once.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from agent.daemon import close_probes
from agent.probes.snmp.polling import build_snmp_probes
from agent.probes.snmp.settings import SnmpSettings
from agent.runner import ProbeRunner
from agent.secret import convert
from tests.peers.snmpd import COMMUNITY, running_snmpd


def settings_for(devices: int, port: int) -> SnmpSettings:
    """`devices` devices on one snmpd, each polling the system and if_mib profiles."""
    entries = [
        {"name": f"switch-{n:03d}", "address": "127.0.0.1", "port": port}
        | {"community": COMMUNITY, "profiles": ["system", "if_mib"]}
        for n in range(devices)
    ]
    return convert({"devices": entries}, SnmpSettings)


def measure(devices: int, cycles: int, port: int) -> tuple[list[float], list[float], int]:
    """Wall and CPU seconds of each timed cycle, and the devices up in the last one."""
    probes = build_snmp_probes(settings_for(devices, port))
    runner = ProbeRunner(probes, "monitor-1", 60.0)
    walls, cpus, up = [], [], 0
    try:
        runner.run_cycle()  # engine, loop thread and transports set up once
        for _ in range(cycles):
            wall, cpu = time.perf_counter(), time.process_time()
            report = runner.run_cycle()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        up = sum(r.status == "ok" for r in report.probes)
    finally:
        close_probes(probes)
    return walls, cpus, up


def main(argv: list[str] | None = None) -> int:
    """Print cycle time and CPU per cycle for N devices; exit 1 if a device was not read."""
    parser = argparse.ArgumentParser(prog="python -m bench.snmp_polling", description=__doc__)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory, running_snmpd(Path(directory)) as snmpd:
        walls, cpus, up = measure(args.devices, args.cycles, snmpd.port)
    print(f"SNMP polling, {args.devices} devices (system + if_mib), {args.cycles} cycles:")
    print(f"  cycle time     median {statistics.median(walls) * 1e3:8.0f} ms")
    print(f"  agent CPU      median {statistics.median(cpus) * 1e3:8.0f} ms per cycle")
    per_device = statistics.median(cpus) / args.devices * 1e3
    print(f"  CPU per device        {per_device:8.2f} ms")
    print(f"  devices read          {up} of {args.devices}")
    return 0 if up == args.devices else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""What the agent's probes actually emit, built from real captures (not from a declaration).

Every real capture (shared and our own) run through its probe, the host probe on a fake
procfs, the SNMP profiles (which declare their labels), a trap through the trap probe and the
collector's synthetic series. Tests compare rules and the metric catalogue against this.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import psutil

from agent.exec import CannedOutput, FixtureRunner
from agent.probe import ProbeData
from agent.probes.host import HostProbe
from agent.probes.ipmi.probe import IpmiProbe
from agent.probes.ipmi.session import IpmitoolClient
from agent.probes.lmsensors import LmSensorsProbe, LmSensorsSettings
from agent.probes.network.checks import CheckResult, failure
from agent.probes.network.probe import add_result_samples
from agent.probes.network.settings import HttpTarget, IcmpTarget, Target, TcpTarget
from agent.probes.raid.hwraid import RaidSnapshot, emit
from agent.probes.raid.mdraid import array_samples, parse_mdstat
from agent.probes.raid.megacli import parse_megacli_bbu, parse_megacli_drives
from agent.probes.raid.ssacli import parse_ssacli
from agent.probes.raid.storcli import parse_storcli_json, parse_storcli_text
from agent.probes.redfish.client import MockupSession
from agent.probes.redfish.probe import RedfishProbe
from agent.probes.smart.parse import SmartReadError, parse_device
from agent.probes.snmp.profiles import builtin_profile_names, load_profile
from agent.probes.snmp.traps import SNMP_TRAP_OID, Trap, TrapProbe
from agent.report import Sample
from rules.engine import AGENT_INSTANCES, CLOCK_SKEW, PROBE_SUCCESS
from tests.agent.fakeprocfs import FakeProcfs
from tests.conftest import OWN_FIXTURES, SHARED_FIXTURES
from tests.peers.redfish import mockup_copy


@dataclass
class EmittedMetric:
    """One metric as seen across every sample of it."""

    name: str
    always: frozenset[str]  # labels every sample carries
    sometimes: frozenset[str]  # labels at least one sample carries
    kinds: set[str] = field(default_factory=set)  # "number" and/or "string"
    probes: set[str] = field(default_factory=set)


Emitted = dict[str, EmittedMetric]


def _captures(kind: str, pattern: str = "*") -> list[Path]:
    return sorted(
        path
        for folder in (SHARED_FIXTURES / kind, OWN_FIXTURES / kind)
        for path in folder.glob(pattern)
        if path.name != "SOURCES.md"
    )


def smart_samples() -> Iterator[Sample]:
    """Every smartctl JSON capture parsed, plus the sample for a disk that cannot be read."""
    for path in _captures("smartctl", "*.json"):
        try:
            yield from parse_device(path.read_text(), "/dev/sdx")
        except SmartReadError:
            continue  # unreadable and scan captures: the probe reports those as source errors
    yield Sample("smart_device_readable", 0, {"device": "/dev/sdy"})


def md_samples() -> Iterator[Sample]:
    """Every /proc/mdstat capture through the md RAID probe's sample builder."""
    data = ProbeData()
    for path in _captures("mdstat", "*.txt"):
        for array in parse_mdstat(path.read_text()):
            array_samples(array, data)
    yield from data.samples


def _raid_snapshots() -> Iterator[tuple[RaidSnapshot, str]]:
    for path in _captures("storcli"):
        parse = parse_storcli_json if path.suffix == ".json" else parse_storcli_text
        yield parse(path.read_text()).snapshot, "storcli"
    for path in _captures("megacli", "*.txt"):
        text = path.read_text()
        if "bbu" in path.name:
            yield RaidSnapshot(batteries=parse_megacli_bbu(text)), "megacli"
        elif "truncated" not in path.name:
            yield parse_megacli_drives(text), "megacli"
    for path in _captures("ssacli", "*.txt"):
        yield parse_ssacli(path.read_text()), "ssacli"


def hwraid_samples() -> Iterator[Sample]:
    """storcli, megacli and ssacli captures through the shared controller vocabulary."""
    for snapshot, tool in _raid_snapshots():
        data = ProbeData()
        emit(data, snapshot, tool)
        yield from data.samples


def ipmi_samples() -> Iterator[Sample]:
    """Every `ipmitool sensor` capture through the IPMI probe, and a BMC that cannot be read."""
    psus = SHARED_FIXTURES / "ipmitool" / "ipmitool-sdr-type-power-supply-csv-redundant.txt"
    for path in _captures("ipmitool", "*sensor*"):
        runner = FixtureRunner(
            {("ipmitool", "sensor"): path, ("ipmitool", "sdr", "type", "Power Supply", "-c"): psus}
        )
        client = IpmitoolClient(runner, "ipmitool", 5)
        yield from (
            IpmiProbe("ipmi:local", None, client, timeout=5, read_sel=False).collect().samples
        )
    broken = FixtureRunner({("ipmitool", "sensor"): CannedOutput("", 1, "no /dev/ipmi0\n")})
    down = IpmiProbe("ipmi:x", "x", IpmitoolClient(broken, "ipmitool", 5), timeout=5)
    yield from down.collect().samples


def lmsensors_samples() -> Iterator[Sample]:
    """Every `sensors -j` capture through the lm-sensors probe."""
    for path in _captures("sensors", "*.json"):
        runner = FixtureRunner({("sensors", "-j"): path})
        yield from LmSensorsProbe(LmSensorsSettings(enabled=True), runner).collect().samples


class _Reading(NamedTuple):
    label: str
    current: float


def _temperatures() -> dict[str, list[_Reading]]:
    return {"coretemp": [_Reading("Package id 0", 45.0)]}


def _fans() -> dict[str, list[_Reading]]:
    return {"nct6775": [_Reading("", 1200.0)]}


def redfish_samples(root: Path) -> Iterator[Sample]:
    """The DMTF mockup (with the Storage we add) read by the Redfish probe from its directory."""
    probe = RedfishProbe("redfish:x", "x", MockupSession(mockup_copy(root)), url="m", timeout=30)
    yield from probe.collect().samples


def host_samples(root: Path) -> Iterator[Sample]:
    """Two cycles of the host probe on a fake procfs (CPU utilisation needs a delta)."""
    saved = psutil.PROCFS_PATH
    try:
        fake = FakeProcfs(root / "proc", root / "data disk")
        probe = HostProbe(None, fake.root, read_temperatures=_temperatures, read_fans=_fans)
        fake.set_memory(8_000_000, 2_000_000, swap_total_kib=1_000_000, swap_free_kib=900_000)
        fake.set_cpu_jiffies([(100, 900), (100, 900)])
        probe.collect()
        fake.set_cpu_jiffies([(150, 950), (100, 1000)])
        yield from probe.collect().samples
    finally:
        psutil.PROCFS_PATH = saved


class _OneTrapReceiver:
    running = True

    def start(self) -> None: ...

    def drain(self) -> list[Trap]:
        link_down = "1.3.6.1.6.3.1.1.5.3"
        return [Trap(0.0, "192.0.2.7", "v2c", ((SNMP_TRAP_OID, link_down),))]

    def dropped(self) -> dict[str, int]:
        return {"queue_full": 0}


def snmp_samples() -> Iterator[Sample]:
    """Profiles declare their labels; the probe adds snmp_up {device}; traps their counters."""
    for name in builtin_profile_names():
        profile = load_profile(name)
        for spec in profile.scalars:
            yield Sample(spec.metric, "x" if spec.enum or spec.string else 0.0, {})
        for table in profile.tables:
            labels = dict.fromkeys(table.labels, "x")
            labels |= {table.index_label: "1"} if table.index_label else {}
            for spec in table.metrics:
                yield Sample(spec.metric, "x" if spec.enum or spec.string else 0.0, labels)
    yield Sample("snmp_up", 1.0, {"device": "ups1"})  # agent/probes/snmp/polling.py, both outcomes
    yield from TrapProbe(_OneTrapReceiver()).collect().samples  # type: ignore[arg-type]


def network_samples() -> Iterator[Sample]:
    """Each kind of network target answering (https with a certificate) and not answering."""
    data = ProbeData()
    answered = CheckResult(up=True, outcome="ok", latency_seconds=0.01)
    targets: list[tuple[Target, CheckResult]] = [
        (IcmpTarget(name="gw", host="192.0.2.1"), CheckResult(True, "ok", "", 0.01, 0.2)),
        (TcpTarget(name="db", host="192.0.2.2", port=5432), answered),
        (HttpTarget(name="web", url="https://192.0.2.3/"),
         CheckResult(True, "ok", "", 0.05, status_code=200, certificate_not_after=86400.0)),
    ]  # fmt: skip
    for target, result in targets:
        add_result_samples(data, target, result, 1.0, 0.0)
        add_result_samples(data, target, failure("timeout", "no answer"), 1.0, 0.0)
    yield from data.samples


def collector_samples() -> Iterator[Sample]:
    """The series the collector adds to every report (rules/engine.py)."""
    yield Sample(PROBE_SUCCESS, 1.0, {"probe": "smart"})
    yield Sample(CLOCK_SKEW, 0.0)
    yield Sample(AGENT_INSTANCES, 1.0, {"instances": "a1b2 (0.1.0, 192.0.2.5)"})  # one agent
    yield Sample(AGENT_INSTANCES, 2.0, {"instances": "a1b2 (0.1.0, 192.0.2.5), c3d4 (...)"})


def emitted_sources(root: Path) -> dict[str, Iterable[Sample]]:
    """Probe name -> its samples from real captures (`root`: a scratch folder)."""
    (root / "host").mkdir(exist_ok=True)
    (root / "redfish").mkdir(exist_ok=True)
    return {
        "smart": smart_samples(),
        "mdraid": md_samples(),
        "hwraid": hwraid_samples(),
        "ipmi": ipmi_samples(),
        "lmsensors": lmsensors_samples(),
        "redfish": redfish_samples(root / "redfish"),
        "host": host_samples(root / "host"),
        "snmp": snmp_samples(),
        "network": network_samples(),
        "collector": collector_samples(),
    }


def collect_emitted(root: Path) -> Emitted:
    """metric -> the labels and value kinds of every sample the captures produce."""
    found: Emitted = {}
    for probe, samples in emitted_sources(root).items():
        for sample in samples:
            keys = frozenset(sample.labels)
            kind = "string" if isinstance(sample.value, str) else "number"
            seen = found.get(sample.metric)
            if seen is None:
                seen = found[sample.metric] = EmittedMetric(sample.metric, keys, keys)
            seen.always &= keys
            seen.sometimes |= keys
            seen.kinds.add(kind)
            seen.probes.add(probe)
    return found

"""Every built-in rule filters and speaks only with labels its metric actually carries.

There is no declared metric catalogue yet, so the catalogue is what the probes emit: every
real capture (shared and our own) run through its probe, the host probe on a fake procfs, the
SNMP profiles (which declare their labels) and a trap through the trap probe. A label counts as
carried only when *every* sample of the metric has it; a matcher or a `{{ labels.x }}` on a
label some samples lack is the defect this test exists for (a RAID0 exclusion that never
applied because raid_level sat on one virtual-drive metric only).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from agent.exec import CannedOutput, FixtureRunner
from agent.probe import ProbeData
from agent.probes.host import HostProbe
from agent.probes.hwraid import RaidSnapshot, emit
from agent.probes.ipmi import IpmiProbe
from agent.probes.ipmi_session import IpmitoolClient
from agent.probes.lmsensors import LmSensorsProbe, LmSensorsSettings
from agent.probes.mdraid import array_samples, parse_mdstat
from agent.probes.megacli import parse_megacli_bbu, parse_megacli_drives
from agent.probes.network.checks import CheckResult, failure
from agent.probes.network.probe import add_result_samples
from agent.probes.network.settings import HttpTarget, IcmpTarget, Target, TcpTarget
from agent.probes.redfish.client import MockupSession
from agent.probes.redfish.probe import RedfishProbe
from agent.probes.smart_parse import SmartReadError, parse_device
from agent.probes.ssacli import parse_ssacli
from agent.probes.storcli import parse_storcli_json, parse_storcli_text
from agent.report import Sample
from agent.snmp_profiles import builtin_profile_names, load_profile
from agent.traps import SNMP_TRAP_OID, Trap, TrapProbe
from rules.engine import CLOCK_SKEW, PROBE_SUCCESS
from rules.loader import load_rules
from rules.model import IMPLICIT_LABELS, Rule
from tests.agent.fakeprocfs import FakeProcfs
from tests.conftest import OWN_FIXTURES, SHARED_FIXTURES
from tests.peers.redfish import mockup_copy

Catalogue = dict[str, frozenset[str]]
_LABEL_REFERENCE = re.compile(r"\blabels\.([A-Za-z_][A-Za-z0-9_]*)")


def _captures(kind: str, pattern: str = "*") -> list[Path]:
    return sorted(
        path
        for folder in (SHARED_FIXTURES / kind, OWN_FIXTURES / kind)
        for path in folder.glob(pattern)
        if path.name != "SOURCES.md"
    )


def _smart_samples() -> Iterator[Sample]:
    for path in _captures("smartctl", "*.json"):
        try:
            yield from parse_device(path.read_text(), "/dev/sdx")
        except SmartReadError:
            continue  # unreadable and scan captures: the probe reports those as source errors
    # What the probe itself adds for a disk it cannot read.
    yield Sample("smart_device_readable", 0, {"device": "/dev/sdy"})


def _md_samples() -> Iterator[Sample]:
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


def _hwraid_samples() -> Iterator[Sample]:
    for snapshot, tool in _raid_snapshots():
        data = ProbeData()
        emit(data, snapshot, tool)
        yield from data.samples


def _ipmi_samples() -> Iterator[Sample]:
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


def _lmsensors_samples() -> Iterator[Sample]:
    for path in _captures("sensors", "*.json"):
        runner = FixtureRunner({("sensors", "-j"): path})
        yield from LmSensorsProbe(LmSensorsSettings(enabled=True), runner).collect().samples


def _redfish_samples(root: Path) -> Iterator[Sample]:
    """The DMTF mockup (with the Storage we add) read by the Redfish probe from its directory."""
    probe = RedfishProbe("redfish:x", "x", MockupSession(mockup_copy(root)), url="m", timeout=30)
    yield from probe.collect().samples


def _host_samples(root: Path) -> Iterator[Sample]:
    saved = psutil.PROCFS_PATH
    try:
        fake = FakeProcfs(root / "proc", root / "data disk")
        probe = HostProbe(None, fake.root, read_temperatures=dict, read_fans=dict)
        fake.set_cpu_jiffies([(100, 900), (100, 900)])
        probe.collect()  # CPU utilisation is a delta: the second cycle has it
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


def _snmp_samples() -> Iterator[Sample]:
    """Profiles declare their labels; the probe adds snmp_up {device}; traps their counters."""
    for name in builtin_profile_names():
        profile = load_profile(name)
        for spec in profile.scalars:
            yield Sample(spec.metric, 0.0, {})
        for table in profile.tables:
            labels = dict.fromkeys(table.labels, "x")
            labels |= {table.index_label: "1"} if table.index_label else {}
            for spec in table.metrics:
                yield Sample(spec.metric, 0.0, labels)
    yield Sample("snmp_up", 1.0, {"device": "ups1"})  # agent/probes/snmp.py, both outcomes
    yield from TrapProbe(_OneTrapReceiver()).collect().samples  # type: ignore[arg-type]


def _network_samples() -> Iterator[Sample]:
    """Each kind of target answering (https with a certificate) and not answering."""
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


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    """metric -> the labels every one of its samples carries."""
    sources = [
        _smart_samples(),
        _md_samples(),
        _hwraid_samples(),
        _ipmi_samples(),
        _redfish_samples(tmp_path_factory.mktemp("redfish")),
        _lmsensors_samples(),
        _host_samples(tmp_path_factory.mktemp("host")),
        _snmp_samples(),
        _network_samples(),
        iter([Sample(PROBE_SUCCESS, 1.0, {"probe": "smart"})]),  # the engine's own series
        iter([Sample(CLOCK_SKEW, 0.0)]),  # measured by the collector at arrival
    ]
    carried: dict[str, frozenset[str]] = {}
    for source in sources:
        for sample in source:
            keys = frozenset(sample.labels)
            carried[sample.metric] = carried.get(sample.metric, keys) & keys
    return carried


def _summaries(rule: Rule) -> list[str]:
    return list(rule.summary.values()) if isinstance(rule.summary, dict) else [rule.summary]


RULES = [compiled.rule for compiled in load_rules().rules if compiled.rule.metric]


def test_the_catalogue_covers_every_probe(catalogue: Catalogue) -> None:
    for metric in ("raid_vd_redundancy_left", "smart_health_passed", "ipmi_bmc_up",
                   "sensor_critical", "cpu_usage_ratio", "interface_oper_up",
                   "snmp_trap_received_total", "raid_array_failed",
                   "network_probe_up", "tls_certificate_expiry_days",
                   "redfish_drive_health", "redfish_storage_controller_health"):  # fmt: skip
        assert metric in catalogue, metric


@pytest.mark.parametrize("rule", RULES, ids=[rule.name for rule in RULES])
def test_rule_uses_only_labels_its_metric_carries(catalogue: Catalogue, rule: Rule) -> None:
    assert rule.metric in catalogue, f"{rule.name}: no probe emits {rule.metric!r}"
    carried = catalogue[rule.metric] | IMPLICIT_LABELS
    assert set(rule.match) <= carried, (
        f"{rule.name} matches on {sorted(set(rule.match) - carried)}, which not every "
        f"{rule.metric} sample carries (it carries {sorted(carried)})"
    )
    used = {name for text in _summaries(rule) for name in _LABEL_REFERENCE.findall(text)}
    assert used <= carried, (
        f"{rule.name}'s summary names {sorted(used - carried)}, which not every "
        f"{rule.metric} sample carries (it carries {sorted(carried)})"
    )


def test_raid_level_reaches_every_virtual_drive_metric(catalogue: Catalogue) -> None:
    vd_metrics = [metric for metric in catalogue if metric.startswith("raid_vd_")]
    assert len(vd_metrics) >= 6
    for metric in vd_metrics:
        assert {"controller", "vd", "tool", "raid_level"} <= catalogue[metric], metric

"""Built-in packs against real captures: what a monitor concludes, probe and rules together.

Each case runs a shared fixture through its probe's parser, then the samples through every
built-in rule, and checks exactly which incidents open (rule, priority, device).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.probe import ProbeData
from agent.probes.ipmi.ipmitool import parse_ipmitool_sensor, unique_names
from agent.probes.ipmi.sensors import add_reading, add_summary
from agent.probes.lmsensors import add_reading_samples, parse_sensors_json
from agent.probes.raid.hwraid import RaidSnapshot, emit
from agent.probes.raid.mdraid import array_samples, parse_mdstat
from agent.probes.raid.megacli import parse_megacli_drives
from agent.probes.raid.ssacli import parse_ssacli
from agent.probes.raid.storcli import parse_storcli_json, parse_storcli_text
from agent.probes.smart.parse import parse_device
from agent.report import Sample
from rules.engine import RuleEngine, SignalKind
from rules.loader import load_rules
from tests.conftest import OWN_FIXTURES, SHARED_FIXTURES
from tests.rules.conftest import report


def fired(samples: list[Sample], probe: str) -> set[tuple[str, str]]:
    """(rule, priority) of every incident the built-in packs open for these samples."""
    engine = RuleEngine(load_rules())
    signals = engine.evaluate(report("h1", *samples, probe=probe), 0.0)
    # The same state a day later: long enough for every `for:` (the host kept reporting).
    signals += engine.evaluate(report("h1", *samples, probe=probe), 86400.0)
    signals += engine.tick(86400.0)
    return {(s.rule.name, s.rule.rule.priority.value) for s in signals if s.kind is SignalKind.FIRE}


def mdstat_samples(path: Path) -> list[Sample]:
    data = ProbeData()
    for array in parse_mdstat(path.read_text()):
        array_samples(array, data)
    return data.samples


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "raid5-degraded-failed-member.txt",
            {("RaidArrayNoRedundancy", "P1"), ("RaidMemberFaulty", "P2")},
        ),
        (
            "raid6-two-missing-recovering-19pct.txt",
            {("RaidArrayNoRedundancy", "P1"), ("RaidArrayRebuilding", "P4")},
        ),
        (
            "raid5-degraded-recovering-12pct.txt",
            {("RaidArrayNoRedundancy", "P1"), ("RaidArrayRebuilding", "P4")},
        ),
        ("raid1-check-98pct.txt", {("RaidArrayRebuilding", "P4")}),
        # Running and reshaping with two slots still to fill: without redundancy, not failed.
        (
            "raid6-reshape-48pct.txt",
            {("RaidArrayNoRedundancy", "P1"), ("RaidArrayRebuilding", "P4")},
        ),
        ("raid6-seven-disk-healthy-bitmap.txt", set()),
        ("raid1-raid0-healthy-bitmaps-centos6.txt", set()),
        ("imsm-external-metadata-raid1.txt", set()),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_mdstat_captures_open_the_right_incidents(
    shared_fixtures: Path, fixture: str, expected: set[tuple[str, str]]
) -> None:
    assert fired(mdstat_samples(shared_fixtures / "mdstat" / fixture), "mdraid") == expected


def test_reshaping_md_array_is_degraded_not_failed_and_says_it_reshapes() -> None:
    samples = mdstat_samples(OWN_FIXTURES / "mdstat" / "raid4-reshape-count-3-of-4-map-uu__.txt")
    assert fired(samples, "mdraid") == {
        ("RaidArrayNoRedundancy", "P1"),
        ("RaidArrayRebuilding", "P4"),
    }
    engine = RuleEngine(load_rules())
    signals = engine.evaluate(report("h1", *samples, probe="mdraid"), 0.0)
    (sync,) = [s for s in signals if s.rule.name == "RaidArrayRebuilding"]
    context = {"host": "h1", "labels": dict(sync.labels), "value": sync.value}
    assert sync.rule.summary.render(context) == "RAID md127 on h1: reshape 2.1% done"


SMART_CASES: list[tuple[str, set[tuple[str, str]]]] = [
    (
        "ata-hdd-smart-failed-reallocated-535-wdc-wd3200bevt-usb.json",
        # The level warnings (535 reallocated, 84 uncorrectable) stay under the failed verdict.
        {
            ("SmartHealthFailed", "P1"),
            ("SmartPrefailAttributeAtThreshold", "P2"),
            ("SmartPendingSectors", "P2"),
        },
    ),
    (
        "nvme-critical-warning-samsung-pm1725a-mzwll3t2.json",
        {("SmartHealthFailed", "P1"), ("NvmeCriticalWarning", "P2")},
    ),
    # First seen with old damage: a warning on first sight, not silence and not a page.
    ("ata-hdd-reallocated-304-seagate-st3500418as.json", {("SmartReallocatedSectors", "P3")}),
    ("ata-ssd-retired-block-kingston-skc400.json", {("SmartReallocatedSectors", "P3")}),
    ("ata-hdd-reported-uncorrect-hp-mb0500ebncr.json", {("SmartReportedUncorrectable", "P3")}),
    (
        "scsi-sas-grown-defects-260-seagate-st373453lc.json",
        {
            ("SmartScsiGrownDefects", "P3"),
            ("SmartScsiUncorrectedReadErrors", "P3"),
            ("SmartScsiUncorrectedWriteErrors", "P3"),
        },
    ),
    ("ata-hdd-error-log-crc-hgst-hus724020ale640.json", {("SmartUdmaCrcErrors", "P3")}),
    (
        "ata-hdd-prefail-failed-in-past-samsung-hd204ui.json",
        {("SmartUdmaCrcErrors", "P3"), ("SmartPrefailAttributeFailedInPast", "P3")},
    ),
    ("ata-hdd-healthy-wdc-wd20efrx.json", set()),
    ("nvme-healthy-samsung-pm9a1-mzvl21t0.json", set()),
    ("nvme-error-log-entries-sabrent-rocket.json", set()),
    ("scsi-sas-healthy-hitachi-h109060sesun600g.json", set()),
]
OWN_SMART_CASES: list[tuple[str, set[tuple[str, str]]]] = [
    ("scsi-sas-no-header-grown-defects-56-seagate-st4000nm0043.json",
     {("SmartScsiGrownDefects", "P3")}),
    ("nvme-media-errors-7.json", {("NvmeMediaErrors", "P3")}),
    ("ata-udma-crc-errors-108.json", {("SmartUdmaCrcErrors", "P3")}),
]  # fmt: skip


@pytest.mark.parametrize(("fixture", "expected"), SMART_CASES, ids=[c[0] for c in SMART_CASES])
def test_smart_captures_open_the_right_incidents(
    shared_fixtures: Path, fixture: str, expected: set[tuple[str, str]]
) -> None:
    text = (shared_fixtures / "smartctl" / fixture).read_text()
    samples = parse_device(text, "/dev/sdx")
    assert fired(samples, "smart") == expected


@pytest.mark.parametrize(
    ("fixture", "expected"), OWN_SMART_CASES, ids=[c[0] for c in OWN_SMART_CASES]
)
def test_own_smart_captures_open_the_right_incidents(
    fixture: str, expected: set[tuple[str, str]]
) -> None:
    samples = parse_device((OWN_FIXTURES / "smartctl" / fixture).read_text(), "/dev/sdx")
    assert fired(samples, "smart") == expected


def test_crc_errors_blame_the_link_not_the_medium() -> None:
    engine = RuleEngine(load_rules())
    labels = {"device": "/dev/sda", "model": "x", "serial": "y", "protocol": "ATA"}
    sample = Sample("smart_udma_crc_errors", 108, labels)
    (signal,) = engine.evaluate(report("h1", sample, probe="smart"), 0.0)
    context = {"host": "h1", "labels": labels, "value": signal.value}
    summary = signal.rule.summary.render(context)
    assert "cable" in summary and "not the disk's medium" in summary


def raid_samples(snapshot: RaidSnapshot, tool: str) -> list[Sample]:
    data = ProbeData()
    emit(data, snapshot, tool)
    return data.samples


def test_optimal_raid6_behind_storcli_is_quiet(shared_fixtures: Path) -> None:
    text = (
        shared_fixtures / "storcli" / "storcli-c0-show-all-raid6-hdd-optimal-bbu.json"
    ).read_text()
    samples = raid_samples(parse_storcli_json(text).snapshot, "storcli")
    assert fired(samples, "storcli") == set(), "optimal RAID6 with a good BBU is quiet"


def test_degraded_raid10_behind_storcli_pages_p1_and_names_the_drive(shared_fixtures: Path) -> None:
    path = (
        shared_fixtures / "storcli" / "storcli-text-3-controllers-raid10-degraded-drive-offline.txt"
    )
    samples = raid_samples(parse_storcli_text(path.read_text()).snapshot, "storcli")
    # Controller 2 says "Needs Attention": the VD and drive rules say why, so it stays quiet.
    assert fired(samples, "storcli") == {
        ("RaidVirtualDriveNoRedundancy", "P1"),
        ("RaidPhysicalDriveFailed", "P2"),
    }


def test_controller_needing_attention_alone_is_a_warning() -> None:
    labels = {"controller": "2", "tool": "storcli"}
    sample = Sample("raid_controller_ok", 0.0, labels)
    assert fired([sample], "storcli") == {("RaidControllerNeedsAttention", "P3")}


def test_raid0_volumes_do_not_page_for_having_no_redundancy() -> None:
    text = (OWN_FIXTURES / "megacli" / "megacli-ldinfo-raid0-x4-optimal.txt").read_text()
    assert fired(raid_samples(parse_megacli_drives(text), "megacli"), "megacli") == set()


@pytest.mark.parametrize(
    "fixture",
    ["hpacucli-msa1500-two-arrays-failed-lds-ok.txt", "hpacucli-p410-array-b-failed-ld-ok.txt",
     "derived-p408i-a-array-a-status-failed-ld-ok.txt"],
)  # fmt: skip
def test_failed_hpe_array_pages_p1_although_its_logical_drives_say_ok(fixture: str) -> None:
    snapshot = parse_ssacli((OWN_FIXTURES / "ssacli" / fixture).read_text())
    assert fired(raid_samples(snapshot, "ssacli"), "ssacli") == {("RaidVirtualDriveFailed", "P1")}


@pytest.mark.parametrize(
    ("tool", "fixture"),
    [("megacli", "megacli/megacli-pdlist-media-errors-predictive-failure.txt"),
     ("ssacli", "ssacli/derived-p408i-a-drive-2i-1-1-predictive-failure.txt")],
    ids=["megacli-count", "ssacli-status"],
)  # fmt: skip
def test_predicted_drive_failure_is_a_warning_whichever_tool_says_it(
    shared_fixtures: Path, tool: str, fixture: str
) -> None:
    folder = shared_fixtures if tool == "megacli" else OWN_FIXTURES
    text = (folder / fixture).read_text()
    snapshot = parse_megacli_drives(text) if tool == "megacli" else parse_ssacli(text)
    assert ("RaidPhysicalDrivePredictiveFailure", "P3") in fired(raid_samples(snapshot, tool), tool)


def test_rising_reallocations_page_and_a_stable_old_count_warns_once() -> None:
    engine = RuleEngine(load_rules())
    labels = {"device": "/dev/sda", "model": "x", "serial": "y", "protocol": "ATA"}

    def at(t: float, count: float) -> set[str]:
        sample = Sample("smart_reallocated_sectors", count, labels)
        return {s.rule.name for s in engine.evaluate(report("h1", sample, probe="smart"), t)}

    assert at(0, 304) == {"SmartReallocatedSectors"}, "first sight of old damage: a warning"
    assert at(600, 304) == set(), "304 for years is not news"
    assert at(1200, 310) == {"SmartReallocatedSectorsRising"}


def test_unreadable_smart_device_is_reported_after_half_an_hour() -> None:
    # What the smart probe emits for nvme-open-permission-denied.json (see test_smart.py).
    sample = Sample("smart_device_readable", 0.0, {"device": "/dev/nvme0"})
    assert fired([sample], "smart") == {("SmartDeviceUnreadable", "P4")}


def sensors_samples(path: Path) -> list[Sample]:
    data = ProbeData()
    for reading in parse_sensors_json(path.read_text()):
        add_reading_samples(data, reading)
    return data.samples


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # Real ASRock capture: SYSTIN over crit with no flag; the AUXTIN alarms stay under
        # their critical incidents; voltages with unset limits stay quiet.
        (OWN_FIXTURES / "sensors" / "sensors-j-asrock-nct6798-unset-limits-hot-aux-intrusion.json",
         {("SensorBeyondCriticalLimit", "P2"), ("SensorChassisIntrusion", "P3")}),
        (OWN_FIXTURES / "sensors" / "sensors-j-nct6798-fan-stopped-cpu-hot-intrusion.json",
         {("SensorAlarm", "P3"), ("SensorChassisIntrusion", "P3")}),
        (SHARED_FIXTURES / "sensors" / "sensors-j-intel-coretemp-2x-nvme-normal.json", set()),
        (SHARED_FIXTURES / "sensors" / "sensors-j-intel-coretemp-2x-nvme-fan-test.json", set()),
    ],
    ids=["asrock-real", "nct6798-failing", "coretemp-normal", "coretemp-fan-test"],
)  # fmt: skip
def test_lm_sensors_captures_open_the_right_incidents(
    path: Path, expected: set[tuple[str, str]]
) -> None:
    assert fired(sensors_samples(path), "lmsensors") == expected


def ipmi_samples(text: str) -> list[Sample]:
    data = ProbeData()
    readings = unique_names(parse_ipmitool_sensor(text))
    for reading in readings:
        add_reading(data, reading)
    add_summary(data, readings)
    data.add("ipmi_bmc_up", 1.0)
    return data.samples


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        # "nc" on the intrusion switch: the intrusion rule speaks, not a generic warning too.
        ("ipmitool-sensor-supermicro-intrusion-nc.txt", {("ChassisIntrusion", "P3")}),
        ("ipmitool-sensor-supermicro-single-cpu-ok.txt", set()),
        ("ipmitool-sensor-supermicro-fans-na.txt", set()),
        ("ipmitool-sensor-hpe-ilo-many-na.txt", set()),
        ("ipmitool-sensor-hp-ilo-fan-percent.txt", set()),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_ipmitool_captures_open_the_right_incidents(
    shared_fixtures: Path, fixture: str, expected: set[tuple[str, str]]
) -> None:
    text = (shared_fixtures / "ipmitool" / fixture).read_text()
    assert fired(ipmi_samples(text), "ipmi:local") == expected


def test_sensor_in_its_non_critical_band_is_a_warning(shared_fixtures: Path) -> None:
    text = (
        shared_fixtures / "ipmitool" / "ipmitool-sensor-supermicro-single-cpu-ok.txt"
    ).read_text()
    line = next(line for line in text.splitlines() if line.startswith("CPU Temp"))
    hot = text.replace(line, line.replace("| ok ", "| nc ", 1))
    assert hot != text
    assert fired(ipmi_samples(hot), "ipmi:local") == {("IpmiSensorWarning", "P3")}


@pytest.mark.parametrize(
    ("probe", "expected"),
    [
        ("smart", {("HardwareProbeFailing", "P2")}),
        ("mdraid", {("HardwareProbeFailing", "P2")}),
        ("ipmi:local", {("HardwareProbeFailing", "P2")}),
        ("snmp:core-switch", {("ProbeFailing", "P4")}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_probe_that_cannot_watch_hardware_pages_p2(
    probe: str, expected: set[tuple[str, str]]
) -> None:
    engine = RuleEngine(load_rules())
    signals = engine.evaluate(report("h1", probe=probe, status="error"), 0.0)
    signals += engine.evaluate(report("h1", probe=probe, status="error"), 900.0)
    signals += engine.tick(900.0)
    got = {(s.rule.name, s.rule.rule.priority.value) for s in signals if s.kind is SignalKind.FIRE}
    assert got == expected


def test_messages_name_the_controller_with_the_drive(shared_fixtures: Path) -> None:
    path = (
        shared_fixtures / "storcli" / "storcli-text-3-controllers-raid10-degraded-drive-offline.txt"
    )
    samples = raid_samples(parse_storcli_text(path.read_text()).snapshot, "storcli")
    engine = RuleEngine(load_rules())
    signals = engine.evaluate(report("h1", *samples, probe="storcli"), 0.0)
    summaries = {
        s.rule.summary.render({"host": s.host, "labels": dict(s.labels), "value": s.value})
        for s in signals
        if s.kind is SignalKind.FIRE
    }
    assert summaries == {
        "Controller 2 VD 0/0 (RAID10, storcli) on h1 has no redundancy left",
        "Controller 2 drive 88:9 (storcli) on h1 has failed",
    }

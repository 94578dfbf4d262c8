"""SMART probe: every captured smartctl answer yields the conclusion a monitor must draw."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent.exec import CannedOutput, CommandError, CommandResult, FixtureRunner, SubprocessRunner
from agent.probe import ProbeData, ProbeError
from agent.probes.kind import ProbeContext
from agent.probes.smart.parse import (
    SmartReadError,
    decode_exit_status,
    parse_device,
    parse_scan,
)
from agent.probes.smart.probe import (
    SmartProbe,
    SmartSettings,
    build_smart_probes,
    device_command,
    scan_command,
)
from agent.report import Sample
from tests.conftest import OWN_FIXTURES
from tests.peers import require_tool

OWN = OWN_FIXTURES / "smartctl"
IDENTITY = {"device", "model", "serial", "protocol"}
HOUR = 3600


def flat(samples: Sequence[Sample]) -> dict[str, float | str]:
    """metric{non-identity labels} -> value, so expectations read like PromQL."""
    out: dict[str, float | str] = {}
    for sample in samples:
        extra = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()) if k not in IDENTITY)
        out[f"{sample.metric}{{{extra}}}" if extra else sample.metric] = sample.value
    return out


def failed(name: str, attribute_id: int, kind: str, when: str) -> str:
    return (
        f"smart_attribute_failed{{attribute={name},attribute_id={attribute_id},"
        f"kind={kind},when_failed={when}}}"
    )


PREFAIL_AT_THRESHOLD = "smart_attributes_at_or_below_threshold{kind=prefail}"
OLDAGE_AT_THRESHOLD = "smart_attributes_at_or_below_threshold{kind=oldage}"
HEALTHY_ATA = {
    "smart_health_passed": 1,
    "smart_disk_failing": 0,
    "smart_prefail_below_threshold_now": 0,
    PREFAIL_AT_THRESHOLD: 0,
    OLDAGE_AT_THRESHOLD: 0,
}

# file -> (device label, expected values; None = the metric must be absent). Truth taken
# from each file and from ../shared/fixtures/SOURCES.md.
CASES: dict[str, tuple[str, dict[str, float | str | None]]] = {
    "ata-hdd-healthy-wdc-wd20efrx.json": (
        "/dev/sdb",
        {**HEALTHY_ATA, "smart_exit_status": 0, "smart_temperature_celsius": 34,
         "smart_power_on_seconds": 47657 * HOUR, "smart_reallocated_sectors": 0,
         "smart_pending_sectors": 0, "smart_offline_uncorrectable_sectors": 0},
    ),
    "ata-hdd-healthy-toshiba-mg09aca18te.json": (
        "/dev/sdd",
        {**HEALTHY_ATA, "smart_exit_status": 0, "smart_temperature_celsius": 30,
         "smart_power_on_seconds": 4772 * HOUR, "smart_reallocated_sectors": 0,
         "smart_pending_sectors": 0},
    ),
    "ata-hdd-healthy-seagate-exos-x16-packed-raw-values.json": (
        "/dev/sda",
        # raw 51540393996 = 0x000C_000C_000C: three packed words, the low one is the count.
        {**HEALTHY_ATA, "smart_exit_status": 0, "smart_command_timeouts": 12,
         "smart_temperature_celsius": 26, "smart_power_on_seconds": 13114 * HOUR,
         "smart_udma_crc_errors": 0},
    ),
    "ata-hdd-reallocated-304-seagate-st3500418as.json": (
        "/dev/sda",
        {**HEALTHY_ATA, "smart_reallocated_sectors": 304, "smart_pending_sectors": 0,
         "smart_exit_status": 0, "smart_temperature_celsius": 33},
    ),
    "ata-hdd-reported-uncorrect-hp-mb0500ebncr.json": (
        "/dev/sdb",
        {**HEALTHY_ATA, "smart_reported_uncorrectable_errors": 1, "smart_reallocated_sectors": 0},
    ),
    "ata-hdd-error-log-crc-hgst-hus724020ale640.json": (
        "/dev/sdb",
        {**HEALTHY_ATA, "smart_exit_status": 64, "smart_error_log_has_errors": 1,
         "smart_udma_crc_errors": 12, "smart_reallocated_sectors": 0,
         "smart_power_on_seconds": 83425 * HOUR},
    ),
    "ata-hdd-smart-failed-reallocated-535-wdc-wd3200bevt-usb.json": (
        "/dev/sdb",
        {"smart_health_passed": 0, "smart_exit_status": 216, "smart_disk_failing": 1,
         "smart_prefail_below_threshold_now": 1, "smart_error_log_has_errors": 1,
         "smart_selftest_log_has_errors": 1, "smart_failed_in_past": 0,
         "smart_reallocated_sectors": 535, "smart_pending_sectors": 1,
         "smart_reported_uncorrectable_errors": 84, "smart_command_timeouts": 132,
         PREFAIL_AT_THRESHOLD: 1, OLDAGE_AT_THRESHOLD: 0,
         failed("Reallocated_Sector_Ct", 5, "prefail", "now"): 1,
         failed("Airflow_Temperature_Cel", 190, "oldage", "past"): 1},
    ),
    "ata-hdd-prefail-failed-in-past-samsung-hd204ui.json": (
        "/dev/sdb",
        {**HEALTHY_ATA, "smart_exit_status": 96, "smart_failed_in_past": 1,
         "smart_error_log_has_errors": 1, "smart_udma_crc_errors": 1,
         "smart_temperature_celsius": 27, failed("Spin_Up_Time", 3, "prefail", "past"): 1},
    ),
    "ata-hdd-smart-command-failed-wdc-wd2500bevs-usb.json": (
        "/dev/sda",
        {**HEALTHY_ATA, "smart_exit_status": 4, "smart_command_failed": 1,
         "smart_reallocated_sectors": 0, "smart_temperature_celsius": 26},
    ),
    "ata-megaraid-passthrough-seagate-st6000nm0115.json": (
        "/dev/bus/6 [megaraid,14]",
        {**HEALTHY_ATA, "smart_exit_status": 4, "smart_command_failed": 1,
         "smart_reallocated_sectors": 0, "smart_command_timeouts": 0,
         "smart_temperature_celsius": 25, "smart_power_on_seconds": 44316 * HOUR},
    ),
    "ata-ssd-command-timeouts-micron-5300.json": (
        "/dev/sda",
        {**HEALTHY_ATA, "smart_command_timeouts": 29, "smart_udma_crc_errors": 24,
         "smart_reallocated_sectors": 0},
    ),
    "ata-ssd-healthy-intel-s4510-ssdsc2kb480g8.json": (
        "/dev/sdm",
        # Intel names 197 "Pending_Sector_Count" and 199 "CRC_Error_Count": same ids.
        {**HEALTHY_ATA, "smart_pending_sectors": 0, "smart_udma_crc_errors": 0,
         "smart_reported_uncorrectable_errors": 0, "smart_temperature_celsius": 30},
    ),
    "ata-ssd-healthy-samsung-pm883-mz7lh1t9.json": (
        "/dev/sda",
        {**HEALTHY_ATA, "smart_exit_status": 0, "smart_reallocated_sectors": 0,
         "smart_temperature_celsius": 24},
    ),
    "ata-ssd-retired-block-kingston-skc400.json": (
        "/dev/sda",
        # id 5 is "Retired_Block_Count" here; 197 is an unused "Not_In_Use" slot.
        {**HEALTHY_ATA, "smart_reallocated_sectors": 1, "smart_pending_sectors": None},
    ),
    "nvme-healthy-samsung-pm9a1-mzvl21t0.json": (
        "/dev/nvme0",
        {"smart_health_passed": 1, "smart_nvme_critical_warning": 0,
         "smart_nvme_percentage_used_ratio": 0.16, "smart_nvme_available_spare_ratio": 1.0,
         "smart_nvme_available_spare_threshold_ratio": 0.1, "smart_nvme_media_errors": 0,
         "smart_reallocated_sectors": None},
    ),
    "nvme-healthy-intel-p4510-ssdpe2kx080t8.json": (
        "/dev/nvme0",
        {"smart_health_passed": 1, "smart_nvme_critical_warning": 0,
         "smart_nvme_percentage_used_ratio": 0.0, "smart_temperature_celsius": 29,
         "smart_power_on_seconds": 12164 * HOUR},
    ),
    "nvme-wear-75pct-intel-p4500-ssdpe2kx020t7.json": (
        "/dev/nvme6",
        {"smart_health_passed": 1, "smart_nvme_percentage_used_ratio": 0.75,
         "smart_nvme_available_spare_ratio": 0.99, "smart_nvme_critical_warning": 0,
         "smart_temperature_celsius": 19},
    ),
    "nvme-critical-warning-samsung-pm1725a-mzwll3t2.json": (
        "/dev/nvme0",
        {"smart_health_passed": 0, "smart_exit_status": 8, "smart_disk_failing": 1,
         "smart_nvme_critical_warning": 0x10, "smart_nvme_volatile_backup_failed": 1,
         "smart_nvme_spare_below_threshold": 0, "smart_nvme_read_only": 0,
         "smart_nvme_reliability_degraded": 0, "smart_nvme_temperature_warning": 0,
         "smart_nvme_media_errors": 0, "smart_temperature_celsius": 40},
    ),
    "nvme-error-log-entries-sabrent-rocket.json": (
        "/dev/nvme0",
        {"smart_health_passed": 1, "smart_exit_status": 0, "smart_nvme_error_log_entries": 4871,
         "smart_nvme_media_errors": 0, "smart_temperature_celsius": 48,
         "smart_nvme_percentage_used_ratio": 0.04,
         "smart_nvme_available_spare_threshold_ratio": 0.05},
    ),
    "scsi-sas-healthy-hitachi-h109060sesun600g.json": (
        "/dev/sda",
        {"smart_health_passed": 1, "smart_scsi_grown_defects": 0,
         "smart_scsi_uncorrected_read_errors": 0, "smart_scsi_uncorrected_write_errors": 0,
         "smart_temperature_celsius": 27, "smart_power_on_seconds": 982 * HOUR + 60},
    ),
    "scsi-sas-grown-defects-260-seagate-st373453lc.json": (
        "/dev/sdb",
        {"smart_health_passed": 1, "smart_scsi_grown_defects": 260,
         "smart_scsi_uncorrected_read_errors": 1, "smart_scsi_uncorrected_write_errors": 535,
         "smart_temperature_celsius": 33, "smart_power_on_seconds": 102880 * HOUR + 59 * 60},
    ),
}  # fmt: skip
# Our own real captures (tests/fixtures/smartctl/SOURCES.md), checked the same way.
OWN_CASES: dict[str, tuple[str, dict[str, float | str | None]]] = {
    "scsi-sas-no-header-grown-defects-56-seagate-st4000nm0043.json": (
        "/dev/sdg",
        # No json_format_version and no "smartctl" block at all: the device data still counts.
        {"smart_health_passed": 1, "smart_scsi_grown_defects": 56,
         "smart_scsi_uncorrected_read_errors": 0, "smart_scsi_uncorrected_write_errors": 0,
         "smart_temperature_celsius": 34, "smart_exit_status": 0},
    ),
    "nvme-media-errors-7.json": (
        "/dev/nvme0",
        {"smart_health_passed": 1, "smart_nvme_media_errors": 7,
         "smart_nvme_error_log_entries": 62, "smart_nvme_critical_warning": 0},
    ),
    "ata-udma-crc-errors-108.json": (
        "/dev/sda",
        {**HEALTHY_ATA, "smart_udma_crc_errors": 108, "smart_reallocated_sectors": 0,
         "smart_reported_uncorrectable_errors": 0},
    ),
}  # fmt: skip
UNREADABLE_CASES = {
    "nvme-open-permission-denied.json": ("/dev/nvme0", ["Permission denied", "CAP_SYS_ADMIN"]),
}
PROTOCOLS = {"ata": "ATA", "nvme": "NVMe", "scsi": "SCSI"}


def test_every_shared_smartctl_fixture_has_a_case(shared_fixtures: Path) -> None:
    files = {p.name for p in (shared_fixtures / "smartctl").glob("*.json")}
    assert files == set(CASES) | set(UNREADABLE_CASES)
    assert len(files) == 22


@pytest.mark.parametrize(
    ("name", "case"), [*CASES.items(), *OWN_CASES.items()], ids=[*CASES, *OWN_CASES]
)
def test_fixture_yields_the_right_conclusion(
    shared_fixtures: Path, name: str, case: tuple[str, dict[str, float | str | None]]
) -> None:
    device, expected = case
    folder = OWN if name in OWN_CASES else shared_fixtures / "smartctl"
    samples = parse_device((folder / name).read_text(), device)
    got = flat(samples)
    assert {key: got.get(key) for key in expected} == expected
    # Healthy disks have no failing attribute series; failing ones exactly those listed.
    failing = {key for key in got if key.startswith("smart_attribute_failed")}
    assert failing == {key for key in expected if key.startswith("smart_attribute_failed")}
    labelled = next(s for s in samples if s.metric == "smart_health_passed").labels
    assert labelled["device"] == device
    assert labelled["protocol"] == PROTOCOLS[name.split("-", maxsplit=1)[0]]
    assert labelled["model"] and labelled["serial"]
    assert got["smart_device_readable"] == 1


@pytest.mark.parametrize(("name", "case"), UNREADABLE_CASES.items(), ids=list(UNREADABLE_CASES))
def test_unreadable_fixture_is_a_read_error_naming_the_fix(
    shared_fixtures: Path, name: str, case: tuple[str, list[str]]
) -> None:
    device, phrases = case
    with pytest.raises(SmartReadError) as caught:
        parse_device((shared_fixtures / "smartctl" / name).read_text(), device)
    assert "exit status 2" in str(caught.value)
    for phrase in phrases:
        assert phrase in str(caught.value)


def test_exit_status_bits_decode_to_named_flags() -> None:
    flags = decode_exit_status(216)
    assert {name for name, on in flags.items() if on} == {
        "smart_disk_failing",
        "smart_prefail_below_threshold_now",
        "smart_error_log_has_errors",
        "smart_selftest_log_has_errors",
    }
    assert decode_exit_status(0b11) == {**dict.fromkeys(flags, False),
                                        "command_line_error": True,
                                        "device_open_failed": True}  # fmt: skip


def test_disk_in_standby_is_reported_as_such_not_as_error() -> None:
    samples = parse_device((OWN / "standby-sat-sdc.json").read_text(), "/dev/sdc")
    assert flat(samples) == {
        "smart_device_readable": 1,
        "smart_device_standby": 1,
        "smart_power_mode": "STANDBY",
    }


def test_scan_without_devices_key_means_no_devices() -> None:
    # Captured on this machine: smartctl 7.3 prints no "devices" key at all.
    assert "devices" not in json.loads((OWN / "scan-open-no-devices.json").read_text())
    assert parse_scan((OWN / "scan-open-no-devices.json").read_text()) == []


# --- the probe end to end, with captured answers -------------------------------------------

SETTINGS = SmartSettings()
SCAN = tuple(scan_command(SETTINGS))


def read_argv(name: str, device_type: str, settings: SmartSettings = SETTINGS) -> tuple[str, ...]:
    return tuple(device_command(settings, name, device_type))


def shared(shared_fixtures: Path, name: str) -> Path:
    return shared_fixtures / "smartctl" / name


def by_device(data: ProbeData, metric: str) -> dict[str, float | str]:
    return {s.labels["device"]: s.value for s in data.samples if s.metric == metric}


def test_device_command_line_is_the_documented_one() -> None:
    assert read_argv("/dev/bus/0", "megaraid,14") == (
        "smartctl", "--json", "--info", "--health", "--attributes", "--log=error",
        "--log=selftest", "--tolerance=verypermissive", "--nocheck=standby",
        "-d", "megaraid,14", "/dev/bus/0",
    )  # fmt: skip
    sudo = SmartSettings(use_sudo=True, nocheck_standby=False, smartctl_path="/usr/sbin/smartctl")
    assert read_argv("/dev/sda", "auto", sudo)[:4] == ("sudo", "-n", "/usr/sbin/smartctl", "--json")
    assert "--nocheck=standby" not in read_argv("/dev/sda", "auto", sudo)
    assert read_argv("/dev/sda", "auto", sudo)[-1] == "/dev/sda"


def test_probe_reads_scanned_devices_and_reports_the_one_it_cannot_open(
    shared_fixtures: Path,
) -> None:
    runner = FixtureRunner(
        {
            SCAN: OWN / "scan-open-sda-nvme0-megaraid-sdb-denied.json",
            read_argv("/dev/sda", "sat"): shared(
                shared_fixtures, "ata-hdd-reallocated-304-seagate-st3500418as.json"
            ),
            read_argv("/dev/nvme0", "nvme"): shared(
                shared_fixtures, "nvme-critical-warning-samsung-pm1725a-mzwll3t2.json"
            ),
            read_argv("/dev/bus/6", "sat+megaraid,14"): shared(
                shared_fixtures, "ata-megaraid-passthrough-seagate-st6000nm0115.json"
            ),
        }
    )
    probe = build_smart_probes(SETTINGS, ProbeContext(runner))[0]
    data = probe.collect()
    assert (probe.name, probe.target, probe.min_interval_seconds) == ("smart", None, 600)
    assert by_device(data, "smart_device_readable") == {
        "/dev/sda": 1,
        "/dev/sdb": 0,
        "/dev/nvme0": 1,
        "/dev/bus/6 [megaraid,14]": 1,
    }
    assert list(data.source_errors) == ["/dev/sdb"]
    assert "Permission denied" in data.source_errors["/dev/sdb"]
    assert by_device(data, "smart_reallocated_sectors") == {
        "/dev/sda": 304,
        "/dev/bus/6 [megaraid,14]": 0,
    }
    assert by_device(data, "smart_nvme_critical_warning") == {"/dev/nvme0": 16}
    assert by_device(data, "smart_health_passed")["/dev/nvme0"] == 0
    assert flat(data.samples)["smart_devices"] == 4
    assert len(runner.calls) == 4  # the scan and three reads; sdb was never run


def _truncated(shared_fixtures: Path) -> str:
    return shared(shared_fixtures, "ata-hdd-healthy-wdc-wd20efrx.json").read_text()[:700]


GARBAGE = {
    "truncated-json": (_truncated, 0, "invalid JSON"),
    "smartctl-6-text": (lambda _: "UNRECOGNIZED OPTION: json\n", 1, "invalid JSON"),
    "empty-output": (lambda _: "", 0, "printed nothing"),
    "json-array": (lambda _: "[1, 2]", 0, "unexpected JSON"),
    # Without the header block the device data is judged, and here there is none.
    "no-format-version-no-data": (lambda _: '{"smartctl": {}}', 0, "no SMART data"),
    "format-version-2": (
        lambda _: (OWN / "json-format-version-2.json").read_text(),
        0,
        "JSON format version 2.0",
    ),
    "wrong-field-type": (
        lambda _: (
            '{"json_format_version": [1, 0], "device": {"name": "/dev/sda"},'
            ' "smart_status": {"passed": "yes"}}'
        ),
        0,
        "smart_status.passed",
    ),
    "unable-to-detect-type": (
        lambda _: (OWN / "vda-unable-to-detect-device-type.json").read_text(),
        1,
        "Unable to detect device type",
    ),
    "open-not-permitted": (
        lambda _: (OWN / "vda-sat-open-operation-not-permitted.json").read_text(),
        2,
        "Operation not permitted",
    ),
    "no-smart-data": (
        lambda _: (
            '{"json_format_version": [1, 0], "smartctl": {"exit_status": 4, "messages":'
            ' [{"string": "SMART support is: Unavailable", "severity": "error"}]},'
            ' "device": {"name": "/dev/sda", "type": "scsi", "protocol": "SCSI"}}'
        ),
        4,
        "no SMART data",
    ),
}


@pytest.mark.parametrize(("make", "returncode", "phrase"), GARBAGE.values(), ids=list(GARBAGE))
def test_garbage_answer_is_a_source_error_and_other_devices_still_report(
    shared_fixtures: Path, make: Any, returncode: int, phrase: str
) -> None:
    extra = [{"name": "/dev/sda"}, {"name": "/dev/nvme0", "type": "nvme"}]
    settings = msgspec.convert({"scan": False, "extra_devices": extra}, SmartSettings)
    runner = FixtureRunner(
        {
            read_argv("/dev/sda", "auto"): CannedOutput(make(shared_fixtures), returncode),
            read_argv("/dev/nvme0", "nvme"): shared(
                shared_fixtures, "nvme-healthy-intel-p4510-ssdpe2kx080t8.json"
            ),
        }
    )
    data = SmartProbe(settings, runner).collect()
    assert list(data.source_errors) == ["/dev/sda"]
    assert phrase in data.source_errors["/dev/sda"]
    assert by_device(data, "smart_device_readable") == {"/dev/sda": 0, "/dev/nvme0": 1}
    assert by_device(data, "smart_health_passed") == {"/dev/nvme0": 1}


class OneDeviceHangsRunner:
    """Answers like FixtureRunner, but one device's smartctl never returns in time."""

    def __init__(self, hanging: str, answers: FixtureRunner) -> None:
        self.hanging = hanging
        self.answers = answers

    def run(self, argv: Sequence[str], timeout: float) -> CommandResult:
        if argv[-1] == self.hanging:
            raise CommandError(f"{' '.join(argv)}: no answer within {timeout:g} s")
        return self.answers.run(argv, timeout)


def test_device_that_times_out_is_a_source_error_not_a_probe_error(
    shared_fixtures: Path,
) -> None:
    answers = FixtureRunner(
        {
            SCAN: OWN / "scan-open-sda-nvme0-megaraid-sdb-denied.json",
            read_argv("/dev/sda", "sat"): shared(
                shared_fixtures, "ata-hdd-healthy-wdc-wd20efrx.json"
            ),
            read_argv("/dev/bus/6", "sat+megaraid,14"): shared(
                shared_fixtures, "ata-megaraid-passthrough-seagate-st6000nm0115.json"
            ),
        }
    )
    data = SmartProbe(SETTINGS, OneDeviceHangsRunner("/dev/nvme0", answers)).collect()
    assert "no answer within 30 s" in data.source_errors["/dev/nvme0"]
    assert by_device(data, "smart_health_passed") == {
        "/dev/sda": 1,
        "/dev/bus/6 [megaraid,14]": 1,
    }


def test_include_exclude_and_extra_devices_choose_what_is_read(shared_fixtures: Path) -> None:
    settings = msgspec.convert(
        {
            "include": ["sd*", "/dev/bus/*"],
            "exclude": ["/dev/sdb"],
            # Same disk as the scanned "sat+megaraid,14": read once, not twice.
            "extra_devices": [{"name": "/dev/bus/6", "type": "megaraid,14"}],
        },
        SmartSettings,
    )
    runner = FixtureRunner(
        {
            SCAN: OWN / "scan-open-sda-nvme0-megaraid-sdb-denied.json",
            read_argv("/dev/sda", "sat"): shared(
                shared_fixtures, "ata-hdd-healthy-wdc-wd20efrx.json"
            ),
            read_argv("/dev/bus/6", "sat+megaraid,14"): shared(
                shared_fixtures, "ata-megaraid-passthrough-seagate-st6000nm0115.json"
            ),
        }
    )
    data = SmartProbe(settings, runner).collect()
    assert runner.calls == [
        SCAN,
        read_argv("/dev/sda", "sat"),
        read_argv("/dev/bus/6", "sat+megaraid,14"),
    ]
    assert data.source_errors == {}
    assert flat(data.samples)["smart_devices"] == 2


def test_missing_smartctl_is_a_probe_error_saying_how_to_fix_it(tmp_path: Path) -> None:
    settings = SmartSettings(smartctl_path=str(tmp_path / "smartctl"))
    with pytest.raises(ProbeError) as caught:
        SmartProbe(settings, SubprocessRunner()).collect()
    assert "not found" in str(caught.value)
    assert "apt-get install smartmontools" in str(caught.value)
    assert "smart.smartctl_path" in str(caught.value)


def test_missing_smartctl_without_scan_is_a_probe_error_too(tmp_path: Path) -> None:
    settings = msgspec.convert(
        {"smartctl_path": str(tmp_path / "smartctl"), "scan": False,
         "extra_devices": [{"name": "/dev/sda", "type": "sat"}]},
        SmartSettings,
    )  # fmt: skip
    with pytest.raises(ProbeError, match="install smartmontools"):
        SmartProbe(settings, SubprocessRunner()).collect()


def test_scan_printing_garbage_is_a_probe_error() -> None:
    runner = FixtureRunner({SCAN: CannedOutput("smartctl: unrecognized option '--json'", 1)})
    with pytest.raises(ProbeError, match="invalid JSON"):
        SmartProbe(SETTINGS, runner).collect()


def test_settings_defaults_and_validation() -> None:
    settings = msgspec.convert({}, SmartSettings)
    assert (settings.min_interval_seconds, settings.timeout_seconds) == (600, 30)
    assert settings.nocheck_standby and settings.scan and settings.enabled
    assert build_smart_probes(SmartSettings(enabled=False), ProbeContext(FixtureRunner({}))) == []
    bad = {
        "min_interval": "ten minutes",
        "timeout": "0s",
        "extra_devices": [{"name": "--scan"}],
        "colour": "red",
    }
    for key, value in bad.items():
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({key: value}, SmartSettings)
    with pytest.raises(msgspec.ValidationError, match="megaraid,14"):
        msgspec.convert({"extra_devices": [{"name": "/dev/sda", "type": "sat; rm"}]}, SmartSettings)


# --- the real smartctl on this machine -----------------------------------------------------


@pytest.mark.peer
def test_real_smartctl_scan_on_this_host_does_not_crash() -> None:
    path = require_tool("smartctl", "smartmontools")
    data = SmartProbe(SmartSettings(smartctl_path=path), SubprocessRunner()).collect()
    found = flat(data.samples)["smart_devices"]
    readable = by_device(data, "smart_device_readable")
    assert len(readable) == found  # every found device is either read or a source error
    assert {d for d, ok in readable.items() if not ok} == set(data.source_errors)
    if found == 0:  # this VM: virtio disks are not SMART devices
        assert data.samples == [Sample("smart_devices", 0)]


@pytest.mark.peer
@pytest.mark.parametrize("device", ["/dev/vda", "/dev/watchkeeper-no-such-disk"])
def test_real_smartctl_on_a_non_smart_device_names_it_and_the_fix(device: str) -> None:
    path = require_tool("smartctl", "smartmontools")
    if device == "/dev/vda" and not Path(device).exists():
        pytest.skip("no /dev/vda on this machine")
    settings = msgspec.convert(
        {"smartctl_path": path, "scan": False, "extra_devices": [{"name": device}]},
        SmartSettings,
    )
    # The only disk cannot be read: the probe fails as a whole, naming the disk and the fix.
    with pytest.raises(ProbeError) as caught:
        SmartProbe(settings, SubprocessRunner()).collect()
    message = str(caught.value)
    assert message.startswith(f"the one disk found could not be read, {device}: ")
    assert "Unable to detect device type" in message
    assert "extra_devices" in message  # says how to fix it


def test_no_readable_disk_at_all_is_a_probe_error_not_partial(shared_fixtures: Path) -> None:
    extra = [{"name": "/dev/nvme0", "type": "nvme"}, {"name": "/dev/vda", "type": "sat"}]
    settings = msgspec.convert({"scan": False, "extra_devices": extra}, SmartSettings)
    runner = FixtureRunner(
        {
            read_argv("/dev/nvme0", "nvme", settings): CannedOutput(
                shared(shared_fixtures, "nvme-open-permission-denied.json").read_text(), 2
            ),
            read_argv("/dev/vda", "sat", settings): CannedOutput(
                (OWN / "vda-sat-open-operation-not-permitted.json").read_text(), 2
            ),
        }
    )
    with pytest.raises(ProbeError) as caught:
        SmartProbe(settings, runner).collect()
    message = str(caught.value)
    assert message.startswith("none of the 2 disks found could be read, /dev/nvme0: ")
    assert "Permission denied" in message and "Operation not permitted" in message
    assert "CAP_SYS_RAWIO" in message, "the fix is in the message"

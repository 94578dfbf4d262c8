"""Pure parsers for smartctl's JSON (smartmontools >= 7): device scan, health, exit-status bits.

Only the fields a monitor needs are declared; msgspec ignores the rest, so new smartctl
versions that add fields keep working, while a field of the wrong type becomes a clear
SmartReadError instead of a crash. A json_format_version other than 1.x is refused outright:
smartmontools promises to bump the major number when it changes the meaning of fields. JSON
without that header (some SAS/SCSI captures, tools that re-emit smartctl's output) is read for
the device data it holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from agent.report import Sample

SUPPORTED_JSON_MAJOR = 1
_T = TypeVar("_T")

# smartctl(8) "RETURN VALUES": bit -> (name, meaning). Bits 0 and 1 mean nothing was read.
EXIT_BITS: tuple[tuple[str, str], ...] = (
    ("command_line_error", "command line did not parse or the device type was not detected"),
    ("device_open_failed", "device open failed, or the device is in a low-power mode"),
    ("smart_command_failed", "some SMART or other ATA command to the disk failed"),
    ("smart_disk_failing", "SMART status check returned DISK FAILING"),
    ("smart_prefail_below_threshold_now", "a prefail attribute is at or below threshold"),
    ("smart_failed_in_past", "an attribute was at or below threshold in the past"),
    ("smart_error_log_has_errors", "the device error log contains records of errors"),
    ("smart_selftest_log_has_errors", "the self-test log contains records of errors"),
)
UNREADABLE_BITS = 0b11

# NVMe SMART/Health log byte 0 (NVMe base spec, "Critical Warning").
NVME_WARNING_BITS: tuple[str, ...] = (
    "smart_nvme_spare_below_threshold",
    "smart_nvme_temperature_warning",
    "smart_nvme_reliability_degraded",
    "smart_nvme_read_only",
    "smart_nvme_volatile_backup_failed",
    "smart_nvme_persistent_memory_unreliable",
)

# ATA attribute id -> metric; ids rather than names because vendors rename them
# (Intel calls 197 "Pending_Sector_Count", Kingston calls 5 "Retired_Block_Count").
ATA_COUNT_ATTRIBUTES: dict[int, str] = {
    5: "smart_reallocated_sectors",
    187: "smart_reported_uncorrectable_errors",
    188: "smart_command_timeouts",
    197: "smart_pending_sectors",
    198: "smart_offline_uncorrectable_sectors",
    199: "smart_udma_crc_errors",
}
# Seagate packs three 16-bit counters into 188's 48-bit raw value; the low word is the count.
LOW_WORD_ATTRIBUTES = frozenset({188})

_STANDBY = re.compile(r"Device is in (.+?) mode")
_PRIVILEGE_WORDS = ("Permission denied", "Operation not permitted")
PRIVILEGE_HINT = (
    "if the agent is not root, give smartctl CAP_SYS_RAWIO (ATA/SCSI) and CAP_SYS_ADMIN "
    "(NVMe) or a sudo rule (see the README); as root, it means the device refuses "
    "SMART pass-through"
)
DETECT_HINT = "give its type in smart.extra_devices (e.g. type: sat) or exclude it"


class SmartReadError(ValueError):
    """A smartctl answer that yields no SMART data; the message says why and what to do."""


class _Message(msgspec.Struct):
    string: str
    severity: str = ""


class _Smartctl(msgspec.Struct):
    exit_status: int | None = None
    messages: list[_Message] = []


class _Envelope(msgspec.Struct):
    json_format_version: list[int] | None = None


class _ScanDevice(msgspec.Struct):
    name: str
    type: str = "auto"
    protocol: str = ""
    open_error: str | None = None


class _ScanAnswer(msgspec.Struct):
    smartctl: _Smartctl = msgspec.field(default_factory=_Smartctl)
    # smartctl omits the key entirely when it finds no device.
    devices: list[_ScanDevice] = []


class _Device(msgspec.Struct):
    name: str = ""
    type: str = ""
    protocol: str = ""


class _SmartStatus(msgspec.Struct):
    passed: bool | None = None


class _Temperature(msgspec.Struct):
    current: float | None = None


class _PowerOnTime(msgspec.Struct):
    hours: int = 0
    minutes: int = 0


class _Raw(msgspec.Struct):
    value: int = 0


class _AttributeFlags(msgspec.Struct):
    prefailure: bool = False


class _Attribute(msgspec.Struct):
    id: int
    name: str = ""
    value: int = 0
    thresh: int = 0
    when_failed: str = ""
    flags: _AttributeFlags = msgspec.field(default_factory=_AttributeFlags)
    raw: _Raw = msgspec.field(default_factory=_Raw)


class _AttributeTable(msgspec.Struct):
    table: list[_Attribute] = []


class _NvmeHealthLog(msgspec.Struct):
    critical_warning: int = 0
    available_spare: float | None = None
    available_spare_threshold: float | None = None
    percentage_used: float | None = None
    media_errors: int | None = None
    num_err_log_entries: int | None = None


class _ScsiCounters(msgspec.Struct):
    total_uncorrected_errors: int | None = None


class _ScsiErrorLog(msgspec.Struct):
    read: _ScsiCounters | None = None
    write: _ScsiCounters | None = None


class _DeviceAnswer(msgspec.Struct):
    smartctl: _Smartctl = msgspec.field(default_factory=_Smartctl)
    device: _Device | None = None
    model_name: str | None = None
    scsi_model_name: str | None = None
    serial_number: str | None = None
    smart_status: _SmartStatus | None = None
    temperature: _Temperature | None = None
    power_on_time: _PowerOnTime | None = None
    ata_smart_attributes: _AttributeTable | None = None
    nvme_smart_health_information_log: _NvmeHealthLog | None = None
    scsi_grown_defect_list: int | None = None
    scsi_error_counter_log: _ScsiErrorLog | None = None


@dataclass(frozen=True)
class ScannedDevice:
    """One device `smartctl --scan-open` listed; `open_error` set when it could not open it."""

    name: str
    type: str
    protocol: str = ""
    open_error: str | None = None


def decode_exit_status(status: int) -> dict[str, bool]:
    """smartctl's exit-status bitmask -> one named flag per bit (see EXIT_BITS)."""
    return {name: bool(status >> bit & 1) for bit, (name, _) in enumerate(EXIT_BITS)}


def describe_exit_status(status: int) -> str:
    """Exit status -> "exit status 6: <meaning of each bit set>", for operator messages."""
    meanings = [meaning for bit, (_, meaning) in enumerate(EXIT_BITS) if status >> bit & 1]
    return f"exit status {status}" + (f": {'; '.join(meanings)}" if meanings else "")


def _decode(text: str, kind: type[_T], what: str) -> _T:
    if not text.strip():
        raise SmartReadError(f"{what} printed nothing")
    try:
        envelope = msgspec.json.decode(text, type=_Envelope)
    except msgspec.ValidationError as exc:  # a DecodeError subclass: must come first
        raise SmartReadError(f"{what} printed unexpected JSON: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise SmartReadError(f"{what} printed invalid JSON ({exc}): {text[:60]!r}") from exc
    version = envelope.json_format_version
    # Some tools and SAS/SCSI captures drop the header block; the device data is still
    # smartmontools 7 JSON, so only a header that is there is judged.
    if version and version[0] != SUPPORTED_JSON_MAJOR:
        raise SmartReadError(
            f"{what} uses JSON format version {'.'.join(map(str, version))}; "
            f"this agent reads version {SUPPORTED_JSON_MAJOR}.x (smartmontools 7)"
        )
    try:
        return msgspec.json.decode(text, type=kind)
    except msgspec.ValidationError as exc:
        raise SmartReadError(f"{what} printed unexpected JSON: {exc}") from exc


def parse_scan(text: str) -> list[ScannedDevice]:
    """`smartctl --scan-open --json` -> the devices found (none: no "devices" key at all)."""
    answer = _decode(text, _ScanAnswer, "smartctl --scan-open")
    status = answer.smartctl.exit_status or 0
    if status & UNREADABLE_BITS and not answer.devices:
        raise SmartReadError(
            f"smartctl --scan-open failed ({describe_exit_status(status)}): "
            + _error_text(answer.smartctl)
        )
    return [ScannedDevice(d.name, d.type, d.protocol, d.open_error) for d in answer.devices]


def _error_text(smartctl: _Smartctl) -> str:
    texts = [m.string.strip() for m in smartctl.messages if m.severity != "information"]
    return "; ".join(texts) or "no message from smartctl"


def _standby_mode(smartctl: _Smartctl) -> str | None:
    for message in smartctl.messages:
        match = _STANDBY.search(message.string)
        if match:
            return match.group(1)
    return None


def _unreadable_reason(answer: _DeviceAnswer, status: int) -> str | None:
    text = _error_text(answer.smartctl)
    if status & UNREADABLE_BITS:
        hint = ""
        if any(word in text for word in _PRIVILEGE_WORDS):
            hint = f"; {PRIVILEGE_HINT}"
        elif "Unable to detect device type" in text:
            hint = f"; {DETECT_HINT}"
        return f"smartctl could not read the device ({describe_exit_status(status)}): {text}{hint}"
    has_data = (
        answer.smart_status is not None
        or answer.ata_smart_attributes is not None
        or answer.nvme_smart_health_information_log is not None
        or answer.scsi_grown_defect_list is not None
    )
    if answer.device is None or not has_data:
        return f"no SMART data from the device ({describe_exit_status(status)}): {text}"
    return None


def parse_device(text: str, device: str, returncode: int = 0) -> list[Sample]:
    """One `smartctl --json --info --health ...` answer -> samples for `device`.

    Raises SmartReadError when the device could not be read at all; a disk in standby is
    not an error and yields smart_device_standby 1 without waking it.
    """
    answer = _decode(text, _DeviceAnswer, f"smartctl for {device}")
    status = answer.smartctl.exit_status
    status = returncode if status is None else status
    mode = _standby_mode(answer.smartctl)
    if mode is not None:
        return [
            Sample("smart_device_readable", 1, {"device": device}),
            Sample("smart_device_standby", 1, {"device": device}),
            Sample("smart_power_mode", mode, {"device": device}),
        ]
    reason = _unreadable_reason(answer, status)
    if reason is not None:
        raise SmartReadError(reason)
    return _device_samples(answer, device, status)


class _Emitter:
    """Collects samples that all carry one device's identity labels."""

    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels
        self.samples: list[Sample] = []

    def add(self, metric: str, value: float | str | None, **extra: str) -> None:
        if value is not None:
            self.samples.append(Sample(metric, value, {**self.labels, **extra}))


def _device_labels(answer: _DeviceAnswer, device: str) -> dict[str, str]:
    """device, model, serial (when known) and protocol: what tells two disks apart."""
    labels = {"device": device}
    model = answer.model_name or answer.scsi_model_name
    if model:
        labels["model"] = model.strip()
    if answer.serial_number:
        labels["serial"] = answer.serial_number.strip()
    if answer.device is not None and answer.device.protocol:
        labels["protocol"] = answer.device.protocol
    return labels


def _device_samples(answer: _DeviceAnswer, device: str, status: int) -> list[Sample]:
    out = _Emitter(_device_labels(answer, device))
    out.samples.append(Sample("smart_device_readable", 1, {"device": device}))
    out.samples.append(Sample("smart_device_standby", 0, {"device": device}))
    if answer.smart_status is not None and answer.smart_status.passed is not None:
        out.add("smart_health_passed", int(answer.smart_status.passed))
    out.add("smart_exit_status", status)
    for name, flag in decode_exit_status(status).items():
        if name.startswith("smart_"):
            out.add(name, int(flag))
    if answer.temperature is not None:
        out.add("smart_temperature_celsius", answer.temperature.current)
    if answer.power_on_time is not None:
        on = answer.power_on_time
        out.add("smart_power_on_seconds", on.hours * 3600 + on.minutes * 60)
    if answer.ata_smart_attributes is not None:
        _add_ata(out, answer.ata_smart_attributes.table)
    if answer.nvme_smart_health_information_log is not None:
        _add_nvme(out, answer.nvme_smart_health_information_log)
    _add_scsi(out, answer)
    return out.samples


def _add_ata(out: _Emitter, table: list[_Attribute]) -> None:
    at_threshold = {"prefail": 0, "oldage": 0}
    for attribute in table:
        kind = "prefail" if attribute.flags.prefailure else "oldage"
        metric = ATA_COUNT_ATTRIBUTES.get(attribute.id)
        # Phison SSDs reuse ids such as 197 for unused slots they name "Not_In_Use".
        if metric is not None and attribute.name != "Not_In_Use":
            raw = attribute.raw.value
            out.add(metric, raw & 0xFFFF if attribute.id in LOW_WORD_ATTRIBUTES else raw)
        if attribute.when_failed == "now":
            at_threshold[kind] += 1
        if attribute.when_failed in ("now", "past"):
            out.add(
                "smart_attribute_failed",
                1,
                attribute=attribute.name,
                attribute_id=str(attribute.id),
                kind=kind,
                when_failed=attribute.when_failed,
            )
    for kind, count in at_threshold.items():
        out.add("smart_attributes_at_or_below_threshold", count, kind=kind)


def _percent_to_ratio(value: float | None) -> float | None:
    return None if value is None else value / 100


def _add_nvme(out: _Emitter, log: _NvmeHealthLog) -> None:
    out.add("smart_nvme_critical_warning", log.critical_warning)
    for bit, name in enumerate(NVME_WARNING_BITS):
        out.add(name, log.critical_warning >> bit & 1)
    out.add("smart_nvme_media_errors", log.media_errors)
    out.add("smart_nvme_error_log_entries", log.num_err_log_entries)
    out.add("smart_nvme_percentage_used_ratio", _percent_to_ratio(log.percentage_used))
    out.add("smart_nvme_available_spare_ratio", _percent_to_ratio(log.available_spare))
    out.add(
        "smart_nvme_available_spare_threshold_ratio",
        _percent_to_ratio(log.available_spare_threshold),
    )


def _add_scsi(out: _Emitter, answer: _DeviceAnswer) -> None:
    out.add("smart_scsi_grown_defects", answer.scsi_grown_defect_list)
    errors = answer.scsi_error_counter_log
    if errors is None:
        return
    if errors.read is not None:
        out.add("smart_scsi_uncorrected_read_errors", errors.read.total_uncorrected_errors)
    if errors.write is not None:
        out.add("smart_scsi_uncorrected_write_errors", errors.write.total_uncorrected_errors)

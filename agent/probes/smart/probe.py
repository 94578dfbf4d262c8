"""The SMART probe: discovers disks with smartctl and reports each one's health and wear."""

from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Sequence

import msgspec

from agent.configfile import parse_duration
from agent.exec import CommandError, CommandRunner
from agent.probe import DEADLINE_MARGIN_SECONDS, Probe, ProbeData, ProbeError
from agent.probes.inventory.parse import smartctl_disk_from_output
from agent.probes.kind import ProbeContext, ProbeKind
from agent.probes.smart.parse import ScannedDevice, SmartReadError, parse_device, parse_scan
from agent.report import Sample

logger = logging.getLogger(__name__)

_DEVICE_TYPE = re.compile(r"[a-z0-9_+,]+")
INSTALL_HINT = (
    "install smartmontools >= 7.0 (apt-get install smartmontools) "
    "or set smart.smartctl_path to the smartctl binary"
)


class SmartDevice(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A device to read even when `--scan-open` does not list it (e.g. disks behind a RAID HBA).

    name: device path handed to smartctl, e.g. "/dev/bus/0" or "/dev/sda".
    type: smartctl's -d argument, e.g. "sat", "nvme", "megaraid,14"; "auto" lets smartctl guess.
    """

    name: str
    type: str = "auto"

    def __post_init__(self) -> None:
        # Both end up in argv: refuse anything smartctl could take as an option.
        if not self.name.startswith("/"):
            raise ValueError(
                f"device name must be an absolute path like /dev/sda, got {self.name!r}"
            )
        if not _DEVICE_TYPE.fullmatch(self.type):
            raise ValueError(
                f"device type must look like sat, nvme or megaraid,14, got {self.type!r}"
            )


class SmartSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How the agent reads SMART data through smartctl.

    enabled: run the SMART probe at all.
    smartctl_path: the smartctl binary (smartmontools >= 7.0, for --json).
    use_sudo: run smartctl as `sudo -n smartctl ...`, for an agent that is not root and has
        a NOPASSWD sudo rule for smartctl.
    scan: discover devices with `smartctl --scan-open`.
    include: glob patterns; when given, only scanned devices matching one are read.
        A pattern matches the device path ("/dev/sd*") or its last part ("nvme*").
    exclude: glob patterns of scanned devices never to read (wins over include).
    extra_devices: devices read in addition to the scan, never filtered.
    min_interval: reuse the last result until this much time has passed; SMART reads
        take time and some drives log them, so the default is "10m".
    timeout: how long one smartctl command may run.
    nocheck_standby: pass --nocheck=standby so a sleeping disk is not spun up; it is then
        reported as smart_device_standby 1, not as an error.
    """

    enabled: bool = True
    smartctl_path: str = "smartctl"
    use_sudo: bool = False
    scan: bool = True
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    extra_devices: tuple[SmartDevice, ...] = ()
    min_interval: str = "10m"
    timeout: str = "30s"
    nocheck_standby: bool = True

    def __post_init__(self) -> None:
        parse_duration(self.min_interval)
        if parse_duration(self.timeout) <= 0:
            raise ValueError(f"timeout must be more than 0 s, got {self.timeout!r}")

    @property
    def min_interval_seconds(self) -> float:
        """min_interval in seconds."""
        return parse_duration(self.min_interval)

    @property
    def timeout_seconds(self) -> float:
        """timeout in seconds."""
        return parse_duration(self.timeout)


def device_key(name: str, device_type: str) -> str:
    """The `device` label: the path, plus the port for disks behind a controller.

    Every disk behind a MegaRAID shares /dev/bus/N, so "/dev/bus/6 [megaraid,14]" is needed
    to keep two disks two series.
    """
    port = device_type.rsplit("+", 1)[-1]  # "sat+megaraid,14" and "megaraid,14" are one disk
    return f"{name} [{port}]" if "," in port else name


def _smartctl(settings: SmartSettings) -> list[str]:
    return ["sudo", "-n", settings.smartctl_path] if settings.use_sudo else [settings.smartctl_path]


def scan_command(settings: SmartSettings) -> list[str]:
    """The discovery command line."""
    return [*_smartctl(settings), "--scan-open", "--json"]


def device_command(settings: SmartSettings, name: str, device_type: str) -> list[str]:
    """The per-device command line: identity, health, attributes and both logs, in JSON.

    --tolerance=verypermissive keeps smartctl going after a failed optional command so a
    half-working USB bridge still reports what it can (as smartctl_exporter does).
    """
    argv = [*_smartctl(settings), "--json", "--info", "--health", "--attributes"]
    argv += ["--log=error", "--log=selftest", "--tolerance=verypermissive"]
    if settings.nocheck_standby:
        argv.append("--nocheck=standby")
    if device_type != "auto":
        argv += ["-d", device_type]
    argv.append(name)
    return argv


def _matches(name: str, patterns: Sequence[str]) -> bool:
    short = name.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(short, p) for p in patterns)


def select_devices(
    settings: SmartSettings, scanned: Sequence[ScannedDevice]
) -> list[ScannedDevice]:
    """Scanned devices that pass include/exclude, then extra devices; each disk once."""
    chosen = [
        d
        for d in scanned
        if (not settings.include or _matches(d.name, settings.include))
        and not _matches(d.name, settings.exclude)
    ]
    extras = [ScannedDevice(d.name, d.type) for d in settings.extra_devices]
    unique: dict[str, ScannedDevice] = {}
    for device in chosen + extras:
        unique.setdefault(device_key(device.name, device.type), device)
    return list(unique.values())


class SmartProbe:
    """Reads every selected disk with smartctl; an unreadable disk is a source error."""

    name = "smart"
    target: str | None = None

    def __init__(self, settings: SmartSettings, runner: CommandRunner) -> None:
        self._settings = settings
        self._runner = runner
        self._devices_seen = 0

    @property
    def deadline_seconds(self) -> float:
        """The scan and one read per disk seen last time, each bounded by `timeout`."""
        commands = 1 + max(1, self._devices_seen)
        return commands * self._settings.timeout_seconds + DEADLINE_MARGIN_SECONDS

    @property
    def min_interval_seconds(self) -> float:
        """SMART reads are not free: the runner reuses this probe's result in between."""
        return self._settings.min_interval_seconds

    def collect(self) -> ProbeData:
        """Scan, then read each device; a device that cannot be read does not stop the rest.

        When not one of the disks found can be read, the probe fails as a whole: a host whose
        disks can no longer be watched must not look merely "partial".
        """
        devices = select_devices(self._settings, self._scan())
        self._devices_seen = len(devices)
        data = ProbeData()
        data.add("smart_devices", len(devices))
        failures_to_run: list[str] = []
        for device in devices:
            failure = self._read(device, data)
            if failure is not None:
                failures_to_run.append(failure)
        if devices and len(failures_to_run) == len(devices):
            raise ProbeError(f"cannot run smartctl: {failures_to_run[0]}; {INSTALL_HINT}")
        if devices and len(data.source_errors) == len(devices):
            raise ProbeError(no_disk_readable(data.source_errors))
        if not devices:
            logger.debug("smartctl found no SMART devices on this host")
        return data

    def _scan(self) -> list[ScannedDevice]:
        if not self._settings.scan:
            return []
        argv = scan_command(self._settings)
        try:
            result = self._runner.run(argv, self._settings.timeout_seconds)
        except CommandError as exc:
            raise ProbeError(f"cannot run smartctl: {exc}; {INSTALL_HINT}") from exc
        try:
            return parse_scan(result.stdout)
        except SmartReadError as exc:
            stderr = f" (stderr: {result.stderr.strip()[:200]})" if result.stderr.strip() else ""
            raise ProbeError(f"{exc}{stderr}; {INSTALL_HINT}") from exc

    def _read(self, device: ScannedDevice, data: ProbeData) -> str | None:
        """Add one device's samples or its source error; return the message if smartctl
        could not be run at all."""
        key = device_key(device.name, device.type)
        if device.open_error:
            self._unreadable(
                data, key, f"smartctl --scan-open could not open it: {device.open_error}"
            )
            return None
        argv = device_command(self._settings, device.name, device.type)
        try:
            result = self._runner.run(argv, self._settings.timeout_seconds)
        except CommandError as exc:
            self._unreadable(data, key, str(exc))
            return str(exc)
        try:
            samples = parse_device(result.stdout, key, result.returncode)
        except SmartReadError as exc:
            self._unreadable(data, key, str(exc))
            return None
        data.samples.extend(samples)
        disk = smartctl_disk_from_output(key, result.stdout)  # model, serial, firmware
        if disk is not None:
            data.inventory.append(disk)
        return None

    @staticmethod
    def _unreadable(data: ProbeData, key: str, message: str) -> None:
        logger.warning("SMART device %s unreadable: %s", key, message)
        data.source_errors[key] = message
        data.samples.append(Sample("smart_device_readable", 0, {"device": key}))


def no_disk_readable(errors: dict[str, str]) -> str:
    """The probe's error when every disk failed: how many, and the first reasons in full."""
    reasons = "; ".join(f"{device}: {reason}" for device, reason in list(errors.items())[:3])
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    if len(errors) == 1:
        return f"the one disk found could not be read, {reasons}"
    return f"none of the {len(errors)} disks found could be read, {reasons}{more}"


def build_smart_probes(settings: SmartSettings, context: ProbeContext) -> list[Probe]:
    """The SMART probe for these settings, or none when it is disabled."""
    return [SmartProbe(settings, context.runner)] if settings.enabled else []


PROBE = ProbeKind("smart", SmartSettings, build_smart_probes)

"""The IPMI probe: BMC sensors, health summary and System Event Log, over the LAN or in-band."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import msgspec

from agent.configfile import check_duration, parse_duration
from agent.exec import CommandRunner
from agent.probe import Probe, ProbeData
from agent.probes.ipmi_session import (
    NEVER_READ,
    BmcClient,
    BmcError,
    BmcUnreachableError,
    Deadline,
    FallbackClient,
    IpmitoolClient,
    PartialReadError,
    PyghmiClient,
    SelEntry,
    entries_since,
    sel_event,
    sel_marker,
)
from agent.probes.ipmitool import (
    CRITICAL,
    FAILED,
    OK,
    WARNING,
    SensorReading,
    health_name,
    unique_names,
)
from agent.probes.kind import ProbeContext, ProbeKind


class BmcSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """One BMC reached over the LAN (IPMI v2.0 RMCP+, UDP).

    name: the host this BMC belongs to; its samples are filed under that host.
    address: the BMC's host name or IP address.
    port: UDP port, 623 unless the BMC is configured otherwise.
    username: IPMI user; a user-privilege account is enough to read sensors and the SEL.
    password: the user's password (secret: never logged, never in a repr or error).
    password_file: a file whose first line is the password (set this or `password`).
    timeout: the most one collection from this BMC may take, e.g. "10s".
    read_sel: report new System Event Log entries as events.
    sel_initial_entries: newest SEL entries reported on the first read after the agent starts
        (0: only remember where the log ends, so a restart does not replay old events).
    """

    name: str
    address: str
    port: int = 623
    username: str = ""
    password: str = ""
    password_file: str | None = None
    timeout: str = "10s"
    read_sel: bool = True
    sel_initial_entries: int = 0

    def __post_init__(self) -> None:
        if not self.name or not self.address:
            raise ValueError("a BMC needs a `name` (its host) and an `address`")
        if self.password and self.password_file:
            raise ValueError(f"bmc {self.name!r}: set only one of `password` and `password_file`")
        if not 0 < self.port < 65536:
            raise ValueError(f"bmc {self.name!r}: port must be 1..65535, got {self.port}")
        if self.sel_initial_entries < 0:
            raise ValueError(f"bmc {self.name!r}: sel_initial_entries must not be negative")
        check_duration(f"bmc {self.name!r}: timeout", self.timeout)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.__rich_repr__())
        return f"BmcSettings({fields})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [
            (name, "***" if name == "password" and getattr(self, name) else getattr(self, name))
            for name in self.__struct_fields__
        ]


class InbandSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The host's own BMC through the kernel's IPMI device (/dev/ipmi0).

    enabled: read it (needs root, or read/write access to /dev/ipmi0).
    method: "pyghmi", "ipmitool", or "auto" (pyghmi, and ipmitool when pyghmi cannot open it).
    ipmitool_path: the ipmitool binary used by the fallback.
    timeout: the most one collection may take.
    read_sel: report new SEL entries as events (pyghmi only).
    sel_initial_entries: as for a LAN BMC.
    """

    enabled: bool = False
    method: Literal["auto", "pyghmi", "ipmitool"] = "auto"
    ipmitool_path: str = "ipmitool"
    timeout: str = "10s"
    read_sel: bool = True
    sel_initial_entries: int = 0

    def __post_init__(self) -> None:
        check_duration("inband: timeout", self.timeout)


class IpmiSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`probes.ipmi`.

    inband: the local BMC (off by default).
    bmcs: BMCs read over the LAN, one probe each, named "ipmi:<name>".
    interval: minimum time between two reads of one BMC, e.g. "30s".
    """

    inband: InbandSettings = msgspec.field(default_factory=InbandSettings)
    bmcs: list[BmcSettings] = []
    interval: str = "30s"

    def __post_init__(self) -> None:
        check_duration("interval", self.interval)
        names = [bmc.name for bmc in self.bmcs]
        doubles = sorted({name for name in names if names.count(name) > 1})
        if doubles:
            raise ValueError(f"bmcs: each name must be unique, {', '.join(doubles)} repeats")


@dataclass
class _Snapshot:
    readings: list[SensorReading] = field(default_factory=list)
    sel: list[SelEntry] | None = None
    errors: dict[str, str] = field(default_factory=dict)


_TYPED_METRICS = {
    "celsius": "ipmi_temperature_celsius",
    "rpm": "ipmi_fan_speed_rpm",
    "volts": "ipmi_voltage_volts",
    "amperes": "ipmi_current_amperes",
    "watts": "ipmi_power_watts",
}
_PSU_TYPES = ("power_supply", "power_unit", "psu_redundancy")
_REDUNDANCY_LOST = ("lost", "not redundant", "non-redundant", "insufficient")
_PSU_FAILED = ("failure", "failed", "lost", "out of range", "out-of-range")


def typed_sample(reading: SensorReading) -> tuple[str, float] | None:
    """The reading under a unit-named metric (ipmi_temperature_celsius...), when it has one."""
    if reading.value is None:
        return None
    if reading.unit == "fahrenheit":
        return "ipmi_temperature_celsius", (reading.value - 32) * 5 / 9
    if reading.unit == "percent" and reading.type == "fan":
        return "ipmi_fan_speed_ratio", reading.value / 100
    metric = _TYPED_METRICS.get(reading.unit)
    return (metric, reading.value) if metric else None


def sensor_state(reading: SensorReading) -> str:
    """Asserted states joined ("Present, Failure"), or the health in a word when none are."""
    return ", ".join(reading.states) or health_name(reading.health)


def _has_reading(reading: SensorReading) -> bool:
    return reading.states != ("no reading",)  # a discrete sensor with no state bit set did read


def _any(states: Sequence[str], words: Sequence[str]) -> bool:
    return any(word in state.lower() for state in states for word in words)


def psu_flags(reading: SensorReading) -> list[tuple[str, float]]:
    """ipmi_psu_redundancy_lost for redundancy sensors, ipmi_psu_failed for the supplies."""
    states = [s for s in reading.states if "predictive" not in s.lower()]
    if "redundan" in reading.name.lower() or _any(reading.states, ["redundan"]):
        return [("ipmi_psu_redundancy_lost", float(_any(states, _REDUNDANCY_LOST)))]
    if reading.type != "power_supply":
        return []
    bad_health = not reading.states and bool(reading.health & (CRITICAL | FAILED))
    return [("ipmi_psu_failed", float(_any(states, _PSU_FAILED) or bad_health))]


def fan_stopped(reading: SensorReading) -> bool:
    """A fan reading 0 RPM, at or below its lower critical limit, or reporting a failure."""
    if reading.value is not None and reading.unit == "rpm" and reading.value <= 0:
        return True
    if _any(reading.states, ["lower critical", "lower non-recoverable", "fail"]):
        return True
    limit = reading.thresholds.get("lower_critical")
    return reading.value is not None and limit is not None and reading.value <= limit


def intrusion(reading: SensorReading) -> bool:
    """An intrusion state asserted, or a threshold-style intrusion sensor out of "ok"."""
    if _any(reading.states, ["intrusion"]):
        return True
    return reading.value is not None and reading.health != OK


def hardware_flags(reading: SensorReading) -> list[tuple[str, float]]:
    """The 1/0 flags rules alert on; none for a sensor without a reading."""
    if not _has_reading(reading):
        return []
    if reading.type in _PSU_TYPES:
        return psu_flags(reading)
    if reading.type == "fan":
        return [("ipmi_fan_stopped", float(fan_stopped(reading)))]
    if reading.type == "chassis_intrusion":
        return [("ipmi_chassis_intrusion", float(intrusion(reading)))]
    return []


def add_reading(data: ProbeData, reading: SensorReading) -> None:
    """Every sample one sensor yields, each with the same identity {sensor, type}."""
    ids = {"sensor": reading.name, "type": reading.type}
    if reading.value is not None:
        data.add("ipmi_sensor_value", reading.value, unit=reading.unit, **ids)
        typed = typed_sample(reading)
        if typed is not None:
            data.add(typed[0], typed[1], **ids)
    for level, limit in reading.thresholds.items():
        data.add("ipmi_sensor_threshold", limit, level=level, unit=reading.unit, **ids)
    data.add("ipmi_sensor_health", float(reading.health), **ids)
    critical = bool(reading.health & (CRITICAL | FAILED))
    data.add("ipmi_sensor_critical", float(critical), **ids)
    # Non-critical ("nc"): outside the normal band, short of the critical limit.
    data.add("ipmi_sensor_warning", float(bool(reading.health & WARNING) and not critical), **ids)
    data.add("ipmi_sensor_state", sensor_state(reading), **ids)
    for metric, flag in hardware_flags(reading):
        data.add(metric, flag, **ids)


def add_summary(data: ProbeData, readings: Sequence[SensorReading]) -> None:
    """The health summary: every sensor's health OR-ed, and how many are not ok."""
    health = 0
    for reading in readings:
        health |= reading.health
    data.add("ipmi_system_health", float(health))
    data.add("ipmi_sensor_count", float(len(readings)))
    data.add("ipmi_unhealthy_sensor_count", float(sum(r.health != OK for r in readings)))


class IpmiProbe:
    """One BMC: every sensor with its health, the summary, and new SEL records as events.

    A BMC that does not answer (or refuses the login) is not a probe error: the result carries
    ipmi_bmc_up 0 and source_errors["bmc"], so the collector can tell "BMC unreachable" apart
    from a failing sensor.
    """

    def __init__(
        self,
        name: str,
        target: str | None,
        client: BmcClient,
        *,
        timeout: float,
        min_interval_seconds: float = 0.0,
        read_sel: bool = True,
        sel_initial_entries: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._name = name
        self._target = target
        self._client = client
        self._timeout = timeout
        self._min_interval = min_interval_seconds
        self._read_sel = read_sel
        self._sel_initial = sel_initial_entries
        self._clock = clock
        self._sel_marker = NEVER_READ
        self._deadline = Deadline(name)

    @property
    def name(self) -> str:
        return self._name

    @property
    def target(self) -> str | None:
        return self._target

    @property
    def min_interval_seconds(self) -> float:
        return self._min_interval

    def collect(self) -> ProbeData:
        data = ProbeData()
        try:
            snapshot = self._deadline.run(self._read, self._timeout)
        except BmcUnreachableError as exc:
            data.add("ipmi_bmc_up", 0.0)
            data.source_errors["bmc"] = f"unreachable: {exc}"
            return data
        data.add("ipmi_bmc_up", 1.0)
        data.source_errors.update(snapshot.errors)
        if "sensors" not in snapshot.errors:
            for reading in snapshot.readings:
                add_reading(data, reading)
            add_summary(data, snapshot.readings)
        if snapshot.sel is not None:
            self._add_sel(data, snapshot.sel)
        return data

    def _read(self) -> _Snapshot:
        """The BMC round trips; runs in the deadline's thread."""
        self._client.connect()
        snapshot = _Snapshot()
        try:
            snapshot.readings = unique_names(self._client.read_sensors())
        except BmcUnreachableError:
            raise
        except PartialReadError as exc:  # the sensors were read, an auxiliary query was not
            snapshot.readings = unique_names(exc.readings)
            snapshot.errors.update(exc.problems)
        except BmcError as exc:
            snapshot.errors["sensors"] = str(exc)
        if self._read_sel:
            try:
                snapshot.sel = self._client.read_sel()
            except BmcUnreachableError:
                raise
            except BmcError as exc:
                snapshot.errors["sel"] = str(exc)
        return snapshot

    def _add_sel(self, data: ProbeData, entries: Sequence[SelEntry]) -> None:
        now = self._clock()
        new = entries_since(entries, self._sel_marker, self._sel_initial)
        data.events.extend(sel_event(entry, now) for entry in new)
        self._sel_marker = sel_marker(entries)
        data.add("ipmi_sel_entry_count", float(len(entries)))

    def close(self) -> None:
        """Log out of the BMC (pyghmi keeps sessions alive in the background otherwise)."""
        self._client.close()


def read_password(bmc: BmcSettings) -> str:
    """`password`, or the first line of `password_file`; the error never shows the secret."""
    if bmc.password_file is None:
        return bmc.password
    try:
        text = Path(bmc.password_file).read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise BmcError(f"cannot read password_file {bmc.password_file}: {reason}") from exc
    return text.splitlines()[0] if text else ""


def _inband_client(inband: InbandSettings, runner: CommandRunner) -> BmcClient:
    ipmitool = IpmitoolClient(runner, inband.ipmitool_path, parse_duration(inband.timeout))
    if inband.method == "ipmitool":
        return ipmitool
    if inband.method == "pyghmi":
        return PyghmiClient(None)
    return FallbackClient(PyghmiClient(None), ipmitool)


def build_ipmi_probes(settings: IpmiSettings, context: ProbeContext) -> list[Probe]:
    """One probe per configured BMC ("ipmi:<name>", target = its host), plus "ipmi:local"."""
    interval = parse_duration(settings.interval)
    probes: list[Probe] = []
    inband = settings.inband
    if inband.enabled:
        client = _inband_client(inband, context.runner)
        probes.append(
            IpmiProbe(
                "ipmi:local",
                None,
                client,
                timeout=parse_duration(inband.timeout),
                min_interval_seconds=interval,
                read_sel=inband.read_sel and inband.method != "ipmitool",
                sel_initial_entries=inband.sel_initial_entries,
            )
        )
    for bmc in settings.bmcs:
        client = PyghmiClient(bmc.address, bmc.port, bmc.username, partial(read_password, bmc))
        probes.append(
            IpmiProbe(
                f"ipmi:{bmc.name}",
                bmc.name,
                client,
                timeout=parse_duration(bmc.timeout),
                min_interval_seconds=interval,
                read_sel=bmc.read_sel,
                sel_initial_entries=bmc.sel_initial_entries,
            )
        )
    return probes


PROBE = ProbeKind("ipmi", IpmiSettings, build_ipmi_probes)

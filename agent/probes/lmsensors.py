"""The lm-sensors probe: temperatures, fans, voltages and their alarms from `sensors -j`."""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import msgspec

from agent.configfile import parse_duration
from agent.exec import CommandError, CommandRunner
from agent.probe import Probe, ProbeData, ProbeError

# "temp1_input" -> ("temp", "input"); "in0_max_alarm" -> ("in", "max_alarm").
_SUBFEATURE = re.compile(r"^([a-z]+)\d+_(\w+)$")

# Which reading of each kind becomes which metric (sensors -j already uses these units).
_METRICS: dict[tuple[str, str], str] = {
    ("temp", "input"): "temperature_celsius",
    ("temp", "max"): "temperature_max_celsius",
    ("temp", "crit"): "temperature_critical_celsius",
    ("fan", "input"): "fan_speed_rpm",
    ("fan", "min"): "fan_min_rpm",
    ("in", "input"): "voltage_volts",
    ("in", "min"): "voltage_min_volts",
    ("in", "max"): "voltage_max_volts",
    ("power", "input"): "power_watts",
    ("power", "average"): "power_watts",
    ("curr", "input"): "current_amperes",
}


class LmSensorsSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """`probes.lmsensors`: run `sensors -j` (package lm-sensors); off by default.

    enabled: run the probe.
    command: path or name of the `sensors` program.
    timeout: how long `sensors -j` may take.
    min_interval: reuse the last reading for this long (sensors change slowly; forking costs CPU).
    """

    enabled: bool = False
    command: str = "sensors"
    timeout: str = "10s"
    min_interval: str = "60s"

    def __post_init__(self) -> None:
        for name in ("timeout", "min_interval"):
            try:
                parse_duration(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from exc


class SensorReading(NamedTuple):
    """One feature of one chip, e.g. ("coretemp-isa-0000", "Core 0", "temp", {...})."""

    chip: str
    sensor: str
    kind: str
    values: dict[str, float]

    @property
    def alarm(self) -> bool | None:
        """True if any alarm or fault flag is raised; None if the chip exposes none."""
        flags = [v for k, v in self.values.items() if k.endswith(("alarm", "fault"))]
        return any(flag != 0 for flag in flags) if flags else None


def parse_sensors_json(text: str) -> list[SensorReading]:
    """Every feature with a numeric reading, from `sensors -j` output."""
    try:
        chips = json.loads(text)
    except ValueError as exc:
        raise ProbeError(f"sensors -j: malformed JSON: {exc}") from exc
    if not isinstance(chips, dict):
        raise ProbeError("sensors -j: expected a JSON object of chips")
    readings = []
    for chip, features in chips.items():
        if isinstance(features, dict):
            readings.extend(_chip_readings(chip, features))
    return readings


def _chip_readings(chip: str, features: dict[str, Any]) -> list[SensorReading]:
    readings = []
    for label, subfeatures in features.items():
        if not isinstance(subfeatures, dict):  # "Adapter": "ISA adapter"
            continue
        kind = ""
        values: dict[str, float] = {}
        for name, value in subfeatures.items():
            match = _SUBFEATURE.match(name)
            if match and isinstance(value, int | float) and not isinstance(value, bool):
                kind = match.group(1)
                values[match.group(2)] = float(value)
        if values:
            readings.append(SensorReading(chip, label, kind, values))
    return readings


def add_reading_samples(data: ProbeData, reading: SensorReading) -> None:
    """Samples for one feature; `sensor_alarm` 1/0 where the chip has alarm or fault flags."""
    labels = {"chip": reading.chip, "sensor": reading.sensor}
    for suffix, value in reading.values.items():
        metric = _METRICS.get((reading.kind, suffix))
        if metric is not None:
            data.add(metric, value, **labels)
    alarm = reading.alarm
    if alarm is not None:
        data.add("sensor_alarm", 1.0 if alarm else 0.0, **labels)


class LmSensorsProbe:
    """Runs `sensors -j` through the command runner and reports every chip's readings."""

    name = "lmsensors"
    target: str | None = None

    def __init__(self, settings: LmSensorsSettings, runner: CommandRunner) -> None:
        self._argv = (settings.command, "-j")
        self._timeout = parse_duration(settings.timeout)
        self._runner = runner
        self.min_interval_seconds = parse_duration(settings.min_interval)

    def collect(self) -> ProbeData:
        """Run sensors once; no output at all (no chip, no driver) is an error."""
        try:
            result = self._runner.run(self._argv, timeout=self._timeout)
        except CommandError as exc:
            raise ProbeError(str(exc)) from exc
        if not result.stdout.strip():
            reason = result.stderr.strip() or "no output"
            raise ProbeError(f"sensors -j failed (exit {result.returncode}): {reason}")
        data = ProbeData()
        for reading in parse_sensors_json(result.stdout):
            add_reading_samples(data, reading)
        if result.returncode != 0:  # some chips read, others not
            data.source_errors["sensors"] = result.stderr.strip() or f"exit {result.returncode}"
        return data


def build_lmsensors_probes(settings: LmSensorsSettings, runner: CommandRunner) -> list[Probe]:
    """The lm-sensors probe when enabled."""
    return [LmSensorsProbe(settings, runner)] if settings.enabled else []

"""The lm-sensors probe: temperatures, fans, voltages and their alarms from `sensors -j`."""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

import msgspec

from agent.configfile import parse_duration
from agent.exec import CommandError, CommandRunner
from agent.probe import DEADLINE_MARGIN_SECONDS, Probe, ProbeData, ProbeError
from agent.probes.kind import ProbeContext, ProbeKind

# "temp1_input" -> ("temp", "input"); "in0_max_alarm" -> ("in", "max_alarm").
_SUBFEATURE = re.compile(r"^([a-z]+)\d+_(\w+)$")

# Which reading of each kind becomes which metric (sensors -j already uses these units).
_METRICS: dict[tuple[str, str], str] = {
    ("temp", "input"): "temperature_celsius",
    ("temp", "max"): "temperature_max_celsius",
    ("temp", "crit"): "temperature_critical_celsius",
    ("in", "crit"): "voltage_critical_max_volts",
    ("in", "lcrit"): "voltage_critical_min_volts",
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
        """True if any alarm or fault flag is raised; None if the chip exposes none, or when
        the flag compares against limits nobody set (a voltage whose min and max are both 0:
        Super I/O chips then raise the alarm for any input, see the ASRock capture)."""
        flags = [v for k, v in self.values.items() if k.endswith(("alarm", "fault"))]
        if not flags or (self.kind == "in" and not self._voltage_limits_set()):
            return None
        return any(flag != 0 for flag in flags)

    def _voltage_limits_set(self) -> bool:
        low, high = self.values.get("min", 0.0), self.values.get("max", 0.0)
        return high > low or "crit" in self.values or "lcrit" in self.values

    @property
    def beyond_critical(self) -> bool | None:
        """True when the reading is beyond its critical limit, whether or not the chip raised
        a flag (many drivers have a crit limit but no crit_alarm); None when it has neither.

        A limit of exactly 0 is an unset register, not a limit: it is ignored.
        """
        value = self.values.get("input")
        crit = self.values.get("crit") or None
        lcrit = self.values.get("lcrit") or None
        flags = [v for k, v in self.values.items() if k in ("crit_alarm", "lcrit_alarm")]
        if value is None or (crit is None and lcrit is None and not flags):
            return None
        above = crit is not None and value >= crit
        below = lcrit is not None and (crit is None or lcrit < crit) and value <= lcrit
        return above or below or any(flag != 0 for flag in flags)


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
    """Samples for one feature, all labelled {chip, sensor}.

    `sensor_intrusion_alarm` for a chassis intrusion switch, `sensor_alarm` for any other
    feature with alarm or fault flags, `sensor_critical` where it has a critical limit.
    """
    labels = {"chip": reading.chip, "sensor": reading.sensor}
    for suffix, value in reading.values.items():
        metric = _METRICS.get((reading.kind, suffix))
        if metric is not None:
            data.add(metric, value, **labels)
    alarm = reading.alarm
    if alarm is not None:
        flag = "sensor_intrusion_alarm" if reading.kind == "intrusion" else "sensor_alarm"
        data.add(flag, 1.0 if alarm else 0.0, **labels)
    critical = reading.beyond_critical
    if critical is not None:
        data.add("sensor_critical", 1.0 if critical else 0.0, **labels)


class LmSensorsProbe:
    """Runs `sensors -j` through the command runner and reports every chip's readings."""

    name = "lmsensors"
    target: str | None = None

    def __init__(self, settings: LmSensorsSettings, runner: CommandRunner) -> None:
        self._argv = (settings.command, "-j")
        self._timeout = parse_duration(settings.timeout)
        self._runner = runner
        self.min_interval_seconds = parse_duration(settings.min_interval)
        self.deadline_seconds = self._timeout + DEADLINE_MARGIN_SECONDS

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


def build_lmsensors_probes(settings: LmSensorsSettings, context: ProbeContext) -> list[Probe]:
    """The lm-sensors probe when enabled."""
    return [LmSensorsProbe(settings, context.runner)] if settings.enabled else []


PROBE = ProbeKind("lmsensors", LmSensorsSettings, build_lmsensors_probes)

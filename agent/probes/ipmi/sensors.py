"""Sensor readings -> the ipmi_* samples rules judge; shared by the IPMI and Redfish probes."""

from __future__ import annotations

from collections.abc import Sequence

from agent.probe import ProbeData
from agent.probes.ipmi.ipmitool import (
    CRITICAL,
    FAILED,
    OK,
    WARNING,
    SensorReading,
    health_name,
)

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
    data.add("ipmi_sensors", float(len(readings)))
    data.add("ipmi_unhealthy_sensors", float(sum(r.health != OK for r in readings)))


def add_readings(data: ProbeData, readings: Sequence[SensorReading]) -> None:
    """Every sensor's samples and the summary: what the IPMI and Redfish probes both send."""
    for reading in readings:
        add_reading(data, reading)
    add_summary(data, readings)

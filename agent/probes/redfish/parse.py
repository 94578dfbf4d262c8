"""Redfish resources -> samples: pure functions, one per kind of resource.

Sensors (temperatures, fans, voltages, power supplies, power) become the IPMI probe's
`SensorReading`s and go out through its `add_reading`, so they carry the same metric names,
labels and flags (ipmi_temperature_celsius, ipmi_fan_stopped, ipmi_psu_failed...) and one rule
pack judges both. What IPMI has no sensor for (drives, storage controllers, DIMMs, CPUs,
roll-ups) gets `redfish_*_health` metrics, valued like the IPMI health bitmask (0 ok,
1 warning, 2 critical).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from agent.probe import ProbeData
from agent.probes.ipmi.ipmitool import CRITICAL, OK, WARNING, SensorReading

Resource = dict[str, Any]

_HEALTH = {"ok": OK, "warning": WARNING, "critical": CRITICAL}
_THRESHOLDS = {
    "LowerThresholdFatal": "lower_non_recoverable",
    "LowerThresholdCritical": "lower_critical",
    "LowerThresholdNonCritical": "lower_non_critical",
    "UpperThresholdNonCritical": "upper_non_critical",
    "UpperThresholdCritical": "upper_critical",
    "UpperThresholdFatal": "upper_non_recoverable",
}
_FAN_UNITS = {"rpm": "rpm", "percent": "percent"}


def health(resource: Resource, rollup: bool = False) -> int | None:
    """Status.Health (or HealthRollup) as a bitmask; None when the service does not say."""
    status = resource.get("Status") or {}
    word = (status.get("HealthRollup") or status.get("HealthRollUp")) if rollup else None
    word = word or status.get("Health")
    return _HEALTH.get(str(word).lower()) if word else None


def present(resource: Resource) -> bool:
    """False for an empty slot or bay (State "Absent")."""
    return (resource.get("Status") or {}).get("State") != "Absent"


def state_text(resource: Resource) -> str:
    """ "Enabled, Critical": the state and health words as the BMC gave them."""
    status = resource.get("Status") or {}
    words = [str(status[key]) for key in ("State", "Health") if status.get(key)]
    return ", ".join(words) or "unknown"


def display_name(resource: Resource, fallback: str = "") -> str:
    """The resource's Name, else its Id or MemberId, else `fallback`."""
    for key in ("Name", "Id", "MemberId"):
        if resource.get(key):
            return str(resource[key])
    return fallback


def identity(resource: Resource, fallback: str = "") -> str:
    """The resource's Id ("CPU1", "Disk.Bay.0:..."), unique in its collection; else its name."""
    return str(resource["Id"]) if resource.get("Id") else display_name(resource, fallback)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def sensor_reading(item: Resource, kind: str, value: Any, unit: str) -> SensorReading:
    """One Thermal/Power array member as a sensor; no value unless it is enabled and read."""
    number = _number(value)
    enabled = (item.get("Status") or {}).get("State", "Enabled") == "Enabled"
    thresholds = {
        level: float(limit)
        for key, level in _THRESHOLDS.items()
        if (limit := _number(item.get(key))) is not None
    }
    return SensorReading(
        name=display_name(item, kind),
        type=kind,
        value=number if enabled else None,
        unit=unit,
        health=health(item) or OK,
        states=() if number is not None and enabled else ("no reading",),
        thresholds=thresholds,
        ident=str(item.get("SensorNumber", item.get("MemberId", ""))),
    )


def thermal_readings(thermal: Resource) -> Iterator[SensorReading]:
    """Temperatures and fans of a (pre-2020, still universal) Thermal resource."""
    for item in thermal.get("Temperatures") or []:
        if present(item):
            yield sensor_reading(item, "temperature", item.get("ReadingCelsius"), "celsius")
    for item in thermal.get("Fans") or []:
        if present(item):
            unit = _FAN_UNITS.get(str(item.get("ReadingUnits", "RPM")).lower(), "rpm")
            value = item.get("Reading", item.get("ReadingRPM"))
            yield sensor_reading(item, "fan", value, unit)


def redundancy_reading(group: Resource, kind: str) -> SensorReading:
    """A redundancy group: "Redundancy Lost" unless its health is OK."""
    bits = health(group)
    lost = bits is not None and bits != OK
    return SensorReading(
        name=display_name(group, "Redundancy"),
        type=kind,
        value=None,
        unit="",
        health=bits or OK,
        states=("Redundancy Lost",) if lost else ("Fully Redundant",),
        ident=str(group.get("MemberId", "")),
    )


def power_supply_reading(item: Resource) -> SensorReading:
    """A power supply, valued by its output power; failed when its health is critical."""
    watts = item.get("LastPowerOutputWatts", item.get("PowerOutputWatts"))
    reading = sensor_reading(item, "power_supply", watts, "watts")
    # No asserted state: the IPMI flag logic then judges the supply by its health alone.
    return replace(reading, states=())


def power_readings(power: Resource) -> Iterator[SensorReading]:
    """Voltages, supplies, power consumed and supply redundancy of a Power resource."""
    for item in power.get("Voltages") or []:
        if present(item):
            yield sensor_reading(item, "voltage", item.get("ReadingVolts"), "volts")
    for item in power.get("PowerSupplies") or []:
        if present(item):
            yield power_supply_reading(item)
    for item in power.get("PowerControl") or []:
        yield sensor_reading(item, "power", item.get("PowerConsumedWatts"), "watts")
    for group in power.get("Redundancy") or []:
        yield redundancy_reading(group, "psu_redundancy")


def intrusion_reading(chassis: Resource) -> SensorReading | None:
    """PhysicalSecurity.IntrusionSensor as the IPMI probe's chassis_intrusion sensor."""
    sensor = (chassis.get("PhysicalSecurity") or {}).get("IntrusionSensor")
    if not sensor:
        return None
    opened = sensor != "Normal"
    return SensorReading(
        name=f"{display_name(chassis, 'Chassis')} Intrusion",
        type="chassis_intrusion",
        value=None,
        unit="",
        health=WARNING if opened else OK,
        states=(f"General Chassis intrusion ({sensor})",) if opened else ("Normal",),
    )


def add_component(data: ProbeData, metric: str, resource: Resource, **labels: str) -> int | None:
    """`<metric>_health` and `<metric>_state` of one drive, DIMM, CPU...; its health bits."""
    bits = health(resource)
    if bits is not None:
        data.add(f"{metric}_health", float(bits), **labels)
    data.add(f"{metric}_state", state_text(resource), **labels)
    return bits


def add_drive(data: ProbeData, drive: Resource, system: str, storage: str) -> int | None:
    """A drive (Storage/Drives member or SimpleStorage device), with its predicted failure."""
    labels = {"system": system, "storage": storage, "drive": identity(drive, "drive")}
    bits = add_component(data, "redfish_drive", drive, **labels)
    if "FailurePredicted" in drive:
        predicted = float(bool(drive["FailurePredicted"]))
        data.add("redfish_drive_failure_predicted", predicted, **labels)
    return bits


def controllers(storage: Resource) -> list[Resource]:
    """The storage's controllers; the Storage resource itself when it lists none inline."""
    inline = [c for c in storage.get("StorageControllers") or [] if isinstance(c, dict)]
    return inline or [storage]

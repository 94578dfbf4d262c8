"""IPMI sensor readings as one model, and pure parsers of ipmitool's sensor and SDR text into it.

The IPMI probe builds `SensorReading`s from pyghmi over the LAN and, for the in-band fallback,
from `ipmitool sensor` / `ipmitool sdr ... -c`; metrics are derived from the model alone, so
both paths reach the same conclusions.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

# Health bitmask, the same values as pyghmi.constants.Health.
OK, WARNING, CRITICAL, FAILED = 0, 1, 2, 4

# ipmitool's threshold status column ("ok", "cr", and the sdr elist spellings "ucr", "lnr"...).
_STATUS_HEALTH = {"ok": OK, "nc": WARNING, "cr": CRITICAL, "nr": FAILED}

_UNITS = {
    "°c": "celsius",
    "degrees c": "celsius",
    "c": "celsius",
    "°f": "fahrenheit",
    "degrees f": "fahrenheit",
    "rpm": "rpm",
    "v": "volts",
    "volts": "volts",
    "a": "amperes",
    "amps": "amperes",
    "w": "watts",
    "watts": "watts",
    "%": "percent",
    "percent": "percent",
    "discrete": "",
    "unspecified": "",
}
_UNIT_TYPES = {
    "celsius": "temperature",
    "fahrenheit": "temperature",
    "rpm": "fan",
    "volts": "voltage",
    "amperes": "current",
    "watts": "power",
}
_STATE_BITS = re.compile(r"0x[0-9a-fA-F]{1,4}")
_PSU_NAME = re.compile(r"\b(ps|psu|p/s|power supply|pws)\s*\d*\b", re.IGNORECASE)

# Sensor-specific offsets (IPMI 2.0 table 42-3) in ipmitool's words, with pyghmi's severities.
_DISCRETE_STATES: dict[str, tuple[tuple[str, int], ...]] = {
    "power_supply": (
        ("Presence detected", OK),
        ("Failure detected", CRITICAL),
        ("Predictive failure", CRITICAL),
        ("Power Supply AC lost", CRITICAL),
        ("AC lost or out-of-range", CRITICAL),
        ("AC out-of-range, but present", CRITICAL),
        ("Config Error", WARNING),
        ("Power Supply Inactive", OK),
    ),
    "chassis_intrusion": (
        ("General Chassis intrusion", CRITICAL),
        ("Drive Bay intrusion", CRITICAL),
        ("I/O Card area intrusion", CRITICAL),
        ("Processor area intrusion", CRITICAL),
        ("System unplugged from LAN", CRITICAL),
        ("Unauthorized dock", CRITICAL),
        ("FAN area intrusion", CRITICAL),
    ),
}
_STATE_WORDS = (
    ("predictive", CRITICAL),
    ("fail", CRITICAL),
    ("lost", CRITICAL),
    ("intrusion", CRITICAL),
    ("insufficient", CRITICAL),
    ("non-redundant", WARNING),
    ("degraded", WARNING),
    ("error", WARNING),
)


@dataclass(frozen=True)
class SensorReading:
    """One sensor as a monitor sees it, whichever tool read it.

    `type` is normalised ("temperature", "fan", "voltage", "power_supply", "chassis_intrusion"...),
    `unit` too ("celsius", "rpm", "volts", "percent", "" for discrete sensors). `value` is None
    when there is no reading (ipmitool "na", an absent DIMM, a discrete sensor): never zero.
    `health` is the pyghmi bitmask (0 ok, 1 warning, 2 critical, 4 failed); `states` the
    asserted states in words; `thresholds` maps "upper_critical" etc. to the limit.
    """

    name: str
    type: str
    value: float | None
    unit: str
    health: int = OK
    states: tuple[str, ...] = ()
    thresholds: dict[str, float] = field(default_factory=dict)
    ident: str = ""


def health_name(health: int) -> str:
    """The worst bit of a health bitmask in words."""
    for bit, name in ((FAILED, "failed"), (CRITICAL, "critical"), (WARNING, "warning")):
        if health & bit:
            return name
    return "ok"


def normalise_unit(unit: str) -> str:
    """ "degrees C" / "°C" -> "celsius", "RPM" -> "rpm"; unknown units in snake case."""
    text = unit.strip().lower()
    return _UNITS.get(text, re.sub(r"\W+", "_", text).strip("_"))


def normalise_type(sensor_type: str) -> str:
    """pyghmi's "Power Supply" -> "power_supply"; "Physical Security" -> "chassis_intrusion"."""
    snake = re.sub(r"\W+", "_", sensor_type.strip().lower()).strip("_")
    return "chassis_intrusion" if snake == "physical_security" else snake or "other"


def guess_type(name: str, unit: str) -> str:
    """The sensor type ipmitool's text leaves out, from the unit first and the name second."""
    if unit in _UNIT_TYPES:
        return _UNIT_TYPES[unit]
    lowered = name.lower()
    if unit in ("percent", "") and re.match(r"(sys_?)?fan", lowered):
        return "fan"  # duty-cycle fans (HPE) and discrete fan presence/state sensors
    if "intru" in lowered:
        return "chassis_intrusion"
    if _PSU_NAME.search(name):
        return "power_supply"
    return "other"


def state_health(state: str) -> int:
    """Severity of a state ipmitool spells out ("Failure detected", "Redundancy Lost")."""
    lowered = state.lower()
    if "fully redundant" in lowered or lowered.startswith("presence"):
        return OK
    return next((health for word, health in _STATE_WORDS if word in lowered), OK)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None  # "na", "" and anything else that is not a reading


def _status_health(status: str) -> int:
    return _STATUS_HEALTH.get(status.strip().lower()[-2:], OK)


def _discrete_states(sensor_type: str, bits_text: str) -> tuple[str, ...]:
    """ipmitool prints reading bytes 2-3 as 0xAABB: AA = offsets 0-7, BB bits 0-6 = 8-14."""
    bits = int(bits_text, 16)
    offsets = [n for n in range(8) if bits >> 8 & 1 << n]
    offsets += [8 + n for n in range(7) if bits & 1 << n]
    names = _DISCRETE_STATES.get(sensor_type)
    if names is None:
        return tuple(f"state {offset}" for offset in offsets)
    return tuple(names[o][0] if o < len(names) else f"state {o}" for o in offsets)


_THRESHOLD_NAMES = (
    "lower_non_recoverable",
    "lower_critical",
    "lower_non_critical",
    "upper_non_critical",
    "upper_critical",
    "upper_non_recoverable",
)


def _sensor_row(cells: Sequence[str]) -> SensorReading:
    name, reading, unit_text, status = cells[:4]
    unit = normalise_unit(unit_text)
    sensor_type = guess_type(name, unit)
    if _STATE_BITS.fullmatch(status):  # discrete sensor: the status column holds the state bits
        states = _discrete_states(sensor_type, status)
        health = max((state_health(s) for s in states), default=OK)
        return SensorReading(name, sensor_type, None, unit, health, states)
    value = _number(reading)
    limits = (_number(cell) for cell in cells[4:10])
    thresholds = {key: v for key, v in zip(_THRESHOLD_NAMES, limits, strict=False) if v is not None}
    states = () if value is not None or status != "na" else ("no reading",)
    return SensorReading(name, sensor_type, value, unit, _status_health(status), states, thresholds)


def parse_ipmitool_sensor(text: str) -> list[SensorReading]:
    """`ipmitool sensor` (= `sensor list`): name | reading | unit | status | six thresholds.

    A reading of "na" is no reading, not zero; threshold sensors take their health from the
    status column (ok, nc, cr, nr), discrete ones from the state bits it holds instead.
    """
    readings = []
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) < 4 or not cells[0]:
            continue
        readings.append(_sensor_row(cells))
    return readings


# `sdr elist` names the threshold crossed; kept as a state so "lower critical" fans are seen.
_STATUS_WORDS = {"l": "lower", "u": "upper", "nc": "non-critical", "cr": "critical"}


def _status_state(status: str) -> tuple[str, ...]:
    code = status.lower()
    if len(code) != 3 or code[0] not in "lu" or code[1:] not in ("nc", "cr", "nr"):
        return ()
    level = _STATUS_WORDS.get(code[1:], "non-recoverable")
    return (f"{_STATUS_WORDS[code[0]]} {level}",)


def _csv_full_row(name: str, reading: str, unit_text: str, status: str) -> SensorReading:
    unit = normalise_unit(unit_text)
    value = _number(reading)
    states = _status_state(status) if value is not None else ("no reading",)
    return SensorReading(name, guess_type(name, unit), value, unit, _status_health(status), states)


def _csv_compact_row(cells: Sequence[str], sensor_type: str | None) -> SensorReading:
    name, ident, status, _entity, description = cells
    kind = sensor_type or guess_type(name, "")
    states = tuple(s.strip() for s in description.split(", ") if s.strip())
    if status.lower() == "ns" or states in {("No Reading",), ("Disabled",)}:
        return SensorReading(name, kind, None, "", OK, ("no reading",), ident=ident)
    health = max([_status_health(status), *(state_health(s) for s in states)])
    return SensorReading(name, kind, None, "", health, states, ident=ident)


def parse_ipmitool_sdr_csv(text: str, sensor_type: str | None = None) -> list[SensorReading]:
    """`ipmitool sdr elist -c` or `sdr type "Power Supply" -c`, two row shapes.

    Threshold sensors: `name,reading,unit,status`. Discrete ones:
    `name,idh,status,entity,state[, state...]`, where the status stays "ok" even when a state
    says "Failure detected", so health comes from the states too. `sensor_type` names the type
    asked for with `sdr type` (the text does not repeat it).
    """
    readings = []
    for line in text.splitlines():
        if not line.strip():
            continue
        cells = line.split(",", 4)
        if len(cells) == 5 and re.fullmatch(r"[0-9a-fA-F]+h", cells[1]):
            readings.append(_csv_compact_row([c.strip() for c in cells], sensor_type))
        elif len(cells) >= 4:
            name, reading, unit, status = (c.strip() for c in line.rsplit(",", 3))
            readings.append(_csv_full_row(name, reading, unit, status))
    return readings


def merge_readings(
    base: Iterable[SensorReading], better: Iterable[SensorReading]
) -> list[SensorReading]:
    """`base` with every sensor that `better` also names replaced by `better`'s readings."""
    preferred = list(better)
    names = {reading.name for reading in preferred}
    return [r for r in base if r.name not in names] + preferred


def unique_names(readings: Sequence[SensorReading]) -> list[SensorReading]:
    """Give same-named sensors ("Status" on two PSUs) distinct names, so they are two series.

    The suffix is what the BMC says about the sensor itself, so a sensor keeps its name
    whatever order the tool lists it in: its sensor number ("Status (85h)") where the tool
    prints one, else the limits that set it apart ("Temp (upper_critical 85)"). Only sensors
    the tool describes identically are told apart by their position, as nothing else is known.
    """
    groups: dict[str, list[SensorReading]] = {}
    for reading in readings:
        groups.setdefault(reading.name, []).append(reading)
    suffixes: dict[int, str] = {}
    for same in groups.values():
        if len(same) > 1:
            suffixes.update(_identity_suffixes(same))
    return [
        replace(r, name=f"{r.name} ({suffixes[id(r)]})") if id(r) in suffixes else r
        for r in readings
    ]


def _identity_suffixes(same: Sequence[SensorReading]) -> dict[int, str]:
    """id(reading) -> suffix for readings sharing one name."""
    keys = set().union(*(r.thresholds for r in same))
    ordered = [k for k in _THRESHOLD_NAMES if k in keys] + sorted(keys - set(_THRESHOLD_NAMES))
    differing = [k for k in ordered if len({r.thresholds.get(k) for r in same}) > 1]
    described = [_limits_text(r, differing) for r in same]
    counts = Counter(described)
    seen: Counter[str] = Counter()
    suffixes = {}
    for reading, text in zip(same, described, strict=True):
        if reading.ident:
            suffixes[id(reading)] = reading.ident
            continue
        seen[text] += 1
        position = str(seen[text]) if counts[text] > 1 else ""
        suffixes[id(reading)] = ", ".join(part for part in (text, position) if part)
    return suffixes


def _limits_text(reading: SensorReading, keys: Sequence[str]) -> str:
    limits = [(k, reading.thresholds[k]) for k in keys if k in reading.thresholds]
    return ", ".join(f"{key} {value:g}" for key, value in limits)

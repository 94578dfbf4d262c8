"""ipmitool text parsers: every captured output yields what a monitor must conclude from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent.probe import ProbeData
from agent.probes.ipmi.ipmitool import (
    CRITICAL,
    OK,
    WARNING,
    SensorReading,
    guess_type,
    merge_readings,
    normalise_unit,
    parse_ipmitool_sdr_csv,
    parse_ipmitool_sensor,
    unique_names,
)
from agent.probes.ipmi.sensors import add_reading, add_summary
from tests.conftest import OWN_FIXTURES

OWN = OWN_FIXTURES / "ipmitool"


def conclusions(readings: Sequence[SensorReading]) -> dict[str, float | str]:
    """metric{sensor} -> value for every sample the probe would emit from these readings."""
    data = ProbeData()
    for reading in unique_names(readings):
        add_reading(data, reading)
    add_summary(data, unique_names(readings))
    out: dict[str, float | str] = {}
    for sample in data.samples:
        sensor = sample.labels.get("sensor")
        level = sample.labels.get("level")
        key = sample.metric + (f"{{{sensor}}}" if sensor else "") + (f"[{level}]" if level else "")
        out[key] = sample.value
    return out


@dataclass(frozen=True)
class Expect:
    """What a monitor must conclude from one capture."""

    count: int
    system_health: int
    unhealthy: int
    values: dict[str, object] = field(default_factory=dict)
    absent: tuple[str, ...] = ()  # samples that must not exist ("na" is no reading, not zero)


SENSOR_CASES = {
    # Supermicro X10DRi: FAN1, FAN5, FAN6, FANA, FANB and most DIMMs read "na".
    "ipmitool-sensor-supermicro-fans-na.txt": Expect(
        count=66,
        system_health=OK,
        unhealthy=0,
        values={
            "ipmi_fan_speed_rpm{FAN2}": 3000.0,
            "ipmi_fan_stopped{FAN2}": 0.0,
            "ipmi_sensor_threshold{FAN2}[lower_critical]": 450.0,
            "ipmi_sensor_threshold{FAN2}[upper_non_recoverable]": 19125.0,
            "ipmi_temperature_celsius{CPU2 Temp}": 38.0,
            "ipmi_sensor_threshold{CPU2 Temp}[upper_critical]": 82.0,
            "ipmi_voltage_volts{12V}": 12.084,
            "ipmi_sensor_state{FAN1}": "no reading",
            "ipmi_sensor_state{P1-DIMMA3 TEMP}": "no reading",
            "ipmi_psu_failed{PS1 Status}": 0.0,
            "ipmi_psu_failed{PS2 Status}": 0.0,
            "ipmi_sensor_state{PS2 Status}": "Presence detected",
            "ipmi_chassis_intrusion{Chassis Intru}": 0.0,
        },
        absent=("ipmi_sensor_value{FAN1}", "ipmi_fan_stopped{FAN1}", "ipmi_fan_stopped{FANB}"),
    ),
    # HPE iLO 5: only upper thresholds, dozens of unpopulated sensors, duty-cycle fans.
    "ipmitool-sensor-hpe-ilo-many-na.txt": Expect(
        count=141,
        system_health=OK,
        unhealthy=0,
        values={
            "ipmi_temperature_celsius{01-Inlet Ambient}": 23.0,
            "ipmi_sensor_threshold{01-Inlet Ambient}[upper_critical]": 42.0,
            "ipmi_sensor_threshold{01-Inlet Ambient}[upper_non_recoverable]": 47.0,
            "ipmi_temperature_celsius{34-PCI 3}": 85.0,
            "ipmi_sensor_state{03-CPU 2}": "no reading",
            "ipmi_fan_speed_ratio{Fan 3 DutyCycle}": pytest.approx(0.1176),
            "ipmi_power_watts{PS 2 Output}": 85.0,
            "ipmi_psu_failed{Power Supply 1}": 0.0,
            "ipmi_psu_failed{Power Supply 2}": 0.0,
            "ipmi_sensor_state{Intrusion}": "no reading",
        },
        absent=(
            "ipmi_sensor_value{03-CPU 2}",
            "ipmi_sensor_threshold{01-Inlet Ambient}[lower_critical]",
            "ipmi_fan_stopped{Fan 1 DutyCycle}",
            "ipmi_chassis_intrusion{Intrusion}",
        ),
    ),
    # Supermicro dual CPU: the Intrusion sensor reads "nc" - the lid has been opened.
    "ipmitool-sensor-supermicro-intrusion-nc.txt": Expect(
        count=39,
        system_health=WARNING,
        unhealthy=1,
        values={
            "ipmi_chassis_intrusion{Intrusion}": 1.0,
            "ipmi_sensor_health{Intrusion}": 1.0,
            "ipmi_sensor_critical{Intrusion}": 0.0,
            "ipmi_sensor_state{Intrusion}": "warning",
            "ipmi_fan_speed_rpm{Fan7}": 3915.0,
            "ipmi_sensor_threshold{Fan7}[lower_non_critical]": 675.0,
            "ipmi_sensor_state{Fan4}": "no reading",
            "ipmi_psu_failed{PS Status}": 0.0,
            "ipmi_voltage_volts{+12V}": 12.031,
        },
        absent=("ipmi_fan_speed_rpm{Fan4}", "ipmi_fan_stopped{Fan5}"),
    ),
    # Supermicro single CPU, all ok: CPU at 77 C is below its 96 C non-critical limit.
    "ipmitool-sensor-supermicro-single-cpu-ok.txt": Expect(
        count=35,
        system_health=OK,
        unhealthy=0,
        values={
            "ipmi_temperature_celsius{CPU Temp}": 77.0,
            "ipmi_sensor_threshold{CPU Temp}[upper_non_critical]": 96.0,
            "ipmi_sensor_critical{CPU Temp}": 0.0,
            "ipmi_fan_speed_rpm{FAN1}": 13200.0,
            "ipmi_fan_stopped{FAN4}": 0.0,
            "ipmi_sensor_state{FAN5}": "no reading",
            "ipmi_psu_failed{PS1 Status}": 0.0,
            "ipmi_chassis_intrusion{Chassis Intru}": 0.0,
        },
        absent=("ipmi_sensor_value{FANA}", "ipmi_fan_stopped{FANA}"),
    ),
    # HP iLO 4: the only fan reports a duty cycle in percent.
    "ipmitool-sensor-hp-ilo-fan-percent.txt": Expect(
        count=18,
        system_health=OK,
        unhealthy=0,
        values={
            "ipmi_fan_speed_ratio{Fan 1}": pytest.approx(0.1568),
            "ipmi_sensor_value{Fan 1}": 15.68,
            "ipmi_fan_stopped{Fan 1}": 0.0,
            "ipmi_temperature_celsius{01-Inlet Ambient}": 18.0,
            "ipmi_sensor_state{04-HD Max}": "no reading",
            "ipmi_psu_failed{Power Supply 1}": 0.0,
        },
        absent=("ipmi_fan_speed_rpm{Fan 1}", "ipmi_sensor_value{04-HD Max}"),
    ),
    # ipmi_sim after CPU Temp -> 90 C, Fan 1 -> 300 RPM, PSU1 failure + AC lost (own capture).
    "ipmi-sim-sensor-cpu-hot-fan-slow-psu-failed.txt": Expect(
        count=3,
        system_health=CRITICAL,
        unhealthy=3,
        values={
            "ipmi_sensor_critical{CPU Temp}": 1.0,
            "ipmi_temperature_celsius{CPU Temp}": 90.0,
            "ipmi_fan_stopped{Fan 1}": 1.0,
            "ipmi_fan_speed_rpm{Fan 1}": 300.0,
            "ipmi_psu_failed{PSU1 Status}": 1.0,
            "ipmi_sensor_state{PSU1 Status}": (
                "Presence detected, Failure detected, Power Supply AC lost"
            ),
        },
    ),
    "ipmi-sim-sensor-healthy.txt": Expect(
        count=3,
        system_health=OK,
        unhealthy=0,
        values={
            "ipmi_temperature_celsius{CPU Temp}": 40.0,
            "ipmi_sensor_threshold{CPU Temp}[upper_critical]": 85.0,
            "ipmi_fan_stopped{Fan 1}": 0.0,
            "ipmi_psu_failed{PSU1 Status}": 0.0,
            "ipmi_sensor_state{CPU Temp}": "ok",
        },
    ),
}


def _fixture(name: str, shared_fixtures: Path) -> Path:
    shared = shared_fixtures / "ipmitool" / name
    return shared if shared.exists() else OWN / name


@pytest.mark.parametrize("name", list(SENSOR_CASES), ids=list(SENSOR_CASES))
def test_ipmitool_sensor_capture_yields_its_conclusion(name: str, shared_fixtures: Path) -> None:
    expect = SENSOR_CASES[name]
    readings = parse_ipmitool_sensor(_fixture(name, shared_fixtures).read_text())
    seen = conclusions(readings)

    assert len(readings) == expect.count
    assert seen["ipmi_system_health"] == expect.system_health
    assert seen["ipmi_unhealthy_sensors"] == expect.unhealthy
    for key, value in expect.values.items():
        assert seen.get(key) == value, key
    for key in expect.absent:
        assert key not in seen, key


def test_every_shared_ipmitool_capture_has_a_case(shared_fixtures: Path) -> None:
    names = {path.name for path in (shared_fixtures / "ipmitool").iterdir()}
    assert names - set(SENSOR_CASES) == {"ipmitool-sdr-type-power-supply-csv-redundant.txt"}


def test_sdr_csv_power_supplies_fully_redundant(shared_fixtures: Path) -> None:
    path = shared_fixtures / "ipmitool" / "ipmitool-sdr-type-power-supply-csv-redundant.txt"
    readings = parse_ipmitool_sdr_csv(path.read_text(), "power_supply")
    seen = conclusions(readings)

    assert [r.name for r in unique_names(readings)] == [
        "PS Redundancy",
        "Status (85h)",
        "Status (86h)",
    ]
    assert seen["ipmi_psu_redundancy_lost{PS Redundancy}"] == 0.0
    assert seen["ipmi_sensor_state{PS Redundancy}"] == "Fully Redundant"
    assert seen["ipmi_psu_failed{Status (85h)}"] == 0.0
    assert seen["ipmi_psu_failed{Status (86h)}"] == 0.0
    assert seen["ipmi_system_health"] == OK


def test_sdr_csv_redundancy_lost_and_failed_supply() -> None:
    text = (
        "PS Redundancy,77h,ok,7.1,Redundancy Lost\n"
        "Status,85h,ok,10.1,Presence detected, Failure detected\n"
        "Status,86h,ok,10.2,Presence detected\n"
    )
    seen = conclusions(parse_ipmitool_sdr_csv(text, "power_supply"))

    assert seen["ipmi_psu_redundancy_lost{PS Redundancy}"] == 1.0
    assert seen["ipmi_sensor_critical{PS Redundancy}"] == 1.0
    # the status column stays "ok": the failure is only in the states
    assert seen["ipmi_psu_failed{Status (85h)}"] == 1.0
    assert seen["ipmi_sensor_critical{Status (85h)}"] == 1.0
    assert seen["ipmi_psu_failed{Status (86h)}"] == 0.0


@pytest.mark.parametrize(
    ("name", "health", "expected"),
    [
        (
            "ipmi-sim-sdr-elist-csv-cpu-hot-fan-slow-psu-failed.txt",
            CRITICAL,
            {
                "ipmi_temperature_celsius{CPU Temp}": 90.0,
                "ipmi_sensor_state{CPU Temp}": "upper critical",
                "ipmi_sensor_critical{CPU Temp}": 1.0,
                "ipmi_fan_stopped{Fan 1}": 1.0,
                "ipmi_psu_failed{PSU1 Status}": 1.0,
            },
        ),
        (
            "ipmi-sim-sdr-elist-csv-healthy.txt",
            OK,
            {
                "ipmi_fan_speed_rpm{Fan 1}": 6000.0,
                "ipmi_fan_stopped{Fan 1}": 0.0,
                "ipmi_psu_failed{PSU1 Status}": 0.0,
                "ipmi_sensor_state{PSU1 Status}": "Presence detected",
            },
        ),
    ],
    ids=["critical", "healthy"],
)
def test_sdr_elist_csv_from_ipmi_sim(name: str, health: int, expected: dict[str, float]) -> None:
    seen = conclusions(parse_ipmitool_sdr_csv((OWN / name).read_text()))

    assert seen["ipmi_system_health"] == health
    for key, value in expected.items():
        assert seen[key] == value, key


def test_sdr_csv_no_reading_is_not_zero() -> None:
    text = "Fan 2,na,RPM,ns\nPSU2 Status,04h,ns,10.2,No Reading\n"
    seen = conclusions(parse_ipmitool_sdr_csv(text))

    assert seen["ipmi_sensor_state{Fan 2}"] == "no reading"
    assert seen["ipmi_sensor_state{PSU2 Status}"] == "no reading"
    assert "ipmi_sensor_value{Fan 2}" not in seen
    assert "ipmi_fan_stopped{Fan 2}" not in seen
    assert "ipmi_psu_failed{PSU2 Status}" not in seen


@pytest.mark.parametrize(
    ("line", "health", "critical"),
    [
        ("T | 80.000 | degrees C | nc | na | na | na | 75.000 | 85.000 | 95.000", WARNING, 0.0),
        ("T | 90.000 | degrees C | cr | na | na | na | 75.000 | 85.000 | 95.000", CRITICAL, 1.0),
        ("T | 99.000 | degrees C | nr | na | na | na | 75.000 | 85.000 | 95.000", 4, 1.0),
    ],
    ids=["nc", "cr", "nr"],
)
def test_sensor_status_column_sets_health(line: str, health: int, critical: float) -> None:
    seen = conclusions(parse_ipmitool_sensor(line))

    assert seen["ipmi_sensor_health{T}"] == health
    assert seen["ipmi_sensor_critical{T}"] == critical


def test_stopped_fan_and_garbage_lines() -> None:
    text = (
        "garbage without separators\n"
        "| | |\n"
        "FAN1 | 0.000 | RPM | cr | na | 300.000 | 500.000 | na | na | na\n"
        "PS1 Status | 0x1 | discrete | 0xzz00| na | na | na | na | na | na\n"
    )
    readings = parse_ipmitool_sensor(text)
    seen = conclusions(readings)

    assert [r.name for r in readings] == ["FAN1", "PS1 Status"]
    assert seen["ipmi_fan_stopped{FAN1}"] == 1.0
    assert seen["ipmi_sensor_critical{FAN1}"] == 1.0


def test_merge_prefers_decoded_states_over_state_bits() -> None:
    bits = parse_ipmitool_sensor(
        "PS1 Status | 0x1 | discrete | 0x0100| na | na | na | na | na | na"
    )
    decoded = parse_ipmitool_sdr_csv("PS1 Status,c8h,ok,10.1,Presence detected, Failure detected")

    (merged,) = merge_readings(bits, decoded)

    assert merged.states == ("Presence detected", "Failure detected")


@pytest.mark.parametrize(
    ("name", "unit", "expected"),
    [
        ("54-P/S 1 Inlet", "degrees C", "temperature"),
        ("PS 1 Output", "Watts", "power"),
        ("PS2 Status", "discrete", "power_supply"),
        ("Chassis Intru", "discrete", "chassis_intrusion"),
        ("Fan 3 DutyCycle", "percent", "fan"),
        ("CPU Utilization", "unspecified", "other"),
    ],
    ids=["psu-inlet-temp", "psu-watts", "psu-status", "intrusion", "duty-cycle", "other"],
)
def test_guess_type_from_unit_then_name(name: str, unit: str, expected: str) -> None:
    assert guess_type(name, normalise_unit(unit)) == expected


def _names(readings: Sequence[SensorReading]) -> dict[str, float | None]:
    return {r.name: r.value for r in unique_names(readings)}


def test_duplicate_names_keep_their_identity_whatever_the_line_order(
    shared_fixtures: Path,
) -> None:
    path = shared_fixtures / "ipmitool" / "ipmitool-sdr-type-power-supply-csv-redundant.txt"
    lines = path.read_text().splitlines()
    forward = {r.name: r.ident for r in unique_names(parse_ipmitool_sdr_csv("\n".join(lines)))}
    backward = unique_names(parse_ipmitool_sdr_csv("\n".join(reversed(lines))))
    assert forward == {r.name: r.ident for r in backward}
    assert {"Status (85h)", "Status (86h)"} <= set(forward)


def test_same_named_threshold_sensors_are_told_apart_by_their_limits() -> None:
    # Dell-style "Temp" twice (CPU and board) with their own limits, in either order.
    cpu = "Temp | 41.000 | degrees C | ok | na | 3.000 | 8.000 | 85.000 | 90.000 | na"
    board = "Temp | 30.000 | degrees C | ok | na | 3.000 | 8.000 | 42.000 | 47.000 | na"
    first = _names(parse_ipmitool_sensor(f"{cpu}\n{board}\n"))
    second = _names(parse_ipmitool_sensor(f"{board}\n{cpu}\n"))
    assert first == second
    assert first == {
        "Temp (upper_non_critical 85, upper_critical 90)": 41.0,
        "Temp (upper_non_critical 42, upper_critical 47)": 30.0,
    }


def test_non_critical_status_is_a_warning_not_critical(shared_fixtures: Path) -> None:
    path = shared_fixtures / "ipmitool" / "ipmitool-sensor-supermicro-intrusion-nc.txt"
    seen = conclusions(parse_ipmitool_sensor(path.read_text()))
    assert seen["ipmi_sensor_warning{Intrusion}"] == 1.0
    assert seen["ipmi_sensor_critical{Intrusion}"] == 0.0
    assert seen["ipmi_sensor_warning{System Temp}"] == 0.0

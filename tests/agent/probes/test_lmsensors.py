"""LmSensorsProbe on captured `sensors -j` output: temperatures, fans, voltages, alarms."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.exec import CannedOutput, CommandError, FixtureRunner
from agent.probe import ProbeData, ProbeError
from agent.probes.kind import ProbeContext
from agent.probes.lmsensors import (
    LmSensorsProbe,
    LmSensorsSettings,
    SensorReading,
    build_lmsensors_probes,
    parse_sensors_json,
)
from tests.conftest import OWN_FIXTURES

ARGV = ("sensors", "-j")


def collect(answer: CannedOutput | Path, settings: LmSensorsSettings | None = None) -> ProbeData:
    probe = LmSensorsProbe(
        settings or LmSensorsSettings(enabled=True), FixtureRunner({ARGV: answer})
    )
    return probe.collect()


def series(data: ProbeData, metric: str) -> dict[tuple[str, str], float | str]:
    return {
        (s.labels["chip"], s.labels["sensor"]): s.value for s in data.samples if s.metric == metric
    }


@pytest.mark.parametrize(
    ("fixture", "hottest", "core0"),
    [
        ("sensors-j-intel-coretemp-2x-nvme-normal.json", ("nvme-pci-0200", 30.85), 20.0),
        ("sensors-j-intel-coretemp-2x-nvme-fan-test.json", ("nvme-pci-0500", 32.85), 24.0),
    ],
    ids=["normal", "fan-test"],
)
def test_shared_captures_healthy_no_fans_no_alarm(
    shared_fixtures: Path, fixture: str, hottest: tuple[str, float], core0: float
) -> None:
    data = collect(shared_fixtures / "sensors" / fixture)
    temperatures = series(data, "temperature_celsius")
    assert len(temperatures) == 20  # package + 16 cores, 2 NVMe composites, ACPI zone
    chip, degrees = max(((c, v) for (c, _), v in temperatures.items()), key=lambda cv: cv[1])
    assert (chip, degrees) == hottest
    assert temperatures[("coretemp-isa-0000", "Core 0")] == core0
    assert temperatures[("coretemp-isa-0000", "Package id 0")] == 27.0
    assert temperatures[("acpitz-acpi-0", "temp1")] == 27.8
    critical = series(data, "temperature_critical_celsius")
    assert critical[("coretemp-isa-0000", "Core 0")] == 100.0
    assert critical[("nvme-pci-0200", "Composite")] == 114.85
    alarms = series(data, "sensor_alarm")
    assert len(alarms) == 19 and set(alarms.values()) == {0.0}  # acpitz has no alarm flag
    assert series(data, "fan_speed_rpm") == {}
    assert data.source_errors == {}


def test_failing_board_stopped_fan_hot_cpu_low_voltage_intrusion() -> None:
    data = collect(
        OWN_FIXTURES / "sensors" / "sensors-j-nct6798-fan-stopped-cpu-hot-intrusion.json"
    )
    chip = "nct6798-isa-0290"
    assert series(data, "fan_speed_rpm") == {(chip, "fan1"): 1052.0, (chip, "fan2"): 0.0}
    assert series(data, "fan_min_rpm")[(chip, "fan2")] == 300.0
    temperatures = series(data, "temperature_celsius")
    assert temperatures[(chip, "CPUTIN")] == 91.5
    assert series(data, "temperature_max_celsius")[(chip, "CPUTIN")] == 80.0
    assert temperatures[("k10temp-pci-00c3", "Tctl")] == 88.875
    assert series(data, "voltage_volts")[(chip, "in1")] == 0.968
    assert series(data, "voltage_min_volts")[(chip, "in1")] == 1.0
    raised = {key for key, v in series(data, "sensor_alarm").items() if v == 1.0}
    assert raised == {(chip, "fan2"), (chip, "CPUTIN"), (chip, "in1")}
    assert series(data, "sensor_alarm")[(chip, "fan1")] == 0.0
    assert (chip, "beep_enable") not in series(data, "sensor_alarm")
    # The intrusion switch is its own series, so its rule can say "the case was opened".
    assert series(data, "sensor_intrusion_alarm") == {(chip, "intrusion0"): 1.0}
    assert series(data, "sensor_critical") == {}  # this board sets no crit limits


def test_real_board_over_critical_without_a_flag_and_with_unset_voltage_limits() -> None:
    data = collect(
        OWN_FIXTURES / "sensors" / "sensors-j-asrock-nct6798-unset-limits-hot-aux-intrusion.json"
    )
    chip = "nct6798-isa-02a0"
    critical = {key for key, v in series(data, "sensor_critical").items() if v == 1.0}
    # SYSTIN reads 120 over crit 100 and the chip has no alarm flag for it at all.
    assert critical == {
        (chip, name) for name in ("SYSTIN", "AUXTIN0", "AUXTIN1", "AUXTIN2", "AUXTIN4")
    }
    assert (chip, "SYSTIN") not in series(data, "sensor_alarm")
    assert series(data, "sensor_critical")[("coretemp-isa-0000", "Core 0")] == 0.0
    # in1..in14 raise alarms against min = max = 0: limits nobody set, so no alarm series.
    voltages = {key: v for key, v in series(data, "sensor_alarm").items() if key[1][:2] == "in"}
    assert voltages == {(chip, "in0"): 0.0}  # the one channel whose limits (0..1.744 V) are set
    assert series(data, "voltage_volts")[(chip, "in1")] == 1.016
    assert series(data, "sensor_intrusion_alarm") == {
        (chip, "intrusion0"): 1.0,
        (chip, "intrusion1"): 1.0,
    }


@pytest.mark.parametrize(
    ("values", "critical"),
    [
        ({"input": 101.0, "crit": 100.0}, True),
        ({"input": 99.0, "crit": 100.0}, False),
        ({"input": 99.0, "crit": 100.0, "crit_alarm": 1.0}, True),
        ({"input": 10.0, "crit": 0.0}, None),  # a 0 limit is an unset register
        ({"input": 0.7, "lcrit": 0.8, "crit": 1.4}, True),
        ({"input": 40.0, "max": 80.0}, None),
    ],
    ids=["over", "under", "flag-only", "unset", "under-lcrit", "no-limit"],
)
def test_beyond_critical_compares_with_the_limits(
    values: dict[str, float], critical: bool | None
) -> None:
    assert SensorReading("chip", "x", "temp", values).beyond_critical is critical


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (CannedOutput('{"coretemp-isa-0000": {"Core 0": {"temp2_in'), "malformed JSON"),
        (CannedOutput("[1, 2]"), "expected a JSON object"),
        (CannedOutput("", 1, "No sensors found!\n"), r"exit 1\): No sensors found!"),
    ],
    ids=["truncated", "not-an-object", "no-sensors"],
)
def test_garbage_is_a_clear_probe_error(answer: CannedOutput, message: str) -> None:
    with pytest.raises(ProbeError, match=message):
        collect(answer)


def test_missing_program_is_a_probe_error() -> None:
    class MissingRunner:
        def run(self, argv: object, timeout: float) -> object:
            raise CommandError("sensors: not found (install it or set its path)")

    probe = LmSensorsProbe(LmSensorsSettings(enabled=True), MissingRunner())  # type: ignore[arg-type]
    with pytest.raises(ProbeError, match="sensors: not found"):
        probe.collect()


def test_partial_output_with_error_exit_is_partial() -> None:
    stdout = '{"k10temp-pci-00c3": {"Adapter": "PCI adapter", "Tctl": {"temp1_input": 50.0}}}'
    data = collect(CannedOutput(stdout, 1, "ERROR: Can't get value of subfeature in0_input\n"))
    assert series(data, "temperature_celsius") == {("k10temp-pci-00c3", "Tctl"): 50.0}
    assert "in0_input" in data.source_errors["sensors"]


def test_settings_and_builder() -> None:
    runner = FixtureRunner({})
    assert build_lmsensors_probes(LmSensorsSettings(), ProbeContext(runner)) == []  # off by default
    settings = LmSensorsSettings(enabled=True, command="/usr/bin/sensors", min_interval="2m")
    (probe,) = build_lmsensors_probes(settings, ProbeContext(runner))
    assert probe.min_interval_seconds == 120
    with pytest.raises(ValueError, match="timeout: expected a duration"):
        LmSensorsSettings(timeout="soon")


def test_parse_ignores_non_numeric_and_flag_only_features() -> None:
    readings = parse_sensors_json('{"chip": {"Adapter": "x", "beep_enable": {"beep_enable": 1}}}')
    assert readings == []

"""IPMI probe against a real BMC simulator (ipmi_sim), plus its settings and failure paths."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from agent.exec import CannedOutput, FixtureRunner
from agent.probe import ProbeData, ProbeError
from agent.probes.ipmi.ipmitool import SensorReading, parse_ipmitool_sensor, unique_names
from agent.probes.ipmi.probe import IpmiProbe, build_ipmi_probes
from agent.probes.ipmi.session import (
    NEVER_READ,
    BmcError,
    BmcUnreachableError,
    FallbackClient,
    IpmitoolClient,
    SelEntry,
    entries_since,
    with_sensor_numbers,
)
from agent.probes.ipmi.settings import BmcSettings, IpmiSettings
from agent.probes.kind import ProbeContext
from agent.secret import convert
from tests.conftest import OWN_FIXTURES
from tests.peers import free_udp_port, wait_until
from tests.peers.ipmi_sim import (
    CPU_TEMP,
    FAN_1,
    PSU1_STATUS,
    PSU_AC_LOST,
    PSU_FAILURE,
    IpmiSim,
    running_ipmi_sim,
)

NO_RUNNER = FixtureRunner({})


def flat(data: ProbeData) -> dict[str, float | str]:
    """metric{sensor} -> value, so expectations read like PromQL."""
    out: dict[str, float | str] = {}
    for sample in data.samples:
        sensor = sample.labels.get("sensor")
        out[sample.metric + (f"{{{sensor}}}" if sensor else "")] = sample.value
    return out


def lan_probe(port: int, password: str = "secret", timeout: str = "10s", **extra: Any) -> IpmiProbe:
    """The probe the agent would build from `bmcs: [{name: web1, ...}]` in agent.yaml."""
    raw = {"bmcs": [{"name": "web1", "address": "127.0.0.1", "port": port, "username": "admin"}]}
    raw["bmcs"][0].update(password=password, timeout=timeout, **extra)
    (probe,) = build_ipmi_probes(convert(raw, IpmiSettings), ProbeContext(NO_RUNNER))
    assert isinstance(probe, IpmiProbe)
    return probe


def collect_up(probe: IpmiProbe, within: float = 20.0) -> ProbeData:
    """A collection that reached the BMC; the failure names the reason.

    ipmi_sim now and then drops a session's first packet, and on a busy machine a read can
    outlast its timeout: like the agent's next cycle, try again (for `within` seconds)."""
    deadline = time.monotonic() + within
    data = probe.collect()
    while data.source_errors and time.monotonic() < deadline:
        time.sleep(0.2)
        data = probe.collect()
    assert data.source_errors == {}, data.source_errors
    return data


@pytest.fixture
def bmc(tmp_path: Path) -> Iterator[IpmiSim]:
    with running_ipmi_sim(tmp_path) as sim:
        yield sim


@pytest.fixture
def probe(bmc: IpmiSim) -> Iterator[IpmiProbe]:
    probe = lan_probe(bmc.port)
    yield probe
    probe.close()  # log out before the simulator stops (fixture order)


# --- against the real simulator -------------------------------------------------------------


@pytest.mark.peer
@pytest.mark.timeout(30)
def test_healthy_bmc_reads_every_sensor(probe: IpmiProbe) -> None:
    data = collect_up(probe)
    seen = flat(data)

    assert probe.name == "ipmi:web1"
    assert probe.target == "web1"
    assert data.source_errors == {}
    assert seen["ipmi_bmc_up"] == 1.0
    assert seen["ipmi_temperature_celsius{CPU Temp}"] == 40.0
    assert seen["ipmi_fan_speed_rpm{Fan 1}"] == 6000.0
    assert seen["ipmi_sensor_state{PSU1 Status}"] == "Present"
    assert seen["ipmi_psu_failed{PSU1 Status}"] == 0.0
    assert seen["ipmi_fan_stopped{Fan 1}"] == 0.0
    assert seen["ipmi_system_health"] == 0.0
    assert seen["ipmi_sensors"] == 3.0
    units = {s.labels["sensor"]: s.labels["unit"] for s in data.samples if "unit" in s.labels}
    assert units == {"CPU Temp": "celsius", "Fan 1": "rpm"}
    assert data.events == []  # first SEL read only remembers where the log ends


@pytest.mark.peer
@pytest.mark.timeout(30)
def test_sensors_go_critical_and_back(bmc: IpmiSim, probe: IpmiProbe) -> None:
    probe.collect()

    bmc.set_sensor_value(CPU_TEMP, 90)
    bmc.set_sensor_value(FAN_1, 3)  # 300 RPM, below the 500 RPM lower critical limit
    bmc.set_bit(PSU1_STATUS, PSU_FAILURE, True)
    bmc.set_bit(PSU1_STATUS, PSU_AC_LOST, True)
    hot = flat(collect_up(probe))

    assert hot["ipmi_temperature_celsius{CPU Temp}"] == 90.0
    assert hot["ipmi_sensor_critical{CPU Temp}"] == 1.0
    assert hot["ipmi_sensor_health{CPU Temp}"] == 3.0  # warning | critical, as pyghmi reports
    assert "upper critical" in str(hot["ipmi_sensor_state{CPU Temp}"])
    assert hot["ipmi_fan_speed_rpm{Fan 1}"] == 300.0
    assert hot["ipmi_fan_stopped{Fan 1}"] == 1.0
    assert hot["ipmi_psu_failed{PSU1 Status}"] == 1.0
    assert hot["ipmi_sensor_state{PSU1 Status}"] == "Present, Failure, Power input lost"
    assert hot["ipmi_unhealthy_sensors"] == 3.0
    assert int(hot["ipmi_system_health"]) & 2

    bmc.reset()
    calm = flat(collect_up(probe))

    assert calm["ipmi_sensor_critical{CPU Temp}"] == 0.0
    assert calm["ipmi_fan_stopped{Fan 1}"] == 0.0
    assert calm["ipmi_psu_failed{PSU1 Status}"] == 0.0
    assert calm["ipmi_system_health"] == 0.0


@pytest.mark.peer
@pytest.mark.timeout(30)
def test_sel_entries_since_last_read_become_events(bmc: IpmiSim, probe: IpmiProbe) -> None:
    probe.collect()
    bmc.set_sensor_value(CPU_TEMP, 90)
    bmc.set_bit(PSU1_STATUS, PSU_FAILURE, True)

    events = collect_up(probe).events
    again = collect_up(probe).events

    messages = [event.message for event in events]
    assert "CPU Temp: Upper critical" in messages
    assert "PSU1 Status: Failure" in messages
    assert "PSU1 Status: Present" not in messages  # logged at start, before the first read
    assert {event.kind for event in events} == {"ipmi_sel"}
    failure = next(e for e in events if e.message == "PSU1 Status: Failure")
    assert failure.labels["severity"] == "critical"
    assert failure.labels["type"] == "power_supply"
    assert failure.labels["assertion"] == "asserted"
    assert abs(failure.time - time.time()) < 3600
    assert again == []

    bmc.set_sensor_value(CPU_TEMP, 40)
    recovered = [event.message for event in collect_up(probe).events]
    assert "CPU Temp: Upper critical deasserted" in recovered


@pytest.mark.peer
@pytest.mark.timeout(30)
def test_first_read_can_report_the_newest_entries(bmc: IpmiSim) -> None:
    bmc.set_bit(PSU1_STATUS, PSU_FAILURE, True)
    probe = lan_probe(bmc.port, sel_initial_entries=1)
    try:
        events = collect_up(probe).events
    finally:
        probe.close()

    assert [event.message for event in events] == ["PSU1 Status: Failure"]


@pytest.mark.peer
@pytest.mark.timeout(30)
def test_wrong_password_is_a_clear_source_error(bmc: IpmiSim) -> None:
    probe = lan_probe(bmc.port, password="not-the-secret")
    started = time.monotonic()
    data = probe.collect()

    assert flat(data) == {"ipmi_bmc_up": 0.0}
    assert data.source_errors["bmc"] == "unreachable: Incorrect password provided"
    assert "not-the-secret" not in repr(data)
    assert time.monotonic() - started < 5


@pytest.mark.peer
@pytest.mark.timeout(30)
def test_password_file(bmc: IpmiSim, tmp_path: Path) -> None:
    secret = tmp_path / "bmc.pass"
    secret.write_text("secret\n")
    probe = lan_probe(bmc.port, password="", password_file=str(secret))
    try:
        seen = flat(collect_up(probe))
    finally:
        probe.close()

    assert seen["ipmi_bmc_up"] == 1.0


@pytest.mark.timeout(30)
def test_missing_password_file_is_a_source_error(tmp_path: Path) -> None:
    probe = lan_probe(free_udp_port(), password="", password_file=str(tmp_path / "nope"))

    data = probe.collect()

    assert flat(data) == {"ipmi_bmc_up": 0.0}
    assert "cannot read password_file" in data.source_errors["bmc"]
    assert "No such file" in data.source_errors["bmc"]


@pytest.mark.timeout(30)
def test_nobody_listening_is_bmc_down_within_the_timeout() -> None:
    probe = lan_probe(free_udp_port(), timeout="2s")
    started = time.monotonic()

    data = probe.collect()

    assert time.monotonic() - started < 3
    assert flat(data) == {"ipmi_bmc_up": 0.0}
    assert data.source_errors["bmc"].startswith("unreachable: ")


@pytest.mark.peer
@pytest.mark.timeout(30)
def test_bmc_that_stops_answering_is_down_within_the_timeout(tmp_path: Path) -> None:
    with running_ipmi_sim(tmp_path) as bmc:
        probe = lan_probe(bmc.port, timeout="2s")
        # the simulator now and then drops the first packet of a session: allow a retry
        wait_until(lambda: flat(probe.collect())["ipmi_bmc_up"] == 1.0, 10, "first read")
        bmc.stop()  # no logout: the BMC vanishes under a live session
        started = time.monotonic()

        data = probe.collect()

    assert time.monotonic() - started < 3
    assert flat(data) == {"ipmi_bmc_up": 0.0}
    assert data.source_errors["bmc"].startswith("unreachable: ")


# --- failure paths with a test client -------------------------------------------------------


class StubClient:
    """A BmcClient that answers from lists or raises what it is told to."""

    def __init__(
        self,
        readings: Sequence[SensorReading] = (),
        sel: Sequence[SelEntry] = (),
        connect_error: Exception | None = None,
        sensor_error: Exception | None = None,
        block: threading.Event | None = None,
    ) -> None:
        self.readings, self.sel = list(readings), list(sel)
        self.connect_error, self.sensor_error, self.block = connect_error, sensor_error, block
        self.closed = False

    def connect(self) -> None:
        if self.block is not None:
            self.block.wait(10)
        if self.connect_error is not None:
            raise self.connect_error

    def read_sensors(self) -> list[SensorReading]:
        if self.sensor_error is not None:
            raise self.sensor_error
        return self.readings

    def read_sel(self) -> list[SelEntry]:
        return self.sel

    def close(self) -> None:
        self.closed = True


def test_bmc_answering_errors_keeps_bmc_up_and_names_the_source() -> None:
    client = StubClient(sensor_error=BmcError("Unspecified error (0xff)"))
    data = IpmiProbe("ipmi:x", "x", client, timeout=1).collect()

    assert flat(data) == {"ipmi_bmc_up": 1.0, "ipmi_sel_entries": 0.0}
    assert data.source_errors == {"sensors": "Unspecified error (0xff)"}


def test_stuck_bmc_costs_one_timeout_then_is_skipped() -> None:
    release = threading.Event()
    probe = IpmiProbe("ipmi:x", "x", StubClient(block=release), timeout=0.3)
    try:
        started = time.monotonic()
        first = probe.collect()
        second = probe.collect()
        elapsed = time.monotonic() - started
    finally:
        release.set()

    assert elapsed < 1
    assert first.source_errors["bmc"] == "unreachable: no answer within 0.3 s"
    assert second.source_errors["bmc"] == (
        "unreachable: still waiting for the BMC to answer the previous query"
    )
    assert flat(second) == {"ipmi_bmc_up": 0.0}


def test_missing_pyghmi_style_probe_error_propagates() -> None:
    probe = IpmiProbe("ipmi:x", "x", StubClient(connect_error=ProbeError("no pyghmi")), timeout=1)

    with pytest.raises(ProbeError, match="no pyghmi"):
        probe.collect()


def _sel(record_id: int, timecode: int = 100) -> SelEntry:
    return SelEntry(
        record_id, timecode, None, "CPU Temp", "temperature", "Upper critical", 2, False
    )


@pytest.mark.parametrize(
    ("marker", "first", "expected"),
    [
        (NEVER_READ, 0, []),
        (NEVER_READ, 2, [2, 3]),
        ((2, 100), 0, [3]),
        ((3, 100), 0, []),
        ((9, 100), 0, [1, 2, 3]),  # marked record gone: the log was cleared, all is new
        ((2, 55), 0, [1, 2, 3]),  # same id, other timecode: cleared and refilled
        (None, 0, [1, 2, 3]),  # read before, log was empty
    ],
    ids=[
        "first-read",
        "first-read-newest-2",
        "after-2",
        "nothing-new",
        "cleared",
        "refilled",
        "was-empty",
    ],
)
def test_entries_since(marker: Any, first: int, expected: list[int]) -> None:
    entries = [_sel(1), _sel(2), _sel(3)]

    assert [e.record_id for e in entries_since(entries, marker, first)] == expected


def test_sel_event_uses_now_when_the_record_has_no_time() -> None:
    client = StubClient(sel=[_sel(1)])
    probe = IpmiProbe("ipmi:x", "x", client, timeout=1, clock=lambda: 42.0)
    probe.collect()
    client.sel.append(_sel(2))

    (event,) = probe.collect().events

    assert event.time == 42.0
    assert event.labels["record_id"] == "2"


# --- in-band through ipmitool ---------------------------------------------------------------

SENSOR_ARGV = ("ipmitool", "sensor")
PSU_ARGV = ("ipmitool", "sdr", "type", "Power Supply", "-c")


def test_inband_falls_back_to_ipmitool_when_pyghmi_cannot_open_the_device() -> None:
    runner = FixtureRunner(
        {
            SENSOR_ARGV: OWN_FIXTURES
            / "ipmitool"
            / "ipmi-sim-sensor-cpu-hot-fan-slow-psu-failed.txt",
            PSU_ARGV: CannedOutput("PSU1 Status,03h,ok,10.1,Presence detected, Failure detected\n"),
        }
    )
    no_device = StubClient(connect_error=BmcUnreachableError("[Errno 2] /dev/ipmi0"))
    client = FallbackClient(no_device, IpmitoolClient(runner, "ipmitool", 5))
    probe = IpmiProbe("ipmi:local", None, client, timeout=5, read_sel=False)

    seen = flat(probe.collect())

    assert seen["ipmi_bmc_up"] == 1.0
    assert seen["ipmi_sensor_critical{CPU Temp}"] == 1.0
    assert seen["ipmi_sensor_threshold{CPU Temp}"] == 95.0  # last of the three limits
    assert seen["ipmi_psu_failed{PSU1 Status}"] == 1.0
    assert seen["ipmi_sensor_state{PSU1 Status}"] == "Presence detected, Failure detected"


@pytest.mark.parametrize(
    "failure",
    [
        CannedOutput("", returncode=1, stderr="Unable to find SDR type Power Supply\n"),
        None,  # the command times out or cannot be run at all
    ],
    ids=["exit-1", "no-answer"],
)
def test_failing_power_supply_query_keeps_every_other_reading(
    shared_fixtures: Path, failure: CannedOutput | None
) -> None:
    capture = shared_fixtures / "ipmitool" / "ipmitool-sensor-supermicro-single-cpu-ok.txt"
    answers: dict[tuple[str, ...], CannedOutput | Path] = {SENSOR_ARGV: capture}
    if failure is not None:
        answers[PSU_ARGV] = failure
    client = IpmitoolClient(FixtureRunner(answers), "ipmitool", 5)
    probe = IpmiProbe("ipmi:local", None, client, timeout=5, read_sel=False)

    data = probe.collect()
    seen = flat(data)

    assert seen["ipmi_bmc_up"] == 1.0, "the BMC answered: it is not unreachable"
    assert seen["ipmi_sensors"] == len(parse_ipmitool_sensor(capture.read_text()))
    assert "ipmi_temperature_celsius{CPU Temp}" in seen
    assert list(data.source_errors) == ["power supplies"]
    assert "other sensors were read" in data.source_errors["power supplies"]


def test_sensor_list_exiting_non_zero_keeps_the_sensors_it_printed(shared_fixtures: Path) -> None:
    capture = shared_fixtures / "ipmitool" / "ipmitool-sensor-supermicro-single-cpu-ok.txt"
    psus = shared_fixtures / "ipmitool" / "ipmitool-sdr-type-power-supply-csv-redundant.txt"
    listed = CannedOutput(capture.read_text(), 1, "Unable to read sensor VBAT: Timeout\n")
    client = IpmitoolClient(FixtureRunner({SENSOR_ARGV: listed, PSU_ARGV: psus}), "ipmitool", 5)
    data = IpmiProbe("ipmi:local", None, client, timeout=5, read_sel=False).collect()
    seen = flat(data)

    assert seen["ipmi_bmc_up"] == 1.0
    assert "ipmi_temperature_celsius{CPU Temp}" in seen
    assert "ipmi_psu_failed{Status (85h)}" in seen, "the power-supply query still ran"
    assert list(data.source_errors) == ["sensor list"]
    assert "Unable to read sensor VBAT" in data.source_errors["sensor list"]


def test_inband_ipmitool_without_device_is_bmc_down() -> None:
    runner = FixtureRunner(
        {
            SENSOR_ARGV: CannedOutput(
                "",
                returncode=1,
                stderr="Could not open device at /dev/ipmi0 or /dev/ipmi/0 or /dev/ipmidev/0: "
                "No such file or directory\n",
            )
        }
    )
    settings = convert({"inband": {"enabled": True, "method": "ipmitool"}}, IpmiSettings)
    (probe,) = build_ipmi_probes(settings, ProbeContext(runner))

    data = probe.collect()

    assert probe.name == "ipmi:local"
    assert probe.target is None
    assert flat(data) == {"ipmi_bmc_up": 0.0}
    assert "Could not open device at /dev/ipmi0" in data.source_errors["bmc"]


# --- settings -------------------------------------------------------------------------------


def test_settings_defaults_and_secret_never_in_repr() -> None:
    settings = convert(
        {
            "bmcs": [
                {"name": "db1", "address": "10.0.0.5", "username": "mon", "password": "hunter2"}
            ]
        },
        IpmiSettings,
    )
    (bmc,) = settings.bmcs

    assert settings.inband.enabled is False
    assert (bmc.port, bmc.timeout, bmc.read_sel, bmc.sel_initial_entries) == (623, "10s", True, 0)
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(bmc)
    assert "password=Secret('********')" in repr(bmc)
    assert build_ipmi_probes(IpmiSettings(), ProbeContext(NO_RUNNER)) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"bmcs": [{"name": "a", "address": "x", "password": "p", "password_file": "/f"}]},
            "set only one of `password` and `password_file`",
        ),
        ({"bmcs": [{"name": "a", "address": "x", "timeout": "soon"}]}, "expected a duration"),
        ({"bmcs": [{"name": "a", "address": "x", "port": 70000}]}, "port must be 1..65535"),
        (
            {"bmcs": [{"name": "a", "address": "x"}, {"name": "a", "address": "y"}]},
            "each name must be unique, a repeats",
        ),
        ({"bmcs": [{"name": "a", "address": "x", "pasword": "p"}]}, "unknown field `pasword`"),
        ({"inband": {"method": "dev"}}, "Invalid enum value .dev."),
    ],
    ids=["password-and-file", "bad-timeout", "bad-port", "duplicate-name", "typo", "bad-method"],
)
def test_settings_errors_name_the_problem(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message) as caught:
        convert(raw, IpmiSettings)

    assert "'p'" not in str(caught.value)


def test_build_names_probes_after_hosts() -> None:
    settings = IpmiSettings(
        bmcs=[BmcSettings(name="web1", address="10.0.0.1"), BmcSettings(name="db1", address="b")],
        interval="1m",
    )

    probes = build_ipmi_probes(settings, ProbeContext(NO_RUNNER))

    assert [(p.name, p.target, p.min_interval_seconds) for p in probes] == [
        ("ipmi:web1", "web1", 60.0),
        ("ipmi:db1", "db1", 60.0),
    ]


# --- identity of same-named sensors read through pyghmi -------------------------------------


def _sdr(*entries: tuple[str, int, bool]) -> SimpleNamespace:
    """pyghmi's SDR cache as the client sees it: key -> entry with name, number, readable."""
    sensors = {
        f"32.{number}.0": SimpleNamespace(sensor_name=name, sensor_number=number, readable=ok)
        for name, number, ok in entries
    }
    return SimpleNamespace(sensors=sensors)


def _psu(name: str = "Status") -> SensorReading:
    return SensorReading(name, "power_supply", None, "", states=("Presence detected",))


def test_same_named_pyghmi_sensors_take_their_sdr_numbers_as_ipmitool_does() -> None:
    sdr = _sdr(("CPU Temp", 0x01, True), ("Status", 0x85, True), ("Status", 0x86, True))
    readings = [SensorReading("CPU Temp", "temperature", 40.0, "celsius"), _psu(), _psu()]
    names = [r.name for r in unique_names(with_sensor_numbers(readings, sdr))]
    assert names == ["CPU Temp", "Status (85h)", "Status (86h)"]


def test_sdr_that_does_not_match_the_readings_assigns_nothing() -> None:
    # Three "Status" entries in the SDR, two readings (one sensor said it is absent).
    sdr = _sdr(("Status", 0x85, True), ("Status", 0x86, True), ("Status", 0x87, True))
    readings = [_psu(), _psu()]
    assert with_sensor_numbers(readings, sdr) == readings
    assert with_sensor_numbers(readings, None) == readings

"""SNMP polling: profiles as data, and polls against a real net-snmp snmpd on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent.configfile import ConfigError
from agent.daemon import close_probes
from agent.probe import ProbeData
from agent.probes.snmp.polling import SnmpProbe, build_snmp_probes
from agent.probes.snmp.profiles import (
    MetricSpec,
    TableSpec,
    Value,
    builtin_profile_names,
    load_profile,
    load_profile_file,
    metric_value,
    table_samples,
)
from agent.probes.snmp.session import convert_value, decode_text
from agent.probes.snmp.settings import SnmpDevice, SnmpSettings
from agent.report import Sample
from agent.runner import ProbeRunner
from agent.secret import convert
from tests.peers import free_udp_port
from tests.peers.snmpd import (
    EXTEND_UPS_STATUS,
    IF_ALIAS,
    UPS_BATTERY_LOW,
    UPS_BATTERY_NORMAL,
    UPS_OUTPUT_BATTERY,
    V3_AUTH_PASSWORD,
    V3_PRIV_PASSWORD,
    V3_USER,
    SnmpdPeer,
    running_snmpd,
)

ALL_PROFILES = [
    "system",
    "if_mib",
    "host_resources_storage",
    "ucd_load",
    "ucd_disk",
    "ups_mib",
]


def make_device(port: int, **fields: Any) -> SnmpDevice:
    """A device on 127.0.0.1 with short timeouts, from config-shaped data."""
    data = {"name": "ups-1", "address": "127.0.0.1", "port": port, "community": "public"}
    data |= {"timeout": "0.5s", "retries": 1, "profiles": ALL_PROFILES} | fields
    return convert(data, SnmpDevice)


def values(data: ProbeData, metric: str) -> list[Sample]:
    """Every sample of one metric."""
    return [s for s in data.samples if s.metric == metric]


def value(data: ProbeData, metric: str, **labels: str) -> float | str:
    """The one sample of `metric` whose labels include `labels`."""
    found = [s for s in values(data, metric) if labels.items() <= s.labels.items()]
    assert len(found) == 1, f"{metric}{labels}: {found}"
    return found[0].value


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[SnmpdPeer]:
    with running_snmpd(tmp_path) as peer:
        yield peer


# --- profiles as data ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_PROFILES, ids=ALL_PROFILES)
def test_builtin_profile_loads_with_numeric_oids(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name
    assert profile.scalars or profile.tables
    assert name in builtin_profile_names()


def test_profile_file_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\ndescription: x\nscalars:\n  - metric: ok_metric\n    oid: 1.3.6.1.2.1.1.3.0\n"
        "  - metric: BadName\n    oid: sysUpTime.0\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"bad\.yaml:6: scalars\[1\]: metric 'BadName'"):
        load_profile_file(path)


def test_unknown_profile_is_rejected_with_the_known_ones() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"unknown profile 'cisco'; known: .*if_mib"):
        make_device(161, profiles=["system", "cisco"])


COLUMN, OTHER = "1.3.6.1.9.1", "1.3.6.1.9.2"


@pytest.mark.parametrize(
    ("spec", "row", "expected"),
    [
        (MetricSpec(metric="m", oid=COLUMN, enum={3: "low"}), {COLUMN: 3}, "low"),
        (MetricSpec(metric="m", oid=COLUMN, enum={3: "low"}), {COLUMN: 9}, "9"),
        (MetricSpec(metric="m", oid=COLUMN, true_when=[3, 4]), {COLUMN: 4}, 1.0),
        (MetricSpec(metric="m", oid=COLUMN, true_when=[3, 4]), {COLUMN: 2}, 0.0),
        (MetricSpec(metric="m", oid=COLUMN, scale=0.01), {COLUMN: 7}, 0.07),
        (MetricSpec(metric="m", oid=COLUMN), {COLUMN: "0.16"}, 0.16),
        (MetricSpec(metric="m", oid=COLUMN), {COLUMN: "n/a"}, None),
        (MetricSpec(metric="m", oid=COLUMN, string=True), {COLUMN: "OB LB"}, "OB LB"),
        (MetricSpec(metric="m", oid=COLUMN, multiply_by=OTHER), {COLUMN: 3, OTHER: 4096}, 12288),
        (MetricSpec(metric="m", oid=COLUMN, divide_by=OTHER), {COLUMN: 1, OTHER: 4}, 0.25),
        (MetricSpec(metric="m", oid=COLUMN, divide_by=OTHER), {COLUMN: 0, OTHER: 0}, None),
        (
            MetricSpec(metric="m", oid=COLUMN, divide_by=[COLUMN, OTHER]),
            {COLUMN: 1, OTHER: 3},
            0.25,
        ),
        (MetricSpec(metric="m", oid=COLUMN, divide_by=[COLUMN, OTHER]), {COLUMN: 1}, None),
        (MetricSpec(metric="m", oid=[OTHER, COLUMN]), {COLUMN: 5}, 5.0),
        (MetricSpec(metric="m", oid=COLUMN), {}, None),
    ],
    ids=[
        "enum",
        "enum-unknown-value-kept",
        "flag-true",
        "flag-false",
        "scale",
        "numeric-text",
        "non-numeric-text-absent",
        "string",
        "multiply",
        "ratio",
        "ratio-of-empty-swap-absent",
        "ratio-of-sum",
        "ratio-of-sum-with-part-missing",
        "fallback-oid",
        "missing",
    ],
)
def test_metric_value_maps_raw_snmp_values(
    spec: MetricSpec, row: dict[str, Any], expected: float | str | None
) -> None:
    assert metric_value(spec, row) == expected


def test_interfaces_prefer_64_bit_counters_and_carry_alias() -> None:
    table = next(t for t in load_profile("if_mib").tables if t.name == "interfaces")
    columns: dict[str, dict[str, Value]] = {
        "1.3.6.1.2.1.2.2.1.2": {"1": "eth0", "2": "eth1"},  # ifDescr
        "1.3.6.1.2.1.31.1.1.1.18": {"1": "uplink to core", "2": ""},  # ifAlias
        "1.3.6.1.2.1.2.2.1.8": {"1": 2, "2": 1},  # ifOperStatus: eth0 down
        "1.3.6.1.2.1.2.2.1.10": {"1": 5, "2": 7},  # ifInOctets (32-bit)
        "1.3.6.1.2.1.31.1.1.1.6": {"1": 2**40},  # ifHCInOctets, only for eth0
    }
    samples = table_samples(table, columns)
    by = {(s.metric, s.labels["interface"]): s for s in samples}
    down = by[("interface_oper_up", "eth0")]
    assert down.value == 0.0
    assert down.labels == {"interface": "eth0", "alias": "uplink to core", "if_index": "1"}
    assert by[("interface_oper_state", "eth0")].value == "down"
    assert by[("interface_receive_bytes_total", "eth0")].value == 2**40
    assert by[("interface_receive_bytes_total", "eth1")].value == 7
    assert ("interface_admin_up", "eth0") not in by  # not answered: no sample, no guess


def test_table_without_label_values_still_yields_one_series_per_row() -> None:
    table = TableSpec(name="t", index_label="line", metrics=[MetricSpec(metric="v", oid=COLUMN)])
    samples = table_samples(table, {COLUMN: {"2": 230, "1": 229}})
    assert [(s.labels, s.value) for s in samples] == [({"line": "1"}, 229), ({"line": "2"}, 230)]


def test_convert_value_handles_snmp_types() -> None:
    from pysnmp.proto import rfc1902, rfc1905

    assert convert_value(rfc1905.NoSuchObject("")) is None
    assert convert_value(rfc1905.NoSuchInstance("")) is None
    assert convert_value(rfc1902.Counter64(2**63)) == 2**63
    assert convert_value(rfc1902.TimeTicks(4711)) == 4711
    assert convert_value(rfc1902.IpAddress("10.0.0.2")) == "10.0.0.2"
    assert convert_value(rfc1902.ObjectName("1.3.6.1.2.1.25.2.1.4")) == "1.3.6.1.2.1.25.2.1.4"
    assert convert_value(rfc1902.OctetString(b"\x00\x1b\x21\x3a\x4b\x5c")) == "00:1b:21:3a:4b:5c"
    assert decode_text(b"Load-1\x00") == "Load-1"


# --- settings -------------------------------------------------------------------------------


def test_settings_never_show_secrets() -> None:
    settings = convert(
        {
            "devices": [
                {"name": "sw", "address": "10.0.0.2", "community": "s3cret-community"},
                {
                    "name": "ups",
                    "address": "10.0.0.3",
                    "version": "3",
                    "v3": {
                        "user": "mon",
                        "auth_password": "auth-s3cret",
                        "priv_password": "priv-s3cret",
                    },
                },
            ],
            "traps": {"listen": "127.0.0.1:10162", "communities": ["trap-s3cret"]},
        },
        SnmpSettings,
    )
    text = repr(settings) + str(settings.devices) + repr(settings.traps)
    assert "s3cret" not in text
    assert "user='mon'" in text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"version": "2c", "community": ""}, "version 2c needs a community"),
        ({"version": "3"}, "version 3 needs a v3 user"),
        (
            {"version": "3", "v3": {"user": "u", "auth_password": "short"}},
            "auth_password needs at least 8 characters",
        ),
        ({"timeout": "soon"}, "expected a duration"),
        ({"extra_oids": {"x": {"oid": "sysName.0"}}}, "expected a numeric OID"),
    ],
    ids=["v2c-no-community", "v3-no-user", "v3-short-password", "bad-timeout", "named-oid"],
)
def test_bad_device_settings_say_what_to_fix(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message) as caught:
        make_device(161, **fields)
    assert "short" not in str(caught.value)  # a bad password is never echoed


def test_two_devices_of_one_name_are_rejected_naming_it() -> None:
    device = {"name": "ups-1", "address": "10.0.0.3", "community": "c"}
    message = "device names must be unique; repeated: ups-1"
    with pytest.raises(msgspec.ValidationError, match=message):
        convert({"devices": [device, {**device, "address": "10.0.0.4"}]}, SnmpSettings)


def test_build_makes_one_probe_per_device_and_the_trap_probe() -> None:
    settings = convert(
        {
            "devices": [
                {"name": "core-switch", "address": "10.0.0.2", "community": "c"},
                {"name": "ups-1", "address": "10.0.0.3", "community": "c"},
            ],
            "traps": {"listen": "127.0.0.1:10162", "communities": ["c"]},
        },
        SnmpSettings,
    )
    probes = build_snmp_probes(settings)
    assert [(p.name, p.target) for p in probes] == [
        ("snmp:core-switch", "core-switch"),
        ("snmp:ups-1", "ups-1"),
        ("snmp_traps", None),
    ]
    no_traps = convert({"devices": []}, SnmpSettings)
    assert build_snmp_probes(no_traps) == []


# --- against the real snmpd -----------------------------------------------------------------


@pytest.mark.peer
def test_v2c_poll_reads_every_profile(snmpd: SnmpdPeer) -> None:
    data = SnmpProbe(make_device(snmpd.port)).collect()

    assert data.source_errors == {}
    assert value(data, "snmp_up") == 1.0
    assert value(data, "snmp_system_name") == "test-host"
    assert value(data, "snmp_system_description") == "test-snmpd on loopback"
    assert 0 < float(value(data, "snmp_uptime_seconds")) < 60
    # same host, same kernel: the agent's load is ours
    assert abs(float(value(data, "load1")) - os.getloadavg()[0]) < 2.0
    assert set(s.metric for s in data.samples) >= {"load5", "load15"}
    # dskTable row from the `disk / 10%` line: the root filesystem of this machine
    root = os.statvfs("/")
    assert value(data, "filesystem_size_bytes", mountpoint="/") == root.f_blocks * root.f_frsize
    used = root.f_blocks - root.f_bfree  # df's Use%, as the host probe computes it
    df_ratio = used / (used + root.f_bavail)
    assert float(value(data, "filesystem_used_ratio", mountpoint="/")) == pytest.approx(
        df_ratio, abs=0.01
    )
    # hrStorageTable: "/" as a fixed disk, physical memory as ram
    hr_size = float(value(data, "storage_size_bytes", storage="/", type="fixed_disk"))
    assert abs(hr_size - root.f_blocks * root.f_frsize) / hr_size < 0.01
    assert float(value(data, "storage_size_bytes", storage="Physical memory", type="ram")) > 0
    # IF-MIB: loopback is up and has carried our own SNMP packets
    assert value(data, "interface_oper_up", interface="lo") == 1.0
    assert value(data, "interface_admin_up", interface="lo") == 1.0
    assert float(value(data, "interface_receive_bytes_total", interface="lo")) > 0
    # UPS-MIB from the override lines: on mains, full, 45 minutes left
    assert value(data, "ups_battery_status") == "normal"
    assert value(data, "ups_on_battery") == 0.0
    assert value(data, "ups_battery_low") == 0.0
    assert value(data, "ups_battery_charge_ratio") == 1.0
    assert value(data, "ups_battery_runtime_seconds") == 45 * 60


@pytest.mark.peer
def test_ups_going_on_battery_and_low_is_seen_on_the_next_poll(snmpd: SnmpdPeer) -> None:
    probe = SnmpProbe(make_device(snmpd.port, profiles=["ups_mib"]))
    snmpd.set_ups(charge_percent=7)
    assert value(probe.collect(), "ups_battery_charge_ratio") == pytest.approx(0.07)

    snmpd.set_ups(output_source=UPS_OUTPUT_BATTERY, seconds_on_battery=120, minutes_remaining=3)
    data = probe.collect()
    assert value(data, "ups_on_battery") == 1.0
    assert value(data, "ups_output_source") == "battery"
    assert value(data, "ups_seconds_on_battery") == 120
    assert value(data, "ups_battery_runtime_seconds") == 180
    assert value(data, "ups_battery_low") == 0.0

    snmpd.set_ups(battery_status=UPS_BATTERY_LOW)
    data = probe.collect()
    assert value(data, "ups_battery_low") == 1.0
    assert value(data, "ups_battery_status") == "low"

    snmpd.set_ups(battery_status=UPS_BATTERY_NORMAL, output_source=3)
    data = probe.collect()
    assert (value(data, "ups_battery_low"), value(data, "ups_on_battery")) == (0.0, 0.0)


@pytest.mark.peer
def test_extra_oids_read_a_file_backed_value_and_walk_a_subtree(snmpd: SnmpdPeer) -> None:
    extra = {
        "ups_status": {"oid": EXTEND_UPS_STATUS},
        "load_names": {"oid": "1.3.6.1.4.1.2021.10.1.2", "walk": True},
    }
    probe = SnmpProbe(make_device(snmpd.port, profiles=[], extra_oids=extra))
    data = probe.collect()
    assert value(data, "ups_status") == "OL"
    assert [(s.labels["index"], s.value) for s in values(data, "load_names")] == [
        ("1", "Load-1"),
        ("2", "Load-5"),
        ("3", "Load-15"),
    ]
    snmpd.write_extend("OB LB")
    deadline = time.monotonic() + 8  # extend output is cached 1 s (5 s if the cache is default)
    while value(probe.collect(), "ups_status") != "OB LB":
        assert time.monotonic() < deadline, "extend file change never seen"
        time.sleep(0.3)


@pytest.mark.peer
def test_interface_alias_lets_rules_pick_uplinks(snmpd: SnmpdPeer) -> None:
    snmpd.set_text(f"{IF_ALIAS}.1", "uplink to core")
    data = SnmpProbe(make_device(snmpd.port, profiles=["if_mib"])).collect()
    uplinks = [
        s for s in values(data, "interface_oper_up") if "uplink" in s.labels.get("alias", "")
    ]
    assert [(s.labels["interface"], s.labels["if_index"], s.value) for s in uplinks] == [
        ("lo", "1", 1.0)
    ]


@pytest.mark.peer
def test_v3_auth_priv_poll(snmpd: SnmpdPeer) -> None:
    v3 = {"user": V3_USER, "auth_password": V3_AUTH_PASSWORD, "priv_password": V3_PRIV_PASSWORD}
    device = make_device(snmpd.port, version="3", community="", v3=v3, profiles=["system"])
    data = SnmpProbe(device).collect()
    assert data.source_errors == {}
    assert value(data, "snmp_up") == 1.0
    assert value(data, "snmp_system_name") == "test-host"


@pytest.mark.peer
def test_wrong_v3_password_is_device_down_with_a_clear_error(snmpd: SnmpdPeer) -> None:
    v3 = {"user": V3_USER, "auth_password": "not-the-password", "priv_password": V3_PRIV_PASSWORD}
    device = make_device(snmpd.port, version="3", community="", v3=v3)
    started = time.monotonic()
    data = SnmpProbe(device).collect()
    assert time.monotonic() - started < 3
    assert value(data, "snmp_up", device="ups-1") == 0.0
    error = data.source_errors["ups-1"]
    assert "Wrong SNMP PDU digest" in error
    assert "wrong v3 auth password" in error
    assert "not-the-password" not in error
    assert V3_PRIV_PASSWORD not in error
    assert [s.metric for s in data.samples] == ["snmp_up"]


@pytest.mark.peer
def test_missing_objects_are_reported_per_profile_and_per_oid(
    snmpd: SnmpdPeer, tmp_path: Path
) -> None:
    path = tmp_path / "pdu.yaml"
    path.write_text(
        "name: pdu\ndescription: a PDU MIB this agent lacks\nscalars:\n"
        "  - metric: pdu_load_amperes\n    oid: 1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1\n",
        encoding="utf-8",
    )
    extra = {"missing_value": {"oid": "1.3.6.1.4.1.99999.1.0"}}
    device = make_device(snmpd.port, profiles=[], extra_oids=extra)
    data = SnmpProbe(device, profiles=[load_profile("system"), load_profile_file(path)]).collect()
    assert value(data, "snmp_up") == 1.0  # the device answers; it lacks these objects
    assert value(data, "snmp_system_name") == "test-host"
    assert "NoSuchObject" in data.source_errors["ups-1/pdu"]
    assert "profile 'pdu'" in data.source_errors["ups-1/pdu"]
    assert data.source_errors["ups-1/missing_value"] == "no such object: 1.3.6.1.4.1.99999.1.0"


@pytest.mark.peer
def test_collect_works_when_called_under_a_running_event_loop(snmpd: SnmpdPeer) -> None:
    probe = SnmpProbe(make_device(snmpd.port, profiles=["system"]))

    async def agent_cycle() -> ProbeData:
        return probe.collect()

    data = asyncio.run(agent_cycle())
    assert value(data, "snmp_system_name") == "test-host"


def test_dead_port_is_device_down_within_the_bounded_timeout() -> None:
    device = make_device(free_udp_port(), timeout="0.3s", retries=1)
    started = time.monotonic()
    data = SnmpProbe(device).collect()
    elapsed = time.monotonic() - started
    assert elapsed < 0.3 * 2 + 1.0
    assert value(data, "snmp_up", device="ups-1") == 0.0
    assert "No SNMP response received before timeout" in data.source_errors["ups-1"]
    assert "public" not in data.source_errors["ups-1"]


def test_deadline_bounds_a_whole_poll() -> None:
    device = make_device(free_udp_port(), timeout="2s", retries=2, deadline="0.3s")
    started = time.monotonic()
    data = SnmpProbe(device).collect()
    assert time.monotonic() - started < 1.5
    assert value(data, "snmp_up") == 0.0
    assert "not finished within the 0.3s deadline" in data.source_errors["ups-1"]


def test_device_answering_garbage_is_down_not_a_crash() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(3)

        def answer_garbage() -> None:
            for _ in range(2):  # the request and its one retry
                try:
                    _, peer = server.recvfrom(2048)
                except OSError:
                    return
                server.sendto(b"\x30\x82\xff\xffnot snmp", peer)

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        device = make_device(server.getsockname()[1], timeout="0.3s", retries=1)
        data = SnmpProbe(device).collect()
        thread.join(5)
    assert value(data, "snmp_up") == 0.0
    assert "No SNMP response" in data.source_errors["ups-1"]  # undecodable answers are ignored


def test_unresolvable_address_is_a_source_error() -> None:
    device = make_device(161, address="no-such-host.invalid", timeout="0.3s")
    data = SnmpProbe(device).collect()
    assert value(data, "snmp_up") == 0.0
    assert "no-such-host.invalid" in data.source_errors["ups-1"]


def test_devices_share_one_engine_and_are_polled_at_once() -> None:
    devices = [
        {"name": f"dead-{n}", "address": "127.0.0.1", "port": free_udp_port()}
        | {"community": "public", "timeout": "0.5s", "retries": 1}
        for n in range(4)
    ]
    probes = build_snmp_probes(convert({"devices": devices}, SnmpSettings))
    snmp_probes = [p for p in probes if isinstance(p, SnmpProbe)]
    try:
        assert len({id(p.shared) for p in snmp_probes}) == 1
        started = time.monotonic()
        report = ProbeRunner(probes, "monitor-1", 10.0).run_cycle()
        elapsed = time.monotonic() - started
    finally:
        close_probes(probes)
    assert [r.samples[0].value for r in report.probes] == [0.0] * 4  # snmp_up 0 each
    assert elapsed < 2.5, f"4 dead devices of 1 s each took {elapsed:.1f} s: not concurrent"


@pytest.mark.peer
def test_cycles_reuse_the_one_engine_and_loop_thread(snmpd: SnmpdPeer) -> None:
    def loop_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "snmp-engine"}

    devices = [make_device(snmpd.port, name=name, profiles=["system"]) for name in ("a", "b")]
    probes = build_snmp_probes(SnmpSettings(devices=devices))
    runner = ProbeRunner(probes, "monitor-1", 10.0)
    before = loop_threads()
    try:
        runner.run_cycle()
        shared = next(p.shared for p in probes if isinstance(p, SnmpProbe))
        engine = shared.engine
        second = runner.run_cycle()
        assert shared.engine is engine
        assert len(loop_threads() - before) == 1
    finally:
        close_probes(probes)
    assert [r.status for r in second.probes] == ["ok", "ok"]
    assert not loop_threads() - before, "loop left running"


@pytest.mark.peer
def test_one_v3_user_name_with_two_pass_phrases_never_mixes_their_keys(snmpd: SnmpdPeer) -> None:
    right = {"user": V3_USER, "auth_password": V3_AUTH_PASSWORD, "priv_password": V3_PRIV_PASSWORD}
    wrong = right | {"auth_password": "not-the-auth-pass"}
    devices = [
        make_device(snmpd.port, name=name, version="3", community="", v3=v3, profiles=["system"])
        for name, v3 in (("right-1", right), ("wrong", wrong), ("right-2", right))
    ]
    probes = build_snmp_probes(SnmpSettings(devices=devices))
    runner = ProbeRunner(probes, "monitor-1", 10.0)
    try:
        cycles = [runner.run_cycle().probes for _ in range(4)]
    finally:
        close_probes(probes)
    for results in cycles:
        up = {r.target: r.samples[0].value for r in results}  # snmp_up comes first
        assert up == {"right-1": 1.0, "wrong": 0.0, "right-2": 1.0}
        assert "wrong v3 auth password" in results[1].source_errors["wrong"]


def test_v3_devices_with_the_same_credentials_are_polled_at_once() -> None:
    v3 = {"user": "monitor", "auth_password": "auth-pass-1", "priv_password": "priv-pass-1"}
    devices = [
        make_device(free_udp_port(), name=f"dead-{n}", version="3", community="", v3=v3)
        for n in range(3)
    ]
    devices = [msgspec.structs.replace(d, timeout="0.5s", retries=1) for d in devices]
    probes = build_snmp_probes(SnmpSettings(devices=devices))
    started = time.monotonic()
    try:
        ProbeRunner(probes, "monitor-1", 10.0).run_cycle()
    finally:
        close_probes(probes)
    assert time.monotonic() - started < 2.2, "three 1 s polls of one v3 user ran one by one"

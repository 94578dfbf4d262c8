"""Redfish probe against sushy-tools' emulators serving a DMTF mockup, plus its failure paths.

Conclusions are checked the way tests/rules/test_packs.py checks them: the probe's samples go
through every built-in rule pack and the incidents that open are compared, rule and priority.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent.configfile import load_yaml_file
from agent.probe import ProbeData
from agent.probes.kind import ProbeContext
from agent.probes.redfish.client import MockupSession
from agent.probes.redfish.probe import RedfishProbe, build_redfish_probes
from agent.probes.redfish.settings import RedfishSettings
from agent.report import ProbeResult, Sample
from agent.runner import collect_result
from agent.secret import convert
from agent.settings import settings_from_document
from rules.engine import RuleEngine, SignalKind
from rules.loader import load_rules
from tests.conftest import ROOT
from tests.peers import free_port
from tests.peers.redfish import (
    SYSTEM,
    edit_resource,
    mockup_copy,
    running_sushy_emulator,
    running_sushy_static,
    self_signed_certificate,
    set_status,
    silent_bmc,
)
from tests.rules.conftest import report

Fired = set[tuple[str, str]]
DRIVE_BAY2 = f"{SYSTEM}/Storage/RAID1/Drives/Bay2"


def probe_for(url: str, **options: Any) -> RedfishProbe:
    """The probe the agent builds from `probes.redfish.bmcs: [{name: web483, url: ...}]`."""
    bmc = {"name": "web483", "url": url, "timeout": "10s", "request_timeout": "5s", **options}
    settings = convert({"interval": "1s", "bmcs": [bmc]}, RedfishSettings)
    (probe,) = build_redfish_probes(settings, ProbeContext())
    assert isinstance(probe, RedfishProbe)
    return probe


def flat(samples: list[Sample]) -> dict[str, float | str]:
    """metric{the entity's name} -> value, so expectations read like PromQL."""
    keys = ("sensor", "drive", "dimm", "processor", "controller", "system", "chassis", "log")
    out: dict[str, float | str] = {}
    for sample in samples:
        name = next((sample.labels[k] for k in keys if k in sample.labels), None)
        out[sample.metric + (f"{{{name}}}" if name else "")] = sample.value
    return out


def fired(result: ProbeResult) -> Fired:
    """(rule, priority) of every incident the built-in packs open for this result, a day on."""
    engine = RuleEngine(load_rules())
    status = result.status
    signals = []
    for now in (0.0, 86400.0):
        one = report("h1", *result.samples, probe=result.probe, status=status, target="web483")
        signals += engine.evaluate(one, now)
    signals += engine.tick(86400.0)
    return {(s.rule.name, s.rule.rule.priority.value) for s in signals if s.kind is SignalKind.FIRE}


def read_ok(probe: RedfishProbe) -> ProbeResult:
    result = collect_result(probe)
    assert result.status == "ok", (result.error, result.source_errors)
    return result


@pytest.fixture
def healthy(tmp_path: Path) -> Path:
    """The mockup with the two parts DMTF ships as Warning (a PSU, a SATA drive) made OK."""
    root = mockup_copy(tmp_path)
    edit_resource(root, "Chassis/1U/Power", lambda r: set_status(r["PowerSupplies"][0], "OK"))
    edit_resource(root, f"{SYSTEM}/SimpleStorage/1", lambda r: set_status(r["Devices"][1], "OK"))
    return root


@pytest.fixture
def bmc(healthy: Path) -> Iterator[str]:
    with running_sushy_static(healthy) as url:
        yield url


# --- against sushy-static serving the mockup ------------------------------------------------


@pytest.mark.peer
@pytest.mark.timeout(60)
def test_healthy_system_reads_every_part_and_opens_nothing(bmc: str) -> None:
    probe = probe_for(bmc)
    result = read_ok(probe)
    seen = flat(result.samples)

    assert (probe.name, probe.target, result.target) == ("redfish:web483", "web483", "web483")
    assert seen["ipmi_bmc_up"] == 1.0
    assert seen["redfish_system_health{437XR1138R2}"] == 0.0
    assert seen["redfish_chassis_health{1U}"] == 0.0
    assert seen["ipmi_temperature_celsius{CPU1 Temp}"] == 41.0
    assert seen["ipmi_temperature_celsius{Chassis Intake Temp}"] == 25.0
    assert seen["ipmi_sensor_threshold{CPU1 Temp}"] in (42.0, 45.0, 48.0)
    assert seen["ipmi_fan_speed_rpm{BaseBoard System Fan}"] == 2100.0
    assert seen["ipmi_fan_stopped{BaseBoard System Fan}"] == 0.0
    assert seen["ipmi_voltage_volts{VRM1 Voltage}"] == 12.0
    assert seen["ipmi_psu_failed{Power Supply Bay}"] == 0.0
    assert seen["ipmi_power_watts{System Input Power}"] == 344.0
    assert seen["redfish_drive_health{Bay1}"] == seen["redfish_drive_health{Bay2}"] == 0.0
    assert seen["redfish_drive_failure_predicted{Bay2}"] == 0.0
    assert seen["redfish_storage_controller_health{12Gbs Integrated RAID}"] == 0.0
    assert (
        seen["redfish_memory_health{DIMM1}"] == 0.0 and "redfish_memory_health{DIMM4}" not in seen
    )
    assert seen["redfish_processor_health{CPU1}"] == 0.0
    assert "redfish_processor_state{CPU2}" not in seen  # an empty socket is not a processor
    assert seen["ipmi_sensor_state{CPU2 Temp}"] == "no reading"
    assert seen["ipmi_system_health"] == 0.0
    assert result.events == []  # the first read only remembers where each log ends
    assert seen["redfish_log_entries{Systems/437XR1138R2/LogServices/Log1}"] == 2.0
    assert fired(result) == set()


@pytest.mark.peer
@pytest.mark.timeout(60)
def test_failed_drive_pages_p2_naming_its_controller(healthy: Path) -> None:
    edit_resource(healthy, DRIVE_BAY2, lambda r: set_status(r, "Critical"))
    # What a real BMC does too: the system roll-up follows; the drive rule speaks for it.
    edit_resource(healthy, SYSTEM, lambda r: r["Status"].update(HealthRollup="Critical"))
    with running_sushy_static(healthy) as url:
        result = read_ok(probe_for(url))

    seen = flat(result.samples)
    assert seen["redfish_drive_health{Bay2}"] == 2.0
    assert seen["redfish_drive_state{Bay2}"] == "Enabled, Critical"
    assert seen["redfish_drive_health{Bay1}"] == 0.0
    assert fired(result) == {("RedfishDriveFailed", "P2")}
    engine = RuleEngine(load_rules())
    (signal,) = engine.evaluate(report("h1", *result.samples, probe=result.probe), 0.0)
    context = {"host": "web483", "labels": dict(signal.labels), "value": signal.value}
    assert signal.rule.summary.render(context) == "Drive Bay2 on RAID1 of web483 failed"


@pytest.mark.peer
@pytest.mark.timeout(60)
def test_failed_power_supply_is_judged_by_the_ipmi_pack(healthy: Path) -> None:
    edit_resource(
        healthy, "Chassis/1U/Power", lambda r: set_status(r["PowerSupplies"][0], "Critical")
    )
    with running_sushy_static(healthy) as url:
        result = read_ok(probe_for(url))

    seen = flat(result.samples)
    assert seen["ipmi_psu_failed{Power Supply Bay}"] == 1.0
    assert seen["ipmi_sensor_critical{Power Supply Bay}"] == 1.0
    # The same conclusions as an IPMI BMC whose supply reports a failure.
    assert fired(result) == {("PowerSupplyFailed", "P2"), ("IpmiSensorCriticalP1", "P1")}


@pytest.mark.peer
@pytest.mark.timeout(60)
def test_mockup_as_dmtf_ships_it_warns_of_its_psu_and_drive(tmp_path: Path) -> None:
    with running_sushy_static(mockup_copy(tmp_path, storage=False)) as url:
        result = read_ok(probe_for(url))

    seen = flat(result.samples)
    assert seen["ipmi_sensor_warning{Power Supply Bay}"] == 1.0
    assert seen["redfish_drive_health{SATA Bay 2}"] == 1.0  # SimpleStorage when no Storage
    assert fired(result) == {("IpmiSensorWarning", "P3"), ("RedfishDriveWarning", "P3")}


@pytest.mark.peer
@pytest.mark.timeout(60)
def test_log_entries_since_the_last_read_become_events(healthy: Path, bmc: str) -> None:
    probe = probe_for(bmc)
    assert read_ok(probe).events == []
    log = f"{SYSTEM}/LogServices/Log1/Entries"
    entry = {
        "@odata.id": f"/redfish/v1/{log}/3",
        "Id": "3",
        "EntryType": "SEL",
        "Severity": "Critical",
        "Created": "2026-11-27T10:00:00Z",
        "SensorType": "Power Supply",
        "Message": "Power supply input lost",
        "MessageId": "0x6F0103",
    }
    edit_resource(healthy, log, lambda r: r["Members"].append(entry))

    (event,) = read_ok(probe).events
    assert event.kind == "redfish_log"
    assert event.message == "Power Supply: Power supply input lost"
    assert event.time == 1795773600.0
    assert event.labels["severity"] == "critical" and event.labels["record_id"] == "3"
    assert event.labels["log"] == "Systems/437XR1138R2/LogServices/Log1"
    assert read_ok(probe).events == []  # reported once


@pytest.mark.peer
@pytest.mark.timeout(60)
def test_a_part_the_bmc_cannot_serve_is_a_source_error_not_the_end(healthy: Path) -> None:
    gone = {"@odata.id": f"/redfish/v1/{SYSTEM}/Storage/Gone"}
    edit_resource(healthy, f"{SYSTEM}/Storage", lambda r: r["Members"].append(gone))
    with running_sushy_static(healthy) as url:
        result = collect_result(probe_for(url))

    assert result.status == "partial"
    assert result.source_errors == {
        "437XR1138R2 storage": f"GET /redfish/v1/{SYSTEM}/Storage/Gone: HTTP 404"
    }
    assert flat(result.samples)["ipmi_temperature_celsius{CPU1 Temp}"] == 41.0


# --- TLS, credentials, timeouts -------------------------------------------------------------


@pytest.mark.peer
@pytest.mark.timeout(60)
def test_tls_is_verified_against_ca_file(healthy: Path, tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with running_sushy_static(healthy, certificate=(cert, key)) as url:
        trusted = collect_result(probe_for(url, ca_file=str(cert)))
        default = collect_result(probe_for(url))

    assert url.startswith("https://")
    assert trusted.status == "ok", trusted.error
    assert default.status == "error"
    assert default.error == (
        f"Redfish BMC {url}: TLS certificate not trusted by the system's trusted CAs: set "
        "`ca_file` to the CA that signed the BMC's certificate (or, in a lab only, "
        "verify_tls: false)"
    )


@pytest.mark.peer
@pytest.mark.timeout(60)
def test_credentials_come_from_the_password_file_and_never_show(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-Redfish-pw"
    right, wrong = tmp_path / "right.pw", tmp_path / "wrong.pw"
    right.write_text(secret + "\n")
    wrong.write_text("not-" + secret + "\n")
    caplog.set_level(logging.DEBUG)
    with running_sushy_emulator(tmp_path, "monitor", secret) as url:
        good = collect_result(probe_for(url, username="monitor", password_file=str(right)))
        bad = collect_result(probe_for(url, username="monitor", password_file=str(wrong)))
        missing = probe_for(url, username="monitor", password_file=str(tmp_path / "none"))
        absent = collect_result(missing)

    # The emulator's fake system has no Memory, Processors or Storage: those are source errors.
    assert good.status in ("ok", "partial"), good.error
    assert all("HTTP 40" not in e or "HTTP 404" in e for e in good.source_errors.values())
    seen = flat(good.samples)
    assert seen["ipmi_bmc_up"] == 1.0
    healths = {k.split("{")[0]: v for k, v in seen.items() if k.endswith("}") and "_health{" in k}
    assert healths["redfish_system_health"] == healths["redfish_chassis_health"] == 0.0
    assert bad.status == "error"
    assert bad.error == (
        f"Redfish BMC {url}: login refused (HTTP 401) for user 'monitor': check `username` "
        f"and the password in `password_file` {wrong}"
    )
    assert absent.error == (
        f"Redfish BMC {url}: cannot read password_file {tmp_path / 'none'}: "
        "No such file or directory"
    )
    shown = [good.error, bad.error, absent.error, repr(good), repr(bad), caplog.text]
    shown.append(repr(missing.__dict__))
    assert not any(secret in str(text) for text in shown)


@pytest.mark.timeout(30)
def test_bmc_that_never_answers_is_a_probe_error_naming_it_and_the_wait() -> None:
    with silent_bmc() as url:
        probe = probe_for(url, timeout="3s", request_timeout="1s")
        started = time.monotonic()
        result = collect_result(probe)
        took = time.monotonic() - started

    assert result.status == "error"
    assert result.error == (
        f"Redfish BMC {url}: no answer within 1 s to GET /redfish/v1/ (request_timeout)"
    )
    assert took < 2.5
    assert fired(result) == {("RedfishBmcUnreadable", "P3"), ("ProbeFailing", "P4")}


@pytest.mark.timeout(30)
def test_the_whole_read_is_cut_at_timeout_even_when_each_request_is_quick(
    tmp_path: Path,
) -> None:
    class Dribbling(MockupSession):
        def get(self, path: str) -> dict[str, Any]:
            time.sleep(0.3)
            return super().get(path)

    root = mockup_copy(tmp_path)
    probe = RedfishProbe("redfish:web483", "web483", Dribbling(root), url="x", timeout=1.0)
    result = collect_result(probe)

    assert result.status == "error"
    assert result.error == "Redfish BMC x: no answer within 1 s (timeout)"
    assert result.duration_seconds < 1.5
    second = collect_result(probe)  # the stuck read is not stacked up behind
    assert second.error == (
        "Redfish BMC x: still waiting for the BMC to answer the previous query (timeout)"
    )


# --- settings, config example, pure parsing -------------------------------------------------


@pytest.mark.parametrize(
    ("bmc", "message"),
    [
        ({"url": "10.0.0.5"}, "url must be https://HOST[:PORT]"),
        ({"url": "https://root:calvin@10.0.0.5"}, "put the user in `username`"),
        ({"username": "monitor"}, "`username` needs a `password_file`"),
        ({"verify_tls": False, "ca_file": "/ca.pem"}, "`ca_file` has no effect"),
        ({"timeout": "5s", "request_timeout": "10s"}, "request_timeout must not be longer"),
        ({"timeout": "soon"}, "timeout: expected a duration"),
    ],
    ids=[
        "no-scheme",
        "credentials-in-url",
        "user-without-password",
        "ca-without-verify",
        "request-longer-than-read",
        "bad-duration",
    ],
)
def test_bad_settings_say_what_to_fix(bmc: dict[str, Any], message: str) -> None:
    raw = {"bmcs": [{"name": "web483", "url": "https://10.0.0.5", **bmc}]}
    with pytest.raises(msgspec.ValidationError, match=message.replace("[", r"\[")):
        convert(raw, RedfishSettings)


def test_two_bmcs_of_one_name_are_rejected_naming_it() -> None:
    bmc = {"name": "web483", "url": "https://10.0.0.5"}
    with pytest.raises(msgspec.ValidationError, match="each name must be unique, web483 repeats"):
        convert({"bmcs": [bmc, {**bmc, "url": "https://10.0.0.6"}]}, RedfishSettings)


def test_example_config_documents_a_redfish_bmc() -> None:
    settings = settings_from_document(load_yaml_file(ROOT / "config" / "agent.example.yaml"))
    (bmc,) = settings.probes.redfish.bmcs
    assert bmc.verify_tls and bmc.password_file and bmc.ca_file
    (probe,) = build_redfish_probes(settings.probes.redfish, ProbeContext())
    assert (probe.name, probe.target) == (f"redfish:{bmc.name}", bmc.name)


def test_mockup_read_without_a_server_matches_the_served_one(tmp_path: Path) -> None:
    """The shipped MockupSession double reads a mockup directory as the HTTP session does."""
    probe = RedfishProbe("redfish:x", "x", MockupSession(mockup_copy(tmp_path)), url="m", timeout=5)
    data: ProbeData = probe.collect()
    assert data.source_errors == {}
    assert flat(data.samples)["redfish_drive_health{Bay2}"] == 0.0


def test_bmc_that_refuses_the_connection_is_a_probe_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = collect_result(probe_for(url))
    assert result.status == "error"
    assert result.error == f"Redfish BMC {url}: cannot connect: Connection refused"

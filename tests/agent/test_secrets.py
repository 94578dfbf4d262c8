"""Agent-side secrets: inline, `*_file` or `*_env`, and never in logs, /metrics or reports."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from agent.configfile import ConfigError, parse_yaml
from agent.probes.ipmi.probe import read_password
from agent.probes.ipmi.settings import IpmiSettings
from agent.probes.redfish.settings import RedfishSettings
from agent.probes.snmp.settings import SnmpDevice, SnmpV3User, TrapSettings
from agent.secret import Secret, SecretError, SecretSource, convert
from agent.settings import settings_from_document
from tests.agent.collector_stub import CollectorStub
from tests.agent.test_cli import WATCHKEEPER
from tests.peers import free_port, free_udp_port, wait_until
from tests.peers.snmpd import (
    COMMUNITY,
    V3_AUTH_PASSWORD,
    V3_PRIV_PASSWORD,
    V3_USER,
    SnmpdPeer,
    running_snmpd,
)

ENV = {
    "WK_IPMI_PASSWORD": "ipmi-env-S3cret",
    "WK_SNMP_COMMUNITY": "snmp-env-S3cret",
    "WK_SNMP_AUTH": V3_AUTH_PASSWORD,
    "WK_REDFISH_PASSWORD": "redfish-env-S3cret",
    "WK_TRAP_COMMUNITIES": "trap-env-S3cret,trap-env2-S3cret",
    "WK_TRAP_V3_AUTH": "trap-v3-env-S3cret",
}
FILES = {
    "ipmi.pass": "ipmi-file-S3cret",
    "community": COMMUNITY,
    "priv.pass": V3_PRIV_PASSWORD,
    "wrong-auth.pass": "wrong-auth-S3cret",
    "redfish.pass": "redfish-file-S3cret",
    "trap-communities": "trap-file-S3cret\ntrap-file2-S3cret",
}
INLINE = [
    "ipmi-inline-S3cret",
    "snmp-inline-S3cret",
    "redfish-inline-S3cret",
    "trap-inline-S3cret",
    "wrong-priv-S3cret",
]
SECRETS = [*INLINE, *ENV.values(), *FILES.values()]


@pytest.fixture
def snmpd(tmp_path: Path) -> Iterator[SnmpdPeer]:
    with running_snmpd(tmp_path) as peer:
        yield peer


@pytest.fixture
def stub() -> Iterator[CollectorStub]:
    server = CollectorStub()
    yield server
    server.stop()


def agent_config(directory: Path, snmpd_port: int) -> dict[str, Any]:
    """Every secret setting of the agent, each kind inline, from a file and from a variable."""
    for name, text in FILES.items():
        (directory / name).write_text(text + "\n")
    dead = "127.0.0.1"
    fast = {"timeout": "300ms", "retries": 0}
    v3 = {"user": V3_USER, "auth_protocol": "SHA", "priv_protocol": "AES"}
    return {
        "probes": {
            "host": {"enabled": False},
            "smart": {"enabled": False},
            "mdraid": {"enabled": False},
            "ipmi": {
                "interval": "1s",
                "bmcs": [
                    {"name": f"bmc-{kind}", "address": dead, "port": free_udp_port()}
                    | {"username": "admin", "timeout": "1s"}
                    | source
                    for kind, source in (
                        ("inline", {"password": "ipmi-inline-S3cret"}),
                        ("file", {"password_file": str(directory / "ipmi.pass")}),
                        ("env", {"password_env": "WK_IPMI_PASSWORD"}),
                    )
                ],
            },
            "snmp": {
                "devices": [
                    {"name": "sw-file", "address": dead, "port": snmpd_port, "profiles": ["system"]}
                    | {"community_file": str(directory / "community")},
                    {"name": "sw-v3", "address": dead, "port": snmpd_port, "profiles": ["system"]}
                    | {"version": "3"}
                    | {
                        "v3": v3
                        | {"auth_password_env": "WK_SNMP_AUTH"}
                        | {"priv_password_file": str(directory / "priv.pass")}
                    },
                    {"name": "sw-v3-wrong", "address": dead, "port": snmpd_port}
                    | fast
                    | {"version": "3", "profiles": ["system"]}
                    | {
                        "v3": v3
                        | {"auth_password_file": str(directory / "wrong-auth.pass")}
                        | {"priv_password": "wrong-priv-S3cret"}
                    },
                    {"name": "sw-inline", "address": dead, "port": free_udp_port()}
                    | fast
                    | {"community": "snmp-inline-S3cret"},
                    {"name": "sw-env", "address": dead, "port": free_udp_port()}
                    | fast
                    | {"community_env": "WK_SNMP_COMMUNITY"},
                ],
                "traps": {
                    "listen": f"127.0.0.1:{free_udp_port()}",
                    "communities": ["trap-inline-S3cret"],
                    "communities_file": str(directory / "trap-communities"),
                    "communities_env": "WK_TRAP_COMMUNITIES",
                    "v3_users": [
                        {"user": "trapper", "engine_id": "8000000001020304"}
                        | {"auth_password_env": "WK_TRAP_V3_AUTH", "priv_protocol": "none"}
                    ],
                },
            },
            "redfish": {
                "interval": "1s",
                "bmcs": [
                    {"name": f"rf-{kind}", "url": f"http://127.0.0.1:{free_port()}"}
                    | {"username": "monitor", "timeout": "1s", "request_timeout": "500ms"}
                    | source
                    for kind, source in (
                        ("inline", {"password": "redfish-inline-S3cret"}),
                        ("file", {"password_file": str(directory / "redfish.pass")}),
                        ("env", {"password_env": "WK_REDFISH_PASSWORD"}),
                    )
                ],
            },
        }
    }


def snmp_up(stub: CollectorStub, device: str) -> bool:
    for received in stub.received[-1:]:
        for probe in received.report().probes:
            if probe.target == device:
                return any(s.metric == "snmp_up" and s.value == 1.0 for s in probe.samples)
    return False


@pytest.mark.peer
def test_no_secret_reaches_logs_metrics_or_reports(
    tmp_path: Path, snmpd: SnmpdPeer, stub: CollectorStub
) -> None:
    config = tmp_path / "agent.yaml"
    config.write_text(yaml.safe_dump(agent_config(tmp_path, snmpd.port)))
    port = free_port()
    args = ["agent", "--config", str(config), "--collector", stub.url, "--interval", "1s"]
    args += ["--listen", f"127.0.0.1:{port}", "--log-level", "debug", "--token", "t0k"]
    env = os.environ | ENV
    process = subprocess.Popen([str(WATCHKEEPER), *args], stderr=subprocess.PIPE, env=env)
    try:
        # Read from a file and from a variable, the credentials work: both devices answer.
        wait_until(lambda: snmp_up(stub, "sw-file"), 30, "the community_file device up")
        wait_until(lambda: snmp_up(stub, "sw-v3"), 30, "the env/file v3 device up")
        wait_until(lambda: len(stub.received) >= 3, 30, "three reports")
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    logs = process.stderr.read().decode() if process.stderr else ""
    reports = b"".join(gzip.decompress(r.body) for r in stub.received).decode()
    assert "wrong v3 auth password" in reports, "the wrong v3 key was used and refused"
    for secret in SECRETS:
        assert secret not in logs, f"{secret} in the agent's log"
        assert secret not in metrics, f"{secret} in /metrics"
        assert secret not in reports, f"{secret} in a report"


def test_each_secret_kind_reads_inline_file_and_env(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("from-a-file\nsecond line ignored\n")
    inline = SecretSource("password", inline=Secret("given-inline"))
    from_file = SecretSource("password", file=str(tmp_path / "pass"))
    from_env = SecretSource("password", env="WK_PASSWORD")
    assert inline.read().reveal() == "given-inline"
    assert from_file.read().reveal() == "from-a-file"
    assert from_env.read({"WK_PASSWORD": "from-the-env"}).reveal() == "from-the-env"
    with pytest.raises(SecretError, match="password_env: environment variable WK_PASSWORD is not"):
        from_env.read({})
    with pytest.raises(SecretError, match=f"cannot read password_file {tmp_path}/none"):
        SecretSource("password", file=str(tmp_path / "none")).read()


def test_settings_hold_secrets_masked_and_name_their_source_in_errors(tmp_path: Path) -> None:
    ipmi = convert({"bmcs": [{"name": "a", "address": "b", "password_env": "WK_X"}]}, IpmiSettings)
    with pytest.raises(Exception, match="password_env: environment variable WK_X is not set"):
        read_password(ipmi.bmcs[0])
    device = convert(
        {"name": "d", "address": "a", "version": "3"}
        | {"v3": {"user": "u", "auth_password": "auth-S3cret", "priv_password": "priv-S3cret"}},
        SnmpDevice,
    )
    redfish = convert(
        {"bmcs": [{"name": "r", "url": "https://r", "username": "m", "password": "rf-S3cret"}]},
        RedfishSettings,
    )
    traps = convert({"listen": "127.0.0.1:1162", "communities": ["trap-S3cret"]}, TrapSettings)
    inline = convert({"bmcs": [{"name": "a", "address": "b", "password": "S3cret"}]}, IpmiSettings)
    for settings in (inline, device, redfish, traps):
        assert "S3cret" not in repr(settings) and "********" in repr(settings)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            {"snmp": {"devices": [{"name": "d", "address": "a", "community": "x"}
                                  | {"community_env": "C"}]}},
            "probes.snmp.devices[0]: device 'd': set only one of `community` and `community_env`",
        ),
        (
            {"ipmi": {"bmcs": [{"name": "b", "address": "a", "password": "s3cr3t-value"}
                               | {"password_file": "/f", "password_env": "P"}]}},
            "set only one of `password`, `password_file` and `password_env`",
        ),
        (
            {"snmp": {"devices": [{"name": "d", "address": "a", "version": "3"}
                                  | {"v3": {"user": "u", "auth_password": "short"}}]}},
            "v3 user 'u': auth_password needs at least 8 characters",
        ),
        (
            {"snmp": {"devices": [{"name": "d", "address": "a", "version": "3"}
                                  | {"v3": {"user": "u", "auth_password_env": "A"}}]}},
            "priv_password (or priv_password_file / priv_password_env) is required",
        ),
    ],
    ids=["two-sources", "three-sources", "short-inline", "no-priv"],
)  # fmt: skip
def test_secret_setting_errors_name_fields_not_values(
    section: dict[str, Any], expected: str
) -> None:
    text = yaml.safe_dump({"probes": section})
    with pytest.raises(ConfigError) as caught:
        settings_from_document(parse_yaml(text, "agent.yaml"))
    assert expected in str(caught.value)
    assert "s3cr3t-value" not in str(caught.value) and "short" not in str(caught.value)


def test_a_v3_pass_phrase_from_a_file_is_held_to_the_minimum_length(tmp_path: Path) -> None:
    (tmp_path / "auth").write_text("short\n")
    user = convert(
        {"user": "u", "auth_password_file": str(tmp_path / "auth"), "priv_protocol": "none"},
        SnmpV3User,
    )
    with pytest.raises(SecretError, match="auth_password needs at least 8 characters") as caught:
        user.auth_key()
    assert "short\n" not in str(caught.value) and "'short'" not in str(caught.value)

"""AgentSettings: the annotated example loads, errors name file and line, CLI wins, no leaks."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agent.configfile import ConfigError, parse_yaml
from agent.probes.host import HostSettings
from agent.probes.lmsensors import LmSensorsSettings
from agent.settings import (
    AgentSettings,
    Secret,
    apply_overrides,
    load_settings,
    read_token,
    settings_from_document,
)
from tests.conftest import ROOT

EXAMPLE = ROOT / "config" / "agent.example.yaml"


def parse(text: str) -> AgentSettings:
    return settings_from_document(parse_yaml(text, "agent.yaml"))


def test_example_config_loads_and_documents_the_defaults() -> None:
    settings = load_settings(EXAMPLE)
    assert settings.collector == "http://127.0.0.1:9810"
    assert settings.interval_seconds == 10.0 and settings.request_timeout_seconds == 5.0
    assert settings.listen_address() is None and settings.procfs == "/proc"
    assert settings.probes.host == HostSettings()  # the regexes shown are the real defaults
    assert settings.probes.lmsensors == LmSensorsSettings()
    assert settings.max_spool_bytes == AgentSettings().max_spool_bytes


def test_every_example_option_is_a_real_field() -> None:
    text = EXAMPLE.read_text()
    for name in AgentSettings.__struct_fields__:
        assert f"\n{name}:" in text or f"# {name}:" in text, f"{name} undocumented"


def test_defaults_without_a_file() -> None:
    settings = load_settings(None)
    assert settings.host == socket.gethostname()
    assert settings.collector is None and settings.token is None
    assert settings.probes.host.enabled and not settings.probes.lmsensors.enabled


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "interval: 10s\nintervall: 5s\n",
            "agent.yaml:2: intervall: unknown key `intervall`; did you mean `interval`?",
        ),
        ("max_spool_bytes: lots\n", "agent.yaml:1: max_spool_bytes: Expected `int`, got `str`"),
        (
            "collector: http://127.0.0.1:9810\ninterval: 10 parsecs\n",
            "agent.yaml:2: interval: expected a duration",
        ),
        ("interval: 0s\n", "agent.yaml:1: interval: must be longer than 0"),
        ("token: abc\ntoken_file: /etc/t\n", "agent.yaml:2: token_file: set only one of"),
        ("token: 12345\n", "agent.yaml:1: token: Expected `str`, got `int`"),
        ("listen: 9811\n", "agent.yaml:1: listen: Expected `str | null`, got `int`"),
        ("listen: localhost\n", "agent.yaml:1: listen: expected HOST:PORT"),
        ("collector: collector:9810\n", "agent.yaml:1: collector: expected an http:// or https://"),
        ("log_level: loud\n", "agent.yaml:1: log_level: Invalid enum value 'loud'"),
        (
            "probes:\n  host:\n    enabled: true\n    colour: blue\n",
            "agent.yaml:4: probes.host.colour: unknown key `colour` (known keys: disk_devices_",
        ),
        (
            "probes:\n  host:\n    disk_devices_exclude: '('\n",
            "agent.yaml:2: probes.host: disk_devices_exclude: invalid regular expression",
        ),
        (
            "probes:\n  lmsensors:\n    enabled: yes\n    timeout: forever\n",
            "agent.yaml:2: probes.lmsensors: timeout: expected a duration",
        ),
        (
            "probes:\n  smartctl: {}\n",
            "agent.yaml:2: probes.smartctl: unknown key `smartctl`; did you mean `smart`?",
        ),
        ("- just\n- a list\n", "agent.yaml:1: Expected `object`, got `array`"),
    ],
    ids=lambda v: v.split(":")[0].split("\n")[0][:30],
)
def test_errors_name_file_line_and_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert str(caught.value).startswith(expected), str(caught.value)


def test_every_problem_of_a_file_is_reported_at_once_in_file_order() -> None:
    text = (
        "collector: http://127.0.0.1:9810\n"
        "tokn: abc\n"
        "interval: 10x\n"
        "probes:\n"
        "  smrt: {}\n"
        "  host:\n"
        "    enabeld: false\n"
        "  ipmi:\n"
        "    bmcs:\n"
        "      - adress: 10.0.0.9\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse(text)
    assert str(caught.value).splitlines() == [
        "agent.yaml:2: tokn: unknown key `tokn`; did you mean `token`?",
        "agent.yaml:3: interval: expected a duration like 30s, 5m or 1h30m, got '10x'",
        "agent.yaml:5: probes.smrt: unknown key `smrt`; did you mean `smart`?",
        "agent.yaml:7: probes.host.enabeld: unknown key `enabeld`; did you mean `enabled`?",
        "agent.yaml:10: probes.ipmi.bmcs[0].adress: unknown key `adress`; did you mean `address`?",
        "agent.yaml:10: probes.ipmi.bmcs[0]: missing required key `name`",
    ]


def test_token_is_never_in_repr_or_errors() -> None:
    settings = parse("token: hunter2-token\ninterval: 30s\n")
    assert settings.token == Secret("hunter2-token")
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    assert read_token(settings) == "hunter2-token"
    with pytest.raises(ConfigError) as caught:
        parse("token: hunter2-token\ninterval: never\n")
    assert "hunter2" not in str(caught.value)


def test_command_line_overrides_the_file() -> None:
    settings = parse(
        "collector: https://a:9810\ninterval: 10s\ntoken_file: /etc/t\nprocfs: /proc\n"
    )
    updated = apply_overrides(
        settings, collector="https://b:9810", interval="30s", token="cli-token",
        procfs="/host/proc", host=None, listen="[::1]:9811",
    )  # fmt: skip
    assert updated.collector == "https://b:9810" and updated.interval_seconds == 30
    assert updated.procfs == "/host/proc" and updated.listen_address() == ("::1", 9811)
    assert updated.token_file is None and read_token(updated) == "cli-token"
    assert updated.host == settings.host


@pytest.mark.parametrize(
    ("collector", "insecure", "refused"),
    [
        ("http://collector.example:9810", False, True),
        ("http://10.0.0.5:9810", False, True),
        ("http://collector.example:9810", True, False),
        ("http://127.0.0.1:9810", False, False),
        ("http://localhost:9810", False, False),
        ("http://[::1]:9810", False, False),
        ("https://collector.example:9810", False, False),
    ],
    ids=["name", "address", "insecure", "loopback", "localhost", "ipv6-loopback", "https"],
)
def test_plain_http_off_this_machine_needs_insecure(
    collector: str, insecure: bool, refused: bool
) -> None:
    document = f"collector: {collector}\ninsecure: {str(insecure).lower()}\n"
    if refused:
        with pytest.raises(ConfigError, match="plain http:// to another machine"):
            parse(document)
    else:
        assert parse(document).collector == collector


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"interval": "fast"}, "command line: --interval: expected a duration"),
        ({"listen": "9811"}, "command line: --listen: expected HOST:PORT"),
        ({"collector": "ftp://x"}, "command line: --collector: expected an http://"),
    ],
    ids=["interval", "listen", "collector"],
)
def test_bad_overrides_name_the_flag(override: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match="^" + expected.replace("(", r"\(")):
        apply_overrides(AgentSettings(), **override)


@pytest.mark.parametrize(
    ("listen", "address"),
    [("127.0.0.1:9811", ("127.0.0.1", 9811)), (":9811", ("", 9811)), ("[::]:1", ("::", 1))],
    ids=["ipv4", "all", "ipv6"],
)
def test_listen_address(listen: str, address: tuple[str, int]) -> None:
    assert AgentSettings(listen=listen).listen_address() == address


def test_token_file_is_read_and_an_unreadable_one_is_named(tmp_path: Path) -> None:
    token_file = tmp_path / "agent.token"
    token_file.write_text("from-file\n")
    assert read_token(parse(f"token_file: {token_file}\n")) == "from-file"
    missing = tmp_path / "nope.token"
    with pytest.raises(ConfigError, match=f"^{missing}: cannot read the token file"):
        read_token(parse(f"token_file: {missing}\n"))


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"agent\.yaml: cannot read"):
        load_settings(tmp_path / "agent.yaml")

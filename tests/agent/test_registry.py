"""The probe registry: one entry per kind gives its `probes:` section and its probes."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from typing import Any

import msgspec
import pytest

from agent.configfile import ConfigError, parse_yaml
from agent.daemon import build_probes
from agent.exec import FixtureRunner
from agent.probe import Probe, ProbeData
from agent.probes.kind import ProbeContext, ProbeKind
from agent.probes.registry import KINDS, probes_settings_type
from agent.probes.registry import build_probes as build_from_kinds
from agent.settings import AgentSettings, ProbesSettings, settings_from_document
from tests.agent.fakeprocfs import FakeProcfs
from tests.conftest import ROOT


class ToySettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A probe kind that exists only in this test."""

    greetings: list[str] = []


class ToyProbe:
    target = None
    min_interval_seconds = 0.0

    def __init__(self, greeting: str, procfs: str) -> None:
        self.name = f"toy:{greeting}"
        self.procfs = procfs

    def collect(self) -> ProbeData:
        return ProbeData()


def build_toy_probes(settings: ToySettings, context: ProbeContext) -> list[Probe]:
    return [ToyProbe(greeting, context.procfs) for greeting in settings.greetings]


TOY = ProbeKind("toy", ToySettings, build_toy_probes)


def test_a_registered_kind_gets_its_section_and_builds_its_probes() -> None:
    sections_type = probes_settings_type((*KINDS, TOY))
    sections = msgspec.convert({"toy": {"greetings": ["hello", "hi"]}}, sections_type)
    probes = build_from_kinds((TOY,), sections, ProbeContext(FixtureRunner({}), "/host/proc"))
    assert all(isinstance(probe, ToyProbe) for probe in probes)
    assert [(p.name, p.procfs) for p in probes if isinstance(p, ToyProbe)] == [
        ("toy:hello", "/host/proc"),
        ("toy:hi", "/host/proc"),
    ]
    assert TOY.section(msgspec.convert({}, sections_type)) == ToySettings(), "defaults"
    with pytest.raises(msgspec.ValidationError, match=r"unknown field `greeting` - at `\$.toy`"):
        msgspec.convert({"toy": {"greeting": "hello"}}, sections_type)


def test_two_kinds_with_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="repeated: toy"):
        probes_settings_type((TOY, TOY))


def test_the_agent_settings_have_one_section_per_registered_kind_in_order() -> None:
    assert ProbesSettings.__struct_fields__ == tuple(kind.name for kind in KINDS)
    for kind in KINDS:
        assert kind.section(AgentSettings().probes) == kind.settings_type()


def test_the_daemon_builds_the_default_probes_in_registry_order() -> None:
    probes = build_probes(AgentSettings(), FixtureRunner({}))
    assert [probe.name for probe in probes] == ["host", "smart", "mdraid", "inventory"]


def test_config_errors_inside_a_registered_section_name_file_and_line() -> None:
    text = "probes:\n  ipmi:\n    interval: 30s\n    bmcs:\n      - {name: a, adress: x}\n"
    with pytest.raises(ConfigError) as caught:
        settings_from_document(parse_yaml(text, "agent.yaml"))
    assert str(caught.value).startswith("agent.yaml:5: probes.ipmi.bmcs[0].adress: "), caught.value


def test_an_agent_without_such_probes_never_imports_their_libraries(
    fake_procfs: FakeProcfs,
) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        from agent.cli import main
        code = main(["agent", "--once", "--procfs", {str(fake_procfs.root)!r}])
        assert "pysnmp" not in sys.modules, "pysnmp imported without SNMP devices"
        assert "asyncio" not in sys.modules, "asyncio imported without SNMP devices"
        assert "requests" not in sys.modules, "requests imported without Redfish or HTTP checks"
        sys.exit(code)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def struct_fields(kind: type) -> set[str]:
    """Every field name of a settings struct and of the structs nested in it."""
    names: set[str] = set()

    def walk(info: msgspec.inspect.Type) -> None:
        if isinstance(info, msgspec.inspect.StructType):
            for field in info.fields:
                names.add(field.name)
                walk(field.type)
        for attribute in ("item_type", "value_type", "types"):
            nested = getattr(info, attribute, None)
            for each in nested if isinstance(nested, tuple) else (nested,):
                if isinstance(each, msgspec.inspect.Type):
                    walk(each)

    walk(msgspec.inspect.type_info(kind))
    return names


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_the_example_config_shows_every_probe_and_option(kind: ProbeKind[Any]) -> None:
    text = (ROOT / "config" / "agent.example.yaml").read_text()
    sections = re.split(r"\n  (?=[a-z_]+:)", text.split("\nprobes:\n", 1)[1])
    section = next((s for s in sections if s.startswith(f"{kind.name}:")), None)
    assert section is not None, f"config/agent.example.yaml has no probes.{kind.name} section"
    missing = sorted(
        n for n in struct_fields(kind.settings_type) if not re.search(rf"\b{n}\b", section)
    )
    assert not missing, f"probes.{kind.name} does not show {missing}"

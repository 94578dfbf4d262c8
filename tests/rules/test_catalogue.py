"""The metric catalogue against what the probes emit from real captures, in both directions.

Every metric a capture produces must be catalogued with the labels its samples carry (always
and sometimes) and a type that fits its values; every catalogued metric must come out of some
capture, or be one of the few no capture reaches, each with the reason.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.catalogue import CATALOGUE_PATH, MetricCatalogue, catalogue_from, load_catalogue
from agent.configfile import ConfigError, parse_yaml
from rules.engine import CLOCK_SKEW, PROBE_SUCCESS
from rules.loader import RuleCheck, builtin_pack_paths, check_rules
from tests.rules.emitted import Emitted, collect_emitted

# Catalogued, but no capture in tests/rules/emitted.py reaches the code that sends them.
NOT_IN_CAPTURES = {
    "smart_devices": "counted by SmartProbe after `smartctl --scan`, not by the parser",
    "raid_md_arrays": "counted by the mdraid probe around parse_mdstat",
    "ipmi_sel_entries": "needs a SEL capture; the IPMI captures are read with read_sel=False",
    "ipmi_current_amperes": "no captured BMC has a current sensor",
    "voltage_critical_min_volts": "no captured chip sets lcrit",
    "voltage_critical_max_volts": "no captured chip sets crit on a voltage",
    "power_watts": "no captured lm-sensors chip has a power input",
    "current_amperes": "no captured lm-sensors chip has a current input",
    "raid_pd_rebuild_progress_ratio": "no captured controller is rebuilding a drive",
}


@pytest.fixture(scope="module")
def emitted(tmp_path_factory: pytest.TempPathFactory) -> Emitted:
    return collect_emitted(tmp_path_factory.mktemp("emitted"))


@pytest.fixture(scope="module")
def catalogue() -> MetricCatalogue:
    return load_catalogue()


def test_every_emitted_metric_is_catalogued(emitted: Emitted, catalogue: MetricCatalogue) -> None:
    missing = sorted(name for name in emitted if catalogue.get(name) is None)
    assert not missing, f"add these to {CATALOGUE_PATH.name}: {missing}"


def test_catalogued_labels_are_the_labels_samples_carry(
    emitted: Emitted, catalogue: MetricCatalogue
) -> None:
    wrong = []
    for name, seen in sorted(emitted.items()):
        info = catalogue.get(name)
        assert info is not None
        if info.labels != seen.always or info.optional_labels != seen.sometimes - seen.always:
            wrong.append(
                f"{name}: catalogue labels {sorted(info.labels)} optional "
                f"{sorted(info.optional_labels)}; samples always carry {sorted(seen.always)}, "
                f"some also {sorted(seen.sometimes - seen.always)}"
            )
    assert not wrong, "\n".join(wrong)


def test_catalogued_types_fit_the_values(emitted: Emitted, catalogue: MetricCatalogue) -> None:
    for name, seen in emitted.items():
        info = catalogue.get(name)
        assert info is not None
        if info.type == "state":
            assert seen.kinds == {"string"}, f"{name} is a state but sends numbers"
        else:
            assert seen.kinds == {"number"}, f"{name} is a {info.type} but sends strings"
        assert (info.type == "counter") == name.endswith("_total"), name


def test_every_catalogued_metric_comes_out_of_a_capture(
    emitted: Emitted, catalogue: MetricCatalogue
) -> None:
    unseen = sorted(set(catalogue.metrics) - set(emitted) - set(NOT_IN_CAPTURES))
    assert not unseen, f"catalogued but never emitted (stale, or add a capture): {unseen}"
    assert not set(NOT_IN_CAPTURES) & set(emitted), "now captured: drop from NOT_IN_CAPTURES"
    assert set(NOT_IN_CAPTURES) <= set(catalogue.metrics)


def test_the_collector_series_are_catalogued(catalogue: MetricCatalogue) -> None:
    skew, success = catalogue.get(CLOCK_SKEW), catalogue.get(PROBE_SUCCESS)
    assert skew is not None and skew.unit == "seconds" and skew.labels == frozenset()
    assert success is not None and success.labels == {"probe"}


def test_every_entry_is_described(catalogue: MetricCatalogue) -> None:
    for info in catalogue.metrics.values():
        assert len(info.description) > 10 and info.probe, info.name


@pytest.fixture(scope="module")
def builtin_check() -> RuleCheck:
    return check_rules()


@pytest.mark.parametrize("pack", builtin_pack_paths(), ids=lambda path: path.stem)
def test_builtin_packs_name_only_catalogued_metrics_and_labels(
    builtin_check: RuleCheck, pack: Path
) -> None:
    problems = [p for p in builtin_check.errors + builtin_check.warnings if p.source == str(pack)]
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("metrics:\n  a:\n    type: gauge\n    unit: ratio\n    labels: []\n", 2,
         "missing required key `description`"),
        ("metrics:\n  a:\n    type: gauges\n    unit: ratio\n    labels: []\n"
         "    description: x\n", 2, "type: expected one of gauge, counter, state"),
        ("metrics:\n  a: {type: gauge, unit: ratio, labels: [], description: x}\n"
         "  b: {type: gauge, unit: ratio, lables: [], description: x}\n", 3,
         "unknown key `lables`; did you mean `labels`?"),
        ("metrics:\n  a: {type: gauge, unit: percent, labels: [], description: x}\n", 2,
         "unit: expected one of"),
    ],
    ids=["missing", "type", "typo", "unit"],
)  # fmt: skip
def test_a_broken_catalogue_names_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        catalogue_from(parse_yaml(text, "cat.yaml"))
    assert f"cat.yaml:{line}:" in str(caught.value) and message in str(caught.value)


def test_did_you_mean_finds_the_near_name(catalogue: MetricCatalogue) -> None:
    assert catalogue.closest("filesytem_used_ratio") == "filesystem_used_ratio"
    assert catalogue.closest("smart_reallocated_sector") == "smart_reallocated_sectors"
    assert catalogue.closest("completely_unrelated") is None


def test_reading_the_catalogue_pulls_in_no_collector_or_probe_library() -> None:
    heavy = ["pydantic", "psutil", "jinja2", "msgspec", "rules", "collector"]
    code = (
        "import sys, agent.catalogue as c; c.load_catalogue(); "
        f"found = sorted(set({heavy!r}) & set(sys.modules)); "
        "sys.exit(f'imported {found}' if found else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

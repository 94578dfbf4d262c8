"""Rule files: valid ones load, broken ones say file:line and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.loader import RuleLoadError, builtin_pack_paths, load_rules
from tests.rules.conftest import RuleFactory

VALID = """\
group: test
rules:
  - name: DiskFull
    priority: P2
    metric: filesystem_used_ratio
    match: {mountpoint: "/", fstype: "!~tmpfs|overlay"}
    above: 0.9
    clear_below: 0.85
    for: 5m
    summary: "{{ labels.mountpoint }} on {{ host }} is {{ value | percent }} full"
"""


def test_valid_rule_loads_with_typed_fields(ruleset_from: RuleFactory) -> None:
    rules = ruleset_from(VALID)
    compiled = rules.by_metric["filesystem_used_ratio"][0]
    assert compiled.rule.for_ == 300.0
    assert compiled.rule.clear_below == 0.85
    assert compiled.matcher.matches({"mountpoint": "/", "fstype": "ext4"}, "web1")
    assert not compiled.matcher.matches({"mountpoint": "/", "fstype": "tmpfs"}, "web1")
    context = {"host": "web1", "value": 0.934, "labels": {"mountpoint": "/"}}
    assert compiled.summary.render(context) == "/ on web1 is 93% full"


def test_builtin_packs_load_and_cover_the_issue_rules() -> None:
    rules = load_rules()
    names = {c.name for c in rules.rules}
    expected = {"HostCpuBusy", "HostMemoryHigh", "FilesystemAlmostFull", "FilesystemFull"}
    assert expected | {"FilesystemInodesLow", "SwapThrashing", "AgentSilent"} <= names
    assert builtin_pack_paths(), "packs must ship as package data"


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(RuleLoadError) as caught:
        load_rules([path], include_builtin=False)
    return [str(error) for error in caught.value.errors]


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("    above: 0.9\n", "    abovee: 0.9\n", 7, "unknown key `abovee`; did you mean `above`?"),
        ("    for: 5m\n", "    for: 5 minutes\n", 9, "expected a duration"),
        ("    priority: P2\n", "    priority: P9\n", 4, "Input should be 'P1', 'P2', 'P3' or 'P4'"),
        ("    clear_below: 0.85\n", "    clear_below: 0.95\n", 3, "must not exceed above"),
        ('"!~tmpfs|overlay"', '"~(unclosed"', 6, "bad regular expression"),
        ("is {{ value", "is {{ value |", 10, "template error"),
        ("    above: 0.9\n", "", 3, "needs exactly one condition"),
        ("    metric: filesystem_used_ratio\n", "", 3, "`metric` is required"),
    ],
    ids=["typo", "duration", "priority", "hysteresis", "regex", "template", "none", "metric"],
)
def test_broken_rule_reports_file_line_and_fix(
    tmp_path: Path, old: str, new: str, line: int, message: str
) -> None:
    assert old in VALID
    errors = _errors(tmp_path, VALID.replace(old, new))
    assert any(f"bad.yaml:{line}:" in e and message in e for e in errors), errors


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "group: x\nrules:\n  - name: [unclosed\n")
    assert len(errors) == 1 and "bad.yaml:" in errors[0] and "YAML syntax error" in errors[0]


def test_duplicate_rule_names_are_rejected_with_both_places(tmp_path: Path) -> None:
    errors = _errors(tmp_path, VALID + VALID.split("rules:\n", 1)[1])
    assert any(
        "bad.yaml:11:" in e and "already defined in" in e and "bad.yaml:3;" in e for e in errors
    )


def test_every_problem_in_a_file_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = VALID.replace("priority: P2", "priority: P0").replace("above: 0.9", "above: high")
    errors = _errors(tmp_path, text)
    assert len(errors) >= 2

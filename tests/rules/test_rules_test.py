"""`watchkeeper rules test FILE`: rule unit tests that pass, fail like promtool's, or are broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.cli import rules_command
from rules.notation import expand_values

CONFIG = Path(__file__).resolve().parents[2] / "config"

RULES = """\
group: site
rules:
  - name: SrvAlmostFull
    priority: P2
    metric: filesystem_used_ratio
    match: {mountpoint: /srv}
    above: 0.9
    clear_below: 0.85
    for: 2m
    summary: "{{ labels.mountpoint }} on {{ host }} is {{ value | percent }} full"
"""

TESTS = """\
rule_files: [rules.yaml]
builtin_rules: false
evaluation_interval: 30s
tests:
  - name: srv fills, then is cleaned up
    interval: 1m
    series:
      - host: web-1
        metric: filesystem_used_ratio
        labels: {mountpoint: /srv}
        values: "0.5 0.95x4 0.8x3"
    expect:
      - at: 2m
        incidents: []
      - at: 3m
        incidents:
          - rule: SrvAlmostFull
            host: web-1
            labels: {mountpoint: /srv}
            priority: P2
            summary: "/srv on web-1 is 95% full"
      - at: 7m
        incidents: []
"""


def _files(tmp_path: Path, tests: str = TESTS) -> Path:
    (tmp_path / "rules.yaml").write_text(RULES)
    path = tmp_path / "rules.test.yaml"
    path.write_text(tests)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.5 0.5 0.95x6", [0.5, 0.5] + [0.95] * 7),
        ("1+1x3 10-2.5x2", [1.0, 2.0, 3.0, 4.0, 10.0, 7.5, 5.0]),
        ("1 _ _x2 2", [1.0, None, None, None, 2.0]),
        ("optimal degradedx2", ["optimal", "degraded", "degraded", "degraded"]),
        ("-1e3 .5", [-1000.0, 0.5]),
    ],
    ids=["repeat", "ramps", "missing", "states", "numbers"],
)
def test_values_expand_like_promtool(text: str, expected: list[float | str | None]) -> None:
    assert expand_values(text) == expected


def test_values_as_a_list() -> None:
    assert expand_values([0.5, None, "degraded", 1]) == [0.5, None, "degraded", 1.0]


def test_passing_tests_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _files(tmp_path)
    assert rules_command(["test", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: SUCCESS (1 tests, 3 checks)\n"


def test_failing_tests_print_expected_and_got_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = TESTS.replace("priority: P2", "priority: P1").replace("at: 2m", "at: 1m")
    wrong = wrong.replace(
        "      - at: 7m\n        incidents: []\n", "      - at: 5m\n        incidents: []\n"
    )
    path = _files(tmp_path, wrong)
    assert rules_command(["test", str(path)]) == 1
    out = capsys.readouterr().out
    assert out == (
        f"FAILED {path}:15: 'srv fills, then is cleaned up' at 3m:\n"
        "    expected: SrvAlmostFull P1 web-1 {mountpoint=\"/srv\"} '/srv on web-1 is 95% full'\n"
        '    got:      SrvAlmostFull P2 web-1 {mountpoint="/srv"}\n'
        f"FAILED {path}:22: 'srv fills, then is cleaned up' at 5m:\n"
        "    expected: (none)\n"
        '    got:      SrvAlmostFull P2 web-1 {mountpoint="/srv"}\n'
        f"{path}: FAILED (2 of 3 checks)\n"
    )


def test_a_wrong_summary_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _files(tmp_path, TESTS.replace("is 95% full", "is 96% full"))
    assert rules_command(["test", str(path)]) == 1
    out = capsys.readouterr().out
    assert (
        "expected: SrvAlmostFull P2 web-1 {mountpoint=\"/srv\"} '/srv on web-1 is 96% full'" in out
    )
    assert (
        "got:      SrvAlmostFull P2 web-1 {mountpoint=\"/srv\"} '/srv on web-1 is 95% full'" in out
    )


def test_a_silent_host_is_seen_by_absent_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = """\
evaluation_interval: 10s
tests:
  - name: the agent stops
    interval: 1m
    series:
      - {host: web-1, metric: memory_used_ratio, values: "0.5x2 _x5 0.5"}
    expect:
      - {at: 3m, rule: AgentSilent, incidents: []}
      - at: 5m
        rule: AgentSilent
        incidents: [{rule: AgentSilent, host: web-1, priority: P2}]
      - {at: 8m, rule: AgentSilent, incidents: []}
"""
    path = _files(tmp_path, text)
    assert rules_command(["test", str(path)]) == 0, capsys.readouterr().out


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("values: \"0.5 0.95x4 0.8x3\"", "values: \"0.5 0.95y4\"", ":11: tests[0].series[0].values"
         ": cannot read '0.95y4'"),
        ("          - rule: SrvAlmostFull", "          - rule: SrvAlmostFul",
         ":17: tests[0].expect[1].incidents[0].rule: no loaded rule is called 'SrvAlmostFul'; "
         "did you mean 'SrvAlmostFull'?"),
        ("rule_files: [rules.yaml]", "rule_files: [rulez.yaml]", ":1: rule_files: no such file"),
        ("    interval: 1m", "    intervall: 1m", ":6: tests[0].intervall: unknown key "
         "`intervall`; did you mean `interval`?"),
    ],
    ids=["notation", "rule-name", "rule-file", "key"],
)  # fmt: skip
def test_a_broken_test_file_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    assert old in TESTS
    path = _files(tmp_path, TESTS.replace(old, new))
    assert rules_command(["test", str(path)]) == 1
    assert f"{path}{message}" in capsys.readouterr().err


def test_a_broken_rule_file_stops_the_tests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _files(tmp_path)
    (tmp_path / "rules.yaml").write_text(RULES.replace("priority: P2", "priority: P7"))
    assert rules_command(["test", str(path)]) == 1
    assert f"{tmp_path / 'rules.yaml'}:4: rules[0].priority:" in capsys.readouterr().err


def test_the_annotated_examples_check_and_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert rules_command(["check", str(CONFIG / "overrides.example.yaml")]) == 0
    assert rules_command(["test", str(CONFIG / "rules-test.example.yaml")]) == 0
    out = capsys.readouterr().out
    assert "OK: 0 rules and 5 overrides in 1 file" in out
    assert "rules-test.example.yaml: SUCCESS (2 tests, 3 checks)" in out

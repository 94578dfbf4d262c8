"""`watchkeeper rules export --format prometheus`: the built-in packs (and user rules with a
PromQL equivalent) as a Prometheus rules file that promtool accepts and whose shipped unit
tests pass; rules without an equivalent are listed, never dropped silently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from collector.cli import rules_command
from rules.export import export_rules, expression
from rules.loader import load_rules
from rules.model import Rule
from tests.peers import require_tool

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")

USER_RULES = """group: mine
rules:
  - name: UpsNotOnline
    priority: P2
    metric: ups_status
    not_in: [online, "on line"]
    summary: "UPS {{ host }} is {{ value }}"
  - name: BondChanged
    priority: P4
    metric: bond_active_slaves
    function: delta
    below: 0
    summary: "bond on {{ host }} lost a slave"
  - name: WebLoadHigh
    priority: P3
    metric: load5_per_core
    match: {host: "~web-.*", role: "!db"}
    above: 4
    labels: {team: web}
    summary: "load {{ value | round(1) }} on {{ host }}"
"""


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    tool = require_tool("promtool", "prometheus")
    return subprocess.run(
        [tool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def test_the_shipped_rules_file_is_the_export_of_the_built_in_packs() -> None:
    fresh = export_rules(load_rules().rules).text()
    assert (DEPLOY / "watchkeeper-rules.yml").read_text() == fresh, (
        "regenerate: watchkeeper rules export --format prometheus "
        "-o deploy/prometheus/watchkeeper-rules.yml"
    )


def test_promtool_accepts_the_export_and_its_unit_tests_pass(tmp_path: Path) -> None:
    out = tmp_path / "rules.yml"
    done = subprocess.run(
        [WATCHKEEPER, "rules", "export", "--format", "prometheus", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "not exported: SnmpLinkDownTrap: matches snmp_trap events" in done.stderr
    check = promtool("check", "rules", str(out))
    assert check.returncode == 0, check.stdout + check.stderr
    test = promtool("test", "rules", "watchkeeper-rules.test.yml", cwd=DEPLOY)
    assert test.returncode == 0, test.stdout + test.stderr


def test_every_built_in_rule_is_exported_or_listed() -> None:
    rules = load_rules().rules
    exported = export_rules(rules)
    names = {r["alert"] for g in exported.groups for r in g["rules"]}
    listed = {s.name for s in exported.skipped}
    assert names | listed == {c.name for c in rules} and not names & listed
    assert "#   SnmpLinkDownTrap: matches snmp_trap events" in exported.text()


def test_user_rules_are_exported_where_promql_can_say_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.yaml").write_text(USER_RULES)
    out = tmp_path / "out.yml"
    assert (
        rules_command(
            ["export", "--format", "prometheus", "--no-builtin", "-o", str(out), str(tmp_path)]
        )
        == 0
    )
    assert "not exported: BondChanged: delta between two reports" in capsys.readouterr().err
    (group,) = yaml.safe_load(out.read_text())["groups"]
    rules = {r["alert"]: r for r in group["rules"]}
    assert set(rules) == {"UpsNotOnline", "WebLoadHigh"}
    assert (
        rules["UpsNotOnline"]["expr"] == 'watchkeeper_ups_status{state!~"online|on\\\\ line"} == 1'
    )
    assert (
        rules["UpsNotOnline"]["annotations"]["summary"]
        == "UPS {{ $labels.host }} is {{ $labels.state }}"
    )
    web = rules["WebLoadHigh"]
    assert web["expr"] == 'watchkeeper_load5_per_core{host=~"web-.*", role!="db"} > 4'
    assert web["labels"] == {"team": "web", "priority": "P3", "severity": "warning"}
    summary = 'load {{ printf "%.1f" $value }} on {{ $labels.host }}'
    assert web["annotations"]["summary"] == summary
    check = promtool("check", "rules", str(out))
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"metric": "m", "function": "rate", "above": 5}, "rate(watchkeeper_m[5m]) > 5"),
        (
            {"metric": "m", "function": "increase", "window": "24h", "above": 0},
            "increase(watchkeeper_m[1d]) > 0",
        ),
        (
            {"metric": "m", "predict": {"window": "6h", "horizon": "4h"}, "above": 1},
            "predict_linear(watchkeeper_m[6h], 14400) > 1",
        ),
        ({"metric": "m", "equals": "failed"}, 'watchkeeper_m{state="failed"} == 1'),
        ({"metric": "m", "in": ["a", "b"]}, 'watchkeeper_m{state=~"a|b"} == 1'),
        ({"absent": "10m"}, "time() - watchkeeper_host_last_seen_timestamp_seconds > 600"),
        ({"metric": "m", "below": 0.2, "match": {"x": "~a.*"}}, 'watchkeeper_m{x=~"a.*"} < 0.2'),
    ],
    ids=["rate", "increase", "predict", "equals", "in", "absent", "below"],
)
def test_conditions_in_promql(condition: dict[str, object], expected: str) -> None:
    rule = Rule.model_validate({"name": "R", "priority": "P3", "summary": "s", **condition})
    assert expression(rule) == expected


OVERRIDES = """overrides:
  - rule: HostMemoryHigh
    set: {above: 0.95, clear_below: 0.9}
    reason: everybody
  - rule: FilesystemAlmostFull
    when: {hosts: ["backup-*"]}
    set: {above: 0.97, clear_below: 0.95}
    reason: backups run full
  - rule: HostCpuBusy
    when: {hosts: ["ci-*"]}
    disable: true
    reason: CI is busy
"""


def test_overrides_for_everybody_export_and_scoped_ones_are_listed(tmp_path: Path) -> None:
    (tmp_path / "overrides.yaml").write_text(OVERRIDES)
    exported = export_rules(load_rules([tmp_path]).rules)
    rules = {r["alert"]: r for g in exported.groups for r in g["rules"]}
    assert rules["HostMemoryHigh"]["expr"].startswith("watchkeeper_memory_used_ratio > 0.95 or")
    listed = {s.name: s.reason for s in exported.skipped}
    assert "overrides.yaml" in listed["FilesystemAlmostFull"]
    assert "HostCpuBusy" in listed and "HostCpuBusy" not in rules  # not on the CI hosts

"""Overrides of built-in rules: disabled, re-tuned everywhere, or re-tuned for a host group.

Built-in packs are loaded as the collector loads them; reports go through the real engine with
time passed in. A scoped override must leave every other series exactly as it was: same rule,
same threshold, same incident key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.report import Sample
from rules.engine import AlertSignal, RuleEngine, SignalKind, incident_key
from rules.loader import RuleLoadError, RuleSet, load_rules
from tests.rules.conftest import report

ROOT = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
SRV = {"device": "/dev/sdb1", "fstype": "xfs", "mountpoint": "/srv"}

BACKUP_AT_95 = """\
overrides:
  - rule: FilesystemAlmostFull
    when: {hosts: "backup-*"}
    set: {above: 0.95, clear_below: 0.93, priority: P4}
"""


def _rules(tmp_path: Path, text: str) -> RuleSet:
    path = tmp_path / "overrides.yaml"
    path.write_text(text)
    return load_rules([path])


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RuleLoadError) as caught:
        _rules(tmp_path, text)
    return [str(error) for error in caught.value.errors]


def _fires(rules: RuleSet, host: str, value: float, labels: dict[str, str]) -> list[AlertSignal]:
    """FilesystemAlmostFull fires for the series held at `value` for 10 minutes."""
    engine = RuleEngine(rules)
    signals: list[AlertSignal] = []
    for minute in range(11):
        sample = Sample("filesystem_used_ratio", value, labels)
        signals += engine.evaluate(report(host, sample), minute * 60.0)
        signals += engine.tick(minute * 60.0)
    return [
        s for s in signals if s.kind is SignalKind.FIRE and s.rule.name == "FilesystemAlmostFull"
    ]


def test_scoped_threshold_applies_to_the_host_group_only(tmp_path: Path) -> None:
    rules = _rules(tmp_path, BACKUP_AT_95)
    assert _fires(rules, "backup-1", 0.93, SRV) == [], "0.93 is fine on a backup host now"
    on_backup = _fires(rules, "backup-1", 0.96, SRV)
    assert [s.rule.rule.priority.value for s in on_backup] == ["P4"]
    assert on_backup[0].rule.overrides == (f"{tmp_path / 'overrides.yaml'}:2",)
    on_web = _fires(rules, "web-1", 0.93, ROOT)
    assert [s.rule.rule.priority.value for s in on_web] == ["P3"], "others keep 90 %, P3"


def test_incident_keys_do_not_move_for_any_series(tmp_path: Path) -> None:
    plain, tuned = load_rules(), _rules(tmp_path, BACKUP_AT_95)
    before = _fires(plain, "web-1", 0.97, ROOT)[0]
    after = _fires(tuned, "web-1", 0.97, ROOT)[0]
    assert before.key == after.key == incident_key("FilesystemAlmostFull", "web-1", ROOT)
    assert after.rule.overrides == ()
    assert after.rule.source == before.rule.source, "the built-in itself watches web-1"
    scoped = _fires(tuned, "backup-1", 0.97, SRV)[0]
    assert scoped.key == incident_key("FilesystemAlmostFull", "backup-1", SRV)


def test_exactly_one_variant_watches_each_series(tmp_path: Path) -> None:
    rules = _rules(tmp_path, BACKUP_AT_95)
    variants = [c for c in rules.rules if c.name == "FilesystemAlmostFull"]
    assert len(variants) == 2
    for host in ("backup-1", "backup-eu-2", "web-1", "backup"):
        assert sum(v.matcher.matches(SRV, host) for v in variants) == 1, host
    assert rules.find("FilesystemAlmostFull", "backup-1", SRV) is variants[1]
    assert rules.find("FilesystemAlmostFull", "web-1", SRV) is variants[0]


def test_a_restored_incident_finds_its_variant(tmp_path: Path) -> None:
    engine = RuleEngine(_rules(tmp_path, BACKUP_AT_95))
    assert engine.restore_firing("FilesystemAlmostFull", "backup-1", SRV, since=0.0)
    state = next(iter(engine.states.values()))
    assert state.rule.rule.above == 0.95
    resolved = engine.evaluate(report("backup-1", Sample("filesystem_used_ratio", 0.92, SRV)), 1)
    assert [s.kind for s in resolved] == [SignalKind.RESOLVE], "0.92 is under the new 0.93"


def test_later_scope_wins_where_scopes_overlap(tmp_path: Path) -> None:
    text = BACKUP_AT_95 + (
        "  - rule: FilesystemAlmostFull\n"
        "    when: {hosts: [backup-eu-*], labels: {mountpoint: /srv}}\n"
        "    set: {above: 0.98, clear_below: 0.97}\n"
    )
    rules = _rules(tmp_path, text)
    assert _fires(rules, "backup-eu-1", 0.97, SRV) == []
    assert len(_fires(rules, "backup-eu-1", 0.97, ROOT)) == 1, "/ is outside the second scope"
    assert len(_fires(rules, "backup-us-1", 0.97, SRV)) == 1


def test_disable_everywhere_or_for_a_group(tmp_path: Path) -> None:
    everywhere = _rules(tmp_path, "overrides:\n  - {rule: FilesystemAlmostFull, disable: true}\n")
    assert everywhere.get("FilesystemAlmostFull") is None
    assert _fires(everywhere, "web-1", 0.93, ROOT) == []
    text = "overrides:\n  - {rule: FilesystemAlmostFull, when: {hosts: db-*}, disable: true}\n"
    grouped = _rules(tmp_path, text)
    assert _fires(grouped, "db-1", 0.93, ROOT) == []
    assert len(_fires(grouped, "web-1", 0.93, ROOT)) == 1


def test_disabled_everywhere_but_a_scope(tmp_path: Path) -> None:
    text = (
        "overrides:\n"
        "  - {rule: FilesystemAlmostFull, disable: true}\n"
        "  - {rule: FilesystemAlmostFull, when: {hosts: db-*}, set: {priority: P2}}\n"
    )
    rules = _rules(tmp_path, text)
    assert _fires(rules, "web-1", 0.93, ROOT) == []
    assert [s.rule.rule.priority.value for s in _fires(rules, "db-1", 0.93, ROOT)] == ["P2"]


def test_unscoped_override_changes_for_and_matchers(tmp_path: Path) -> None:
    text = (
        "overrides:\n"
        "  - rule: FilesystemAlmostFull\n"
        "    set: {for: 20m, match: {mountpoint: '!/srv'}}\n"
    )
    rules = _rules(tmp_path, text)
    compiled = rules.get("FilesystemAlmostFull")
    assert compiled is not None and compiled.rule.for_ == 1200.0
    assert compiled.rule.match == {"mountpoint": "!/srv"}
    assert _fires(rules, "web-1", 0.93, ROOT) == [], "not yet: for is 20m now"
    assert not compiled.matcher.matches(SRV, "web-1")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("  - rule: FilesystemAlmostFul\n    set: {above: 0.95}\n", 2,
         "overrides[0].rule: no loaded rule is called 'FilesystemAlmostFul'; "
         "did you mean 'FilesystemAlmostFull'?"),
        ("  - rule: FilesystemAlmostFull\n    set: {above: 0.8}\n", 3,
         "overrides[0].set: FilesystemAlmostFull after this override: clear_below (0.88) must "
         "not exceed above (0.8): the incident would clear while still in breach "
         "(set the clear_* level in `set:` too)"),
        ("  - rule: FilesystemAlmostFull\n    set: {below: 0.1}\n", 3,
         "overrides[0].set: FilesystemAlmostFull is an `above` rule: `below` does not apply"),
        ("  - rule: FilesystemAlmostFull\n    disable: true\n    set: {above: 0.95}\n", 2,
         "overrides[0]: an override either disables the rule or sets values, not both"),
        ("  - rule: FilesystemAlmostFull\n", 2,
         "overrides[0]: nothing to override: give `set:` with the values, or `disable: true`"),
        ("  - rule: FilesystemAlmostFull\n    when: {}\n    disable: true\n", 3,
         "overrides[0].when: `when` needs `hosts`, `labels` or both"),
        ("  - rule: FilesystemAlmostFull\n    set: {treshold: 0.95}\n", 3,
         "overrides[0].set.treshold: unknown key `treshold`"),
        ("  - rule: FilesystemAlmostFull\n    when: {labels: {mountpoint: '~(x'}}\n"
         "    disable: true\n", 3, "overrides[0].when.labels: match.mountpoint: bad regular"),
    ],
    ids=["unknown-rule", "hysteresis", "condition", "both", "nothing", "empty-when", "typo",
         "regex"],
)  # fmt: skip
def test_a_bad_override_is_an_error_at_its_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    errors = _errors(tmp_path, "overrides:\n" + text)
    assert any(f"overrides.yaml:{line}: {message}" in e for e in errors), errors


def test_all_override_errors_come_in_one_pass(tmp_path: Path) -> None:
    text = (
        "overrides:\n"
        "  - {rule: NoSuchRule, disable: true}\n"
        "  - {rule: HostCpuBusy, set: {above: 0.5}}\n"
        "  - {rule: HostLoadHigh, set: {below: 1}}\n"
    )
    errors = _errors(tmp_path, text)
    assert [e.split(": ")[0].rsplit(":", 1)[1] for e in errors] == ["2", "3", "4"]

"""`watchkeeper rules check`: every problem in one pass, each at its file:line, with the fix.

The collector loads rules through the same code: what `check` calls an error stops the
collector with the same message; what it calls a warning (an uncatalogued metric, a label or
template variable that does not exist) is logged by the collector, which starts anyway.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from collector.cli import rules_command
from rules.loader import RuleLoadError, load_rules

GOOD = """\
group: site
rules:
  - name: SrvAlmostFull
    priority: P2
    metric: filesystem_used_ratio
    match: {mountpoint: /srv}
    above: 0.9
    summary: "{{ labels.mountpoint }} on {{ host }} is {{ value | percent }} full"
"""

# One of each problem; the line each is reported at follows the `# line` marks.
BROKEN = """\
group: site
rules:
  - name: DiskAlmostFull
    priority: P2
    metric: filesytem_used_ratio
    above: 0.9
    summary: "{{ host }} is {{ valu | percent }} full"
  - name: RootFull
    priority: P9
    metric: filesystem_used_ratio
    above: 0.9
    summary: "{{ host }}"
  - name: RootFuller
    priority: P2
    metric: filesystem_used_ratio
    match: {mountpoin: /}
    above: 0.95
    summary: |
      {{ host }}:
      {{ labels.mountpoin }} is full
  - name: BadRegex
    priority: P2
    metric: filesystem_used_ratio
    match: {mountpoint: "~(unclosed"}
    above: 0.95
    inhibited_by: [RootFul]
    summary: "{{ host }}"
  - name: FilesystemAlmostFull
    priority: P2
    metric: filesystem_used_ratio
    above: 0.95
    summary: "{{ host }}"
"""
EXPECTED = [
    (5, "warning: rules[0].metric: unknown metric 'filesytem_used_ratio'; "
        "did you mean 'filesystem_used_ratio'?"),
    (7, "warning: rules[0].summary: summary uses unknown variable `valu`; "
        "did you mean `value`?"),
    (9, "rules[1].priority: Input should be 'P1', 'P2', 'P3' or 'P4'"),
    (16, "warning: rules[2].match.mountpoin: filesystem_used_ratio has no label `mountpoin`; "
         "did you mean `mountpoint`?"),
    (20, "warning: rules[2].summary: `labels.mountpoin`: filesystem_used_ratio has no label "
         "`mountpoin`; did you mean `mountpoint`?"),
    (24, "rules[3].match: match.mountpoint: bad regular expression"),
    (26, "rules[3].inhibited_by[0]: rule 'BadRegex': inhibited_by names unknown rule 'RootFul'; "
         "did you mean 'RootFull'?"),
    (28, "rules[4].name: rule 'FilesystemAlmostFull' is a built-in rule"),
]  # fmt: skip


def _write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_good_file_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rules_command(["check", str(_write(tmp_path, GOOD))]) == 0
    assert capsys.readouterr().out == "OK: 1 rule and 0 overrides in 1 file\n"


def test_every_problem_is_reported_in_one_pass_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, BROKEN)
    assert rules_command(["check", str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    for line, message in EXPECTED:
        found = [text for text in lines if text.startswith(f"{path}:{line}: ")]
        assert any(message in text for text in found), (line, message, lines)
    assert len(lines) == len(EXPECTED) + 1  # no extra noise (nor the packs' own problems)
    assert lines[-1].startswith("FAILED: 4 errors (the collector would refuse to start), 4 ")


def test_the_collector_refuses_the_errors_with_the_same_messages_and_logs_the_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, BROKEN)
    rules_command(["check", str(path)])
    printed = capsys.readouterr().err.splitlines()
    with pytest.raises(RuleLoadError) as caught:
        load_rules([path])  # what the collector does at start, built-in packs included
    refused = [str(error) for error in caught.value.errors]
    assert len(refused) == 4
    assert all(text in printed for text in refused)
    warned = [str(w) for w in caught.value.warnings if w.source == str(path)]
    assert len(warned) == 4
    assert all(
        text.replace(": ", ": warning: ", 1) in printed for text in warned
    )  # same words, marked as warnings


def test_a_rule_on_an_uncatalogued_metric_still_loads_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path, GOOD.replace("filesystem_used_ratio", "pdu_load_amperes"))
    with caplog.at_level(logging.WARNING, logger="rules.loader"):
        rules = load_rules([path], include_builtin=False)
    assert rules.get("SrvAlmostFull") is not None
    assert f"{path}:5: rules[0].metric: unknown metric 'pdu_load_amperes'" in caplog.text


def test_declared_metrics_are_known_to_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD.replace("filesystem_used_ratio", "pdu_load_amperes") + (
        "metrics:\n"
        "  pdu_load_amperes:\n"
        "    type: gauge\n"
        "    unit: amperes\n"
        "    labels: [mountpoint]\n"
        "    description: PDU load read through SNMP extra_oids\n"
    )
    assert rules_command(["check", str(_write(tmp_path, text))]) == 0, capsys.readouterr().err


def test_a_broken_metric_declaration_names_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD + "metrics:\n  pdu_load_amperes: {type: gauge, unit: amps, labels: []}\n"
    path = _write(tmp_path, text)
    assert rules_command(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:10: metrics.pdu_load_amperes: missing required key `description`" in err


def test_a_builtin_name_is_fine_once_made_an_override(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "overrides:\n  - rule: FilesystemAlmostFull\n    set: {above: 0.95, clear_below: 0.9}\n"
    assert rules_command(["check", str(_write(tmp_path, text))]) == 0
    assert capsys.readouterr().out == "OK: 0 rules and 1 override in 1 file\n"


def test_names_clashing_across_user_files_keep_the_old_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _write(tmp_path, GOOD, "a.yaml"), _write(tmp_path, GOOD, "b.yaml")
    assert rules_command(["check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{second}:3: rules[0].name: rule 'SrvAlmostFull' is already defined in {first}:3" in err


def test_a_missing_path_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert rules_command(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "nope.yaml: no such file or folder" in capsys.readouterr().err


def test_the_collector_itself_refuses_to_start_with_those_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from collector.app import build_collector
    from collector.config import CollectorConfig

    path = _write(tmp_path, BROKEN)
    rules_command(["check", str(path)])
    printed = capsys.readouterr().err.splitlines()
    config = CollectorConfig(database=f"sqlite:///{tmp_path / 'wk.db'}", rules=[path])
    with pytest.raises(RuleLoadError) as caught:
        build_collector(config)
    errors = [line for line in printed if "warning:" not in line and path.name in line]
    assert sorted(str(caught.value).splitlines()) == sorted(errors)
    assert len(errors) == 4


def test_a_declared_metric_gets_its_labels_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD.replace("filesystem_used_ratio", "pdu_load_amperes") + (
        "metrics:\n"
        "  pdu_load_amperes: {type: gauge, unit: amperes, labels: [outlet], description: PDU}\n"
    )
    path = _write(tmp_path, text)
    assert rules_command(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:6: warning: rules[0].match.mountpoint: pdu_load_amperes has no label" in err
    assert f"{path}:8: warning: rules[0].summary: `labels.mountpoint`: pdu_load_amperes" in err


KINDS = """\
group: site
rules:
  - name: SrvAlmostFull
    priority: P3
    kind: srv_space
    metric: filesystem_used_ratio
    above: 0.9
    summary: "{{ host }}"
  - name: SrvFull
    priority: P1
    kind: srv_spaces
    metric: filesystem_used_ratio
    above: 0.97
    summary: "{{ host }}"
  - name: SrvGone
    priority: P1
    kind: Srv-Space
    metric: filesystem_used_ratio
    above: 0.99
    summary: "{{ host }}"
"""


def test_a_bad_kind_is_an_error_and_a_kind_no_other_rule_shares_a_warning_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, KINDS)
    assert rules_command(["check", str(path)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert f"{path}:15: rules[2]: kind 'Srv-Space' must be lower case letters" in "\n".join(lines)
    assert any(
        text.startswith(f"{path}:5: warning: rules[0].kind: rule 'SrvAlmostFull': no other rule")
        and "did you mean 'srv_spaces'?" in text
        for text in lines
    ), lines
    fixed = KINDS.replace("srv_spaces", "srv_space").replace("kind: Srv-Space", "kind: srv_space")
    rules = load_rules([_write(tmp_path, fixed)], include_builtin=False)
    assert rules.kind_of == {n: "srv_space" for n in ("SrvAlmostFull", "SrvFull", "SrvGone")}

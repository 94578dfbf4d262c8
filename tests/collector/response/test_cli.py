"""`watchkeeper oncall` and `watchkeeper config check`: exit codes and what they print."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from icalendar import Calendar

from agent.cli import main
from collector.response.cli import config_command, oncall_command

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"
EXAMPLE = CONFIG_DIR / "response.example.yaml"
# Sunday 29 March 2026, 10:00 in Berlin: the day the clocks went forward.
EASTER_WEEK = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)


def _run(argv: list[str]) -> int:
    return oncall_command(["--config", str(EXAMPLE), *argv], clock=lambda: EASTER_WEEK)


def test_oncall_shows_every_schedule_now_and_next(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == [
        "platform-primary (Platform primary, Europe/Berlin) at Sun 2026-03-29 10:00 CEST",
        "  now:  王伟 (wang-wei)  since Mon 2026-03-23 09:00 CET, until Mon 2026-03-30 09:00 CEST",
        "  next: Alice Becker (alice)  from Mon 2026-03-30 09:00 CEST, "
        "until Tue 2026-04-07 09:00 CEST",
    ]
    assert out[3].startswith("database (database, America/New_York) at Sun 2026-03-29 04:00")


def test_oncall_for_a_team_at_a_given_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["platform", "--at", "2026-04-06T10:00+02:00"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("team platform (Platform operations): platform-primary\n")
    assert "now:  Alice Becker (alice)" in out, "the Easter Monday override"
    assert "next: Bob Novak (bob)  from Tue 2026-04-07 09:00 CEST" in out
    assert "database" not in out


def test_oncall_names_what_exists_when_the_name_is_unknown(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(["payments"]) == 1
    err = capsys.readouterr().err
    assert "no schedule or team 'payments'" in err
    assert "schedules: platform-primary, database; teams: platform, database" in err


def test_oncall_on_a_broken_file_prints_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "response.yaml"
    path.write_text(
        "schedules:\n  - id: s\n    layers:\n      - participants: [ghost]\n"
        "        start: 2026-01-01T09:00\n"
    )
    assert oncall_command(["--config", str(path)]) == 1
    assert f"{path}:4: schedules[0].layers[0].participants[0]: unknown person 'ghost'" in (
        capsys.readouterr().err
    )
    assert oncall_command(["--config", str(tmp_path / "missing.yaml")]) == 1
    assert "missing.yaml: cannot read" in capsys.readouterr().err


def test_oncall_team_without_schedules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "response.yaml"
    path.write_text("teams:\n  - {id: web, name: Web}\n")
    assert oncall_command(["web", "--config", str(path)]) == 1
    assert "team 'web' names no schedules; add `schedules: [...]`" in capsys.readouterr().err


def test_oncall_rejects_a_time_it_cannot_read(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        _run(["--at", "tomorrow"])
    assert exited.value.code == 2
    assert "expected an ISO time like 2026-03-29T09:00+02:00" in capsys.readouterr().err


def test_oncall_prints_an_icalendar_feed(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["platform-primary", "--ical", "--weeks", "2"]) == 0
    calendar = Calendar.from_ical(capsys.readouterr().out)
    assert len(calendar.walk("VEVENT")) == 3, "wang-wei's running week, alice, bob (new rota)"
    assert _run(["alice", "--ical"]) == 0
    assert "On call: Platform primary" in capsys.readouterr().out
    assert _run(["nobody", "--ical"]) == 1


def test_config_check_response(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert config_command(["check", "response", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out == (
        f"OK: {EXAMPLE}: 4 people, 2 teams, 2 schedules, 2 policies\n"
    )
    bad = tmp_path / "response.yaml"
    bad.write_text("people:\n  - id: a\n    name: A\n    languag: en\n")
    assert config_command(["check", "response", str(bad), str(EXAMPLE)]) == 1
    captured = capsys.readouterr()
    assert f"{bad}:4: people[0].languag: unknown key `languag`; did you mean `language`?" in (
        captured.err
    )
    assert f"OK: {EXAMPLE}" in captured.out, "every file is checked"


def test_config_check_agent_and_collector_examples(capsys: pytest.CaptureFixture[str]) -> None:
    assert config_command(["check", "agent", str(CONFIG_DIR / "agent.example.yaml")]) == 0
    assert config_command(["check", "collector", str(CONFIG_DIR / "collector.example.yaml")]) == 0
    assert capsys.readouterr().out.count("OK: ") == 2
    with pytest.raises(SystemExit) as exited:
        config_command(["check", "rules", "x.yaml"])
    assert exited.value.code == 2


def test_commands_are_registered_for_watchkeeper(capsys: pytest.CaptureFixture[str]) -> None:
    found = {ep.name: ep.value for ep in entry_points(group="watchkeeper.commands")}
    assert found["oncall"] == "collector.response.cli:oncall_command"
    assert found["config"] == "collector.response.cli:config_command"
    assert main(["config", "check", "response", str(EXAMPLE)]) == 0
    assert "OK:" in capsys.readouterr().out


def test_oncall_one_person_rotation_has_no_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "response.yaml"
    path.write_text(
        "people:\n  - {id: solo, name: Solo}\nschedules:\n  - id: s\n"
        "    timezone: Asia/Shanghai\n    layers:\n      - participants: [solo]\n"
        "        start: 2026-01-05T09:00\n        length: daily\n"
    )
    assert oncall_command(["--config", str(path), "--at", "2026-06-01T12:00+08:00"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "s (s, Asia/Shanghai) at Mon 2026-06-01 12:00 CST",
        "  now:  Solo (solo)  since Mon 2026-01-05 09:00 CST",
        "  next: nobody else within 28 days (solo stays on call)",
    ]

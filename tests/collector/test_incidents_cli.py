"""`watchkeeper incidents` against a real collector over HTTP, with a real SMTP inbox."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from collector.config import ApiToken, IncidentConfig
from collector.incidents_cli import collector_url, incidents_command, parse_arguments
from collector.notify.channels import channel_from_url
from rules.priority import Priority
from tests.collector.harness import (
    ADMIN_HEADERS,
    API_TOKEN,
    FakeClock,
    RunningCollector,
    host_report,
    wait_for,
)
from tests.peers import free_port, wait_until
from tests.peers.smtp import ReceivedMail, SmtpServer

WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")
NUMBER = re.compile(r"^INC-\d{4}-\d{6}$")
RENOTIFY_AFTER = 60.0


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def running(tmp_path: Path, clock: FakeClock, smtp: SmtpServer) -> Iterator[RunningCollector]:
    collector = RunningCollector(
        tmp_path,
        clock,
        channels=[channel_from_url(smtp.url(), Priority.P4)],
        api_tokens=[ApiToken(name="alice", token=API_TOKEN)],
        incidents=IncidentConfig(renotify_after={Priority.P2: RENOTIFY_AFTER}),
    )
    yield collector
    collector.stop()


@pytest.fixture
def cli(running: RunningCollector, clock: FakeClock, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `watchkeeper incidents ARGS` in-process, as alice, against `running`."""

    def run(*argv: str, token: str | None = API_TOKEN, **environ: str) -> Result:
        env = {"WATCHKEEPER_URL": running.url, **environ}
        if token is not None:
            env["WATCHKEEPER_TOKEN"] = token
        capsys.readouterr()
        try:
            code = incidents_command(list(argv), env, clock)
        except SystemExit as exc:  # argparse: usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def open_by_cli(cli: Cli, *extra: str) -> str:
    opened = cli("open", "Payroll export fails", "--priority", "P2", "--host", "app1", *extra)
    assert opened.code == 0, opened.err
    number = opened.out.strip()
    assert NUMBER.match(number), opened.out
    return number


def timeline_names(running: RunningCollector, reference: str) -> list[str]:
    detail = running.get(f"/api/v1/incidents/{reference}")
    return [e["name"] for e in detail["timeline"] if e["kind"] == "transition"]


def test_manual_incident_opened_with_the_cli_reaches_the_inbox_with_its_number(
    cli: Cli, smtp: SmtpServer, clock: FakeClock
) -> None:
    number = open_by_cli(
        cli, "--description", "Bank file not produced since 06:00", "--contact", "+1 555 0100"
    )
    [mail] = smtp.wait_for(1)
    assert mail.subject.startswith(f"[P2] {number} OPEN Payroll export fails")
    assert "Bank file not produced since 06:00" in mail.text
    clock.advance(125)
    listed = cli("list")
    assert listed.code == 0
    header, line = listed.out.splitlines()
    assert header.split() == ["NUMBER", "PRI", "STATE", "AGE", "HOST", "SUMMARY"]
    assert line.split(maxsplit=5) == [
        number,
        "P2",
        "triggered",
        "2m05s",
        "app1",
        "Payroll export fails",
    ]
    assert header.index("SUMMARY") == line.index("Payroll"), "columns are aligned"
    shown = cli("show", number)
    assert shown.code == 0
    assert shown.out.startswith(f"{number}  P2  triggered  (opened 2m05s ago)\n")
    assert "Reporter:     alice" in shown.out and "Contact:      +1 555 0100" in shown.out
    assert re.search(r"Timeline:\n  \S+ \S+ UTC  OPEN\s+alice\s+opened by a person", shown.out)


def test_list_filters_by_state_and_host_and_prints_json(cli: Cli) -> None:
    number = open_by_cli(cli)
    assert cli("list", "--state", "resolved").out == "no incidents (state: resolved)\n"
    assert cli("list", "--host", "db9").out == "no incidents (state: active)\n"
    as_json = json.loads(cli("list", "--state", "triggered,acknowledged", "--json").out)
    assert [(i["number"], i["hosts"]) for i in as_json] == [(number, ["app1"])]
    newer = open_by_cli(cli)
    assert [line.split()[0] for line in cli("list", "--limit", "1").out.splitlines()] == [
        "NUMBER",
        newer,
    ]
    detail = json.loads(cli("show", number, "--json").out)
    assert detail["timeline"][0]["name"] == "OPEN" and "deliveries" in detail


def test_ack_stops_renotification(
    cli: Cli, running: RunningCollector, smtp: SmtpServer, clock: FakeClock
) -> None:
    number = open_by_cli(cli)
    smtp.wait_for(1)
    clock.advance(RENOTIFY_AFTER + 1)
    running.collector.incidents.run_due_timers()
    reminder = smtp.wait_for(2)[1]
    assert reminder.subject.startswith(f"[P2] {number} STILL OPEN")
    acked = cli("ack", number, "-m", "looking at the bank link")
    assert acked.code == 0
    assert acked.out.split()[:3] == [number, "P2", "acknowledged"]
    for _ in range(5):  # five more reminder periods: not one more mail
        clock.advance(RENOTIFY_AFTER + 1)
        running.collector.incidents.run_due_timers()
    time.sleep(0.5)
    assert len(smtp.messages) == 2
    assert timeline_names(running, number) == ["OPEN", "RENOTIFY", "ACK"]
    wait_for(lambda: len(running.get(f"/api/v1/incidents/{number}")["deliveries"]) == 2)
    wait_for(
        lambda: (
            {d["status"] for d in running.get(f"/api/v1/incidents/{number}")["deliveries"]}
            == {"sent"}
        )
    )
    shown = cli("show", number).out
    assert "Acknowledged: " in shown and "by alice" in shown
    assert re.search(r"SENT\s+system\s+renotify to mailto://", shown), "deliveries on the timeline"


def test_resolve_mail_threads_under_the_opening_mail_and_reopen_keeps_the_number(
    cli: Cli, running: RunningCollector, smtp: SmtpServer
) -> None:
    number = open_by_cli(cli)
    assert cli("resolve", number, "-m", "bank link restarted").code == 0
    reopened = cli("reopen", number, "-m", "export failed again")
    assert reopened.code == 0 and reopened.out.split()[:3] == [number, "P2", "triggered"]
    opening, resolved, again = smtp.wait_for(3)
    assert f"{number} RESOLVED" in resolved.subject and f"{number} REOPENED" in again.subject
    assert_threaded(opening, [resolved, again])
    assert timeline_names(running, number) == ["OPEN", "RESOLVE", "REOPEN"]
    assert "Reopened:     1 time(s)" in cli("show", number).out


def assert_threaded(opening: ReceivedMail, replies: list[ReceivedMail]) -> None:
    root = opening.message["Message-ID"]
    assert root and opening.message["In-Reply-To"] is None
    for reply in replies:
        assert reply.message["In-Reply-To"] == root and reply.message["References"] == root
        assert reply.message["Message-ID"] != root


def test_rule_incident_that_returns_within_the_reopen_window_keeps_its_number(
    cli: Cli, running: RunningCollector, smtp: SmtpServer, clock: FakeClock
) -> None:
    sequence = breach_memory(running, clock, 1)  # HostMemoryHigh: above 90 % for 5 min
    opening = smtp.wait_for(1)[0]
    [incident] = json.loads(cli("list", "--json").out)
    number = incident["number"]
    assert f"{number} OPEN HostMemoryHigh" in opening.subject
    running.post(host_report("web1", clock, sequence, memory_used_ratio=0.5))  # below 85 %
    resolved = smtp.wait_for(2)[1]
    assert f"{number} RESOLVED" in resolved.subject
    assert_threaded(opening, [resolved])
    clock.advance(600)  # well inside the 1 h reopen window
    breach_memory(running, clock, sequence + 1)
    again = smtp.wait_for(3)[2]
    assert f"{number} REOPENED" in again.subject
    listed = cli("list", "--state", "all")
    assert [line.split()[:3] for line in listed.out.splitlines()[1:]] == [
        [number, "P2", "triggered"]
    ]
    assert timeline_names(running, number) == ["OPEN", "RESOLVE", "REOPEN"]


def breach_memory(running: RunningCollector, clock: FakeClock, sequence: int) -> int:
    for seq in range(sequence, sequence + 7):  # 7 reports at 99 % over 6 minutes
        assert running.post(host_report("web1", clock, seq, memory_used_ratio=0.99)).ok
        running.tick()
        clock.advance(60)
    return sequence + 7


def test_acting_on_a_closed_incident_is_refused_naming_its_state(
    cli: Cli, running: RunningCollector
) -> None:
    number = open_by_cli(cli)
    assert cli("resolve", number).code == 0
    verifying = cli("verify", number, "-m", "payroll, please confirm")
    assert verifying.code == 0 and verifying.out.split()[:3] == [number, "P2", "verifying"]
    cause = {"cause": "export job lost its schedule", "fix": "rescheduled", "category": "software"}
    cause["actions"] = [{"action": "alert on missed runs", "owner": "bob", "due": "2027-01-15"}]
    recorded = running.session.post(
        f"{running.url}/api/v1/incidents/{number}/root-cause", json=cause, headers=ADMIN_HEADERS
    )
    assert recorded.status_code == 201, recorded.text  # a P2 closes only with a root cause
    assert cli("close", number, "-m", "confirmed by payroll").out.split()[2] == "closed"
    assert timeline_names(running, number) == ["OPEN", "RESOLVE", "VERIFY", "ROOT_CAUSE", "CLOSE"]
    refused = cli("ack", number)
    assert refused.code == 1 and refused.out == ""
    assert f"cannot ack {number}: it is closed; allowed now: note" in refused.err
    assert cli("note", number, "post-mortem on Friday").code == 0


def test_id_and_number_are_both_accepted(cli: Cli, running: RunningCollector) -> None:
    number = open_by_cli(cli)
    incident_id = str(running.get(f"/api/v1/incidents/{number}")["id"])
    by_id, by_number = cli("show", incident_id, "--json"), cli("show", number.lower(), "--json")
    assert json.loads(by_id.out)["number"] == json.loads(by_number.out)["number"] == number
    assigned = cli("assign", incident_id, "bob")
    assert assigned.code == 0 and assigned.out.startswith(number)
    regraded = cli("regrade", number, "P1", "--reason", "all salaries late")
    assert regraded.code == 0 and regraded.out.split()[:2] == [number, "P1"]
    assert "Assignee:     bob" in cli("show", number).out


@pytest.mark.parametrize("command", ["show", "ack", "resolve"])
def test_unknown_number_says_no_incident(cli: Cli, command: str) -> None:
    result = cli(command, "INC-2020-999999")
    assert (result.code, result.out) == (1, "")
    assert result.err == "watchkeeper incidents: no incident INC-2020-999999\n"


def test_acting_without_a_token_says_how_to_give_one(cli: Cli) -> None:
    number = open_by_cli(cli)
    result = cli("ack", number, token=None)
    assert result.code == 1
    assert "needs an API token" in result.err and "WATCHKEEPER_TOKEN_FILE" in result.err
    assert cli("list", token=None).code == 1, "reading needs a token too (issue 7)"
    wrong = cli("ack", number, token="not-a-token")
    assert wrong.code == 1 and "needs an API token" in wrong.err
    assert cli("ack", number, "--token", API_TOKEN, token=None).code == 0


@pytest.mark.parametrize(
    ("argv", "environ", "expected"),
    [
        ([], {}, "http://127.0.0.1:9810"),
        ([], {"WATCHKEEPER_URL": "http://wk:9810"}, "http://wk:9810"),
        (["--url", "http://cli:1"], {"WATCHKEEPER_URL": "http://wk:9810"}, "http://cli:1"),
    ],
    ids=["default", "environment", "flag-wins"],
)
def test_collector_url_from_flag_environment_or_default(
    argv: list[str], environ: dict[str, str], expected: str
) -> None:
    args = parse_arguments([*argv, "list"])
    assert collector_url(args, environ) == expected


def test_token_from_a_file_by_flag_or_environment(cli: Cli, tmp_path: Path) -> None:
    token_file = tmp_path / "api.token"
    token_file.write_text(API_TOKEN + "\n")
    by_flag = cli("open", "Printer on fire", "--token-file", str(token_file), token=None)
    assert by_flag.code == 0 and NUMBER.match(by_flag.out.strip())
    by_env = cli("ack", by_flag.out.strip(), token=None, WATCHKEEPER_TOKEN_FILE=str(token_file))
    assert by_env.code == 0
    missing = cli("list", token=None, WATCHKEEPER_TOKEN_FILE=str(tmp_path / "nope"))
    assert missing.code == 2
    assert f"WATCHKEEPER_TOKEN_FILE: cannot read {tmp_path / 'nope'}" in missing.err


def test_unreachable_collector_names_the_url(cli: Cli) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("list", "--url", url)
    assert result.code == 1
    assert f"cannot reach the collector at {url} (Connection refused)" in result.err


@pytest.mark.parametrize(
    "argv",
    [[], ["frobnicate"], ["regrade", "INC-2026-000001", "P9", "-m", "x"], ["open"]],
    ids=["no-command", "unknown-command", "bad-priority", "open-without-title"],
)
def test_usage_errors_exit_2(cli: Cli, argv: list[str]) -> None:
    result = cli(*argv)
    assert result.code == 2 and "usage: watchkeeper incidents" in result.err


def test_up_prints_how_to_use_the_cli_and_the_cli_works_as_a_real_command(
    tmp_path: Path,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    state = tmp_path / ".watchkeeper"  # the default state folder, in the working directory
    log = tmp_path / "up.log"
    up = subprocess.Popen(
        [WATCHKEEPER, "up", "--listen", f"127.0.0.1:{port}"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        wait_until(lambda: requests.get(f"{url}/-/healthy", timeout=1).ok, 30, "watchkeeper up")
        banner = log.read_text()
        hint = (
            f"Incidents CLI:  WATCHKEEPER_TOKEN_FILE=.watchkeeper/api.token WATCHKEEPER_URL={url} "
        )
        assert hint + "watchkeeper incidents list" in banner
        assert stat.S_IMODE((state / "api.token").stat().st_mode) == 0o600
        bearer = {"Authorization": f"Bearer {(state / 'api.token').read_text().strip()}"}
        wait_until(
            lambda: requests.get(f"{url}/api/v1/hosts", headers=bearer, timeout=2).json() != [],
            30,
            "the demo agent's first report",
        )
        assert "unreachable" not in log.read_text(), "the agent starts once the collector answers"
        env = {
            **os.environ,
            "WATCHKEEPER_TOKEN_FILE": ".watchkeeper/api.token",
            "WATCHKEEPER_URL": url,
        }
        env.pop("WATCHKEEPER_TOKEN", None)

        def run(*argv: str) -> subprocess.CompletedProcess[str]:
            command = [WATCHKEEPER, "incidents", *argv]
            return subprocess.run(
                command,
                check=False,
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=30,
            )

        opened = run("open", "Disk tray 3 clicks", "--priority", "P3")
        assert opened.returncode == 0, opened.stderr
        number = opened.stdout.strip()
        shown = run("show", number)
        assert shown.returncode == 0
        assert re.search(r"OPEN\s+demo-admin\s+opened by a person", shown.stdout)
        refused = run("reopen", number)
        assert refused.returncode == 1
        assert f"cannot reopen {number}: it is triggered" in refused.stderr
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(15)
        except subprocess.TimeoutExpired:
            up.kill()
            up.wait(5)

"""A P1 walks the response process under a test clock, through a real collector, a real SMTP
server, an SMS gateway (an HTTP sink) and a phone (sipp answering through the SIP trunk): T1 is
paged by e-mail and SMS, nobody acknowledges in 5 minutes so T2 is paged by e-mail and a call,
pressing 1 on the call acknowledges, a progress update goes out at the 15-minute mark (an
automatic one, recorded as missed, then the responder's note), SLA warnings and the breach are
recorded, and the timeline shows every step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.config import ApiToken
from collector.incidents_cli import incidents_command
from collector.notify.channels import RecordingChannel
from tests.collector.harness import FakeClock, RunningCollector, wait_for
from tests.peers import require_tool
from tests.peers.http_sink import HttpSink
from tests.peers.sipp import RtpCounter, SippPeer, answering, info_key
from tests.peers.smtp import SmtpServer

RESPONSE = """\
people:
  - id: alice
    name: Alice
    contacts:
      mail: {{kind: email, url: "{mail_alice}"}}
      sms: {{kind: sms, url: "{sms}"}}
    notification_rules:
      - priorities: [P1]
        methods: [mail, sms]
  - id: bob
    name: Bob
    language: zh
    contacts:
      mail: {{kind: email, url: "{mail_bob}"}}
      phone: {{kind: phone, url: "+15550100"}}
schedules:
  - id: primary
    timezone: UTC
    layers:
      - participants: [alice]
        start: 2020-01-01T00:00
        length: weekly
policies:
  - id: ops
    tiers:
      - targets: [{{schedule: primary}}]
        timeout: 5m
      - targets: [{{person: bob}}]
        timeout: 10m
"""


@pytest.fixture
def peers() -> Iterator[tuple[SmtpServer, HttpSink]]:
    with SmtpServer() as smtp, HttpSink() as sink:
        yield smtp, sink


@pytest.fixture
def phone(tmp_path: Path) -> Iterator[SippPeer]:
    """Bob's phone: sipp answers, listens to the message, presses 1 (SIP INFO)."""
    require_tool("espeak-ng", "espeak-ng")
    program = require_tool("sipp", "sip-tester")
    folder = tmp_path / "sipp"
    folder.mkdir()
    with RtpCounter() as ear, SippPeer(program, folder, answering(ear.port, info_key("1"))) as peer:
        yield peer


@pytest.mark.peer
def test_a_p1_walks_the_whole_response_process(
    tmp_path: Path,
    peers: tuple[SmtpServer, HttpSink],
    phone: SippPeer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    smtp, sink = peers
    response = tmp_path / "response.yaml"
    response.write_text(
        RESPONSE.format(
            mail_alice=smtp.url(to="alice@example.test"),
            mail_bob=smtp.url(to="bob@example.test"),
            sms=sink.url("/sms", scheme="json"),
        )
    )
    clock, ops_channel = FakeClock(), RecordingChannel("ops")
    running = RunningCollector(
        tmp_path,
        clock,
        channels=[ops_channel],
        response=response,
        phone_trunk=f"sip://pager@127.0.0.1:{phone.port}?ring_timeout=5&ack_wait=5",
        api_tokens=[ApiToken(name="alice", token="alice-token")],  # type: ignore[arg-type]
    )
    headers = {"Authorization": "Bearer alice-token"}
    try:
        opened = running.session.post(
            f"{running.url}/api/v1/incidents",
            json={"title": "Payments API down", "priority": "P1", "hosts": ["pay1"]},
            headers=headers,
            timeout=5,
        ).json()
        number = opened["number"]
        mails = smtp.wait_for(1)
        assert mails[0].rcpt_tos == ["alice@example.test"] and number in mails[0].subject
        wait_for(lambda: len(sink.requests) == 1)
        sms = sink.requests[0].json()
        assert number in sms["title"], "the SMS carries the ticket"
        assert sms["message"].startswith("[P1] ") and len(sms["message"]) <= 160, "one SMS"

        def at(seconds: float) -> None:
            clock.now = opened_at + seconds
            running.collector.incidents.run_due_timers()

        opened_at = clock.now
        clocks = {c["clock"]: c for c in running.get(f"/api/v1/incidents/{number}")["sla"]}
        assert (clocks["ack"]["state"], clocks["ack"]["seconds_left"]) == ("ok", 300)
        assert clocks["resolve"]["seconds_left"] == 3600
        at(150)  # 50 % of the 5-minute first-response target
        at(240)  # 80 %
        at(300)  # breach, and tier 1's timeout: tier 2 (Bob) is paged
        mails = smtp.wait_for(2)
        assert mails[1].rcpt_tos == ["bob@example.test"]
        assert "已升级" in mails[1].subject, "Bob reads Chinese"
        # Bob's phone rings (sipp): the message is spoken, he presses 1.
        assert phone.finish(30) == 0, phone.log()
        assert "INVITE sip:+15550100@127.0.0.1" in phone.messages()
        wait_for(lambda: running.get(f"/api/v1/incidents/{number}")["state"] == "acknowledged")
        detail = running.get(f"/api/v1/incidents/{number}")
        assert (detail["acknowledged_by"], detail["escalation_tier"]) == ("bob", 2)
        clocks = {c["clock"]: c for c in detail["sla"]}
        assert clocks["ack"]["state"] == "breached", "acknowledged after its 5 minutes"
        assert clocks["resolve"]["state"] == "ok"
        cli = ["--url", running.url, "--token", "alice-token", "show", number]
        assert incidents_command(cli) == 0
        shown = capsys.readouterr().out
        assert "Policy:       ops, tier 2 paged" in shown
        assert "SLA:          first response breached; resolution ok, 55m00s left" in shown
        metrics = running.fetch("/metrics").text
        assert 'watchkeeper_open_incident_sla_clocks{clock="ack",state="breached"} 1.0' in metrics
        at(600)  # 5 minutes before the update and no note: Bob, who acknowledged, is reminded
        reminder = smtp.wait_for(3)[2]
        assert reminder.rcpt_tos == ["bob@example.test"] and "请更新进展" in reminder.subject
        at(900)  # the 15-minute progress update, with nobody's note: automatic, and missed
        wait_for(lambda: [n.event for n in ops_channel.notifications].count("update") == 1)
        at(1200)  # tier 2's timeout would have passed: nothing more happens after the ack
        assert len(smtp.wait_for(2)) == 2
        running.session.post(
            f"{running.url}/api/v1/incidents/{number}/notes",
            json={"text": "failing over to the standby database"},
            headers=headers,
            timeout=5,
        )
        at(1800)  # the next update carries the note
        wait_for(lambda: [n.event for n in ops_channel.notifications].count("update") == 2)
        update = [n for n in ops_channel.notifications if n.event == "update"][-1]
        assert update.body.startswith("failing over to the standby database")
        clock.now = opened_at + 2000
        running.session.post(
            f"{running.url}/api/v1/incidents/{number}/resolve", json={}, headers=headers, timeout=5
        )
        at(2700)  # no update once resolved
        assert [n.event for n in ops_channel.notifications].count("update") == 2
        timeline = running.get(f"/api/v1/incidents/{number}")["timeline"]
        steps = [(e["name"], e["detail"]) for e in timeline if e["kind"] == "transition"]
        names = [name for name, _ in steps]
        # At 300 s tier 1's timeout and the first-response target fall together: the step is
        # taken once (the breach finds tier 2 already paged). Bob's keypad acknowledges, so
        # the channels' 15-minute reminder does not come; the progress update does.
        assert names == [
            "OPEN",
            "SLA_WARNING",
            "SLA_WARNING",
            "ESCALATE",
            "SLA_BREACH",
            "ACK",
            "UPDATE_REMINDER",
            "UPDATE_MISSED",
            "NOTE",
            "SLA_WARNING",  # 50 % of the 1-hour resolution target, at 1800 s
            "UPDATE",
            "RESOLVE",
        ]
        assert ("SLA_WARNING", "first response: 50% of 5m00s used") in steps
        assert any(name == "ESCALATE" and "tier 2" in detail for name, detail in steps)
        assert ("ACK", "pressed 1 on the phone call") in steps
    finally:
        running.stop()

"""E-mail in, against a real dovecot (IMAP over TLS) and a real SMTP server: a mail becomes a
ticket with a number and the sender hears it, a reply in the thread becomes a note, keywords
raise the priority and choose the team, and a mail is never taken twice — not across a
restart, not as a copy."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from collector.intake.mailbox import MailboxError
from collector.intake.service import STALE_CLAIM, MailIntake
from collector.store.intake import claim_message, messages_taken
from tests.collector.conftest import postgres_schema
from tests.collector.harness import FakeClock, RunningCollector, host_report
from tests.collector.harness import wait_for as harness_wait
from tests.collector.intake.conftest import (
    ALICE,
    SUPPORT,
    customer_mail,
    intake_config,
    start_collector,
)
from tests.peers.dovecot import Dovecot
from tests.peers.smtp import ReceivedMail, SmtpServer


def intake_of(running: RunningCollector) -> MailIntake:
    side = running.collector.customer_side
    assert side is not None and side.intake is not None
    return side.intake


def replies_to(smtp: SmtpServer, message_id: str, wait: bool = True) -> list[ReceivedMail]:
    """The intake's replies to one message (the customer notices send others besides)."""
    if wait:
        harness_wait(lambda: any(m.message["In-Reply-To"] == message_id for m in smtp.messages))
    return [m for m in smtp.messages if m.message["In-Reply-To"] == message_id]


def tickets(running: RunningCollector) -> list[dict[str, object]]:
    found: list[dict[str, object]] = running.get("/api/v1/incidents?state=all")
    return found


def test_a_mail_becomes_a_ticket_the_sender_hears_its_number_and_a_reply_becomes_a_note(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    clock = FakeClock()
    running = start_collector(tmp_path, clock, smtp, dovecot)
    try:
        running.post(host_report("acme-web1", clock, 1, memory_used_ratio=0.1))
        first = customer_mail("Website slow", "acme-web1 answers in 10 s since 09:00.")
        first.add_attachment(b"502 at 09:01\n", maintype="text", subtype="plain",
                             filename="error.log")  # fmt: skip
        dovecot.deliver(first.as_bytes())
        assert intake_of(running).poll() == 1
        [ticket] = tickets(running)
        number = str(ticket["number"])
        assert ticket["summary"] == "Website slow"
        assert ticket["reporter"] == "Li Lei <lilei@acme.example.cn>"
        assert ticket["labels"] == {"via": "email", "customer": "acme"}
        assert ticket["priority"] == "P3" and ticket["host"] == "acme-web1"
        assert "acme-web1 answers in 10 s" in str(ticket["description"])
        assert dovecot.unseen() == [], "taken in: marked \\Seen"
        view = running.get(f"/api/v1/incidents/{number}")
        assert view["attachments"] == [
            {"id": 1, "filename": "error.log", "content_type": "text/plain", "size": 13,
             "stored": True},
        ]  # fmt: skip

        [reply] = replies_to(smtp, first["Message-ID"])
        assert reply.rcpt_tos == ["lilei@acme.example.cn"]
        assert reply.message["From"].addresses[0].addr_spec == SUPPORT
        assert reply.subject == f"[{number}] 回复：Website slow", "the contact reads Chinese"
        assert number in reply.text
        assert reply.message["In-Reply-To"] == first["Message-ID"]

        answer = customer_mail(
            "Re: " + reply.subject,
            "Still slow, here is the error: 502 Bad Gateway",
            In_Reply_To=str(reply.message["Message-ID"]),
            References=f"{first['Message-ID']} {reply.message['Message-ID']}",
        )
        by_number = customer_mail(f"About {number}", "It also fails on acme-web2.")
        dovecot.deliver(answer.as_bytes())
        dovecot.deliver(by_number.as_bytes())
        assert intake_of(running).poll() == 2
        assert len(tickets(running)) == 1, "replies are notes, not tickets"
        timeline = running.get(f"/api/v1/incidents/{number}")["timeline"]
        notes = [e["detail"] for e in timeline if e["name"] == "NOTE"]
        assert notes == [
            "Still slow, here is the error: 502 Bad Gateway",
            "It also fails on acme-web2.",
        ]
        assert {e["actor"] for e in timeline if e["name"] == "NOTE"} == {
            "mail:lilei@acme.example.cn"
        }
        for note in (answer, by_number):
            assert replies_to(smtp, note["Message-ID"], wait=False) == [], "a note gets none"
        told = [m for m in smtp.messages if number in m.subject]
        assert told == [reply], "the sender hears its number once: in its own thread"
    finally:
        running.stop()


def test_a_chinese_down_subject_raises_the_priority_and_picks_the_team_over_starttls(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    clock = FakeClock()
    starttls = intake_config(dovecot, port=dovecot.port, security="starttls")
    running = start_collector(tmp_path, clock, smtp, mail_intake=starttls)
    try:
        dovecot.deliver(customer_mail("数据库宕机", "订单系统无法下单").as_bytes())
        dovecot.deliver(
            customer_mail("Download page question", "How do I download the report?").as_bytes()
        )
        assert intake_of(running).poll() == 2
        by_title = {t["summary"]: t for t in tickets(running)}
        down = by_title["数据库宕机"]
        assert down["priority"] == "P2", "raised from the default P3 by 宕机"
        assert down["labels"] == {"via": "email", "team": "ops-db", "customer": "acme"}
        assert "[keywords: 宕机]" in str(down["description"])
        calm = by_title["Download page question"]
        assert calm["priority"] == "P3", "'download' is not the word 'down'"
        assert "team" not in calm["labels"]  # type: ignore[operator]
    finally:
        running.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wk.db'}"
        return
    with postgres_schema() as url:
        yield url


def test_the_same_mail_is_not_taken_twice_across_a_restart_nor_as_a_copy(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, database: str
) -> None:
    clock = FakeClock()
    mail = customer_mail("Backup failed", "The nightly backup of acme-db1 failed.")
    dovecot.deliver(mail.as_bytes())
    running = start_collector(tmp_path, clock, smtp, dovecot, database=database)
    try:
        assert intake_of(running).poll() == 1
        assert len(tickets(running)) == 1
    finally:
        running.stop()
    with dovecot.client() as imap:  # as if the collector died before marking it seen
        imap.uid("STORE", "1", "-FLAGS", "(\\Seen)")
    dovecot.deliver(mail.as_bytes())  # and a copy: a new UID, the same Message-ID
    assert dovecot.unseen() == [1, 2]
    running = start_collector(tmp_path, clock, smtp, dovecot, database=database)
    try:
        assert intake_of(running).poll() == 2
        assert len(tickets(running)) == 1, "neither the old UID nor the copy made a ticket"
        assert dovecot.unseen() == []
        assert len(replies_to(smtp, mail["Message-ID"])) == 1, "the sender heard once"
    finally:
        running.stop()


def test_mail_without_a_sender_is_refused_and_logged_and_html_only_mail_is_read(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    anonymous = customer_mail("Who am I", "no From header")
    del anonymous["From"]
    html = customer_mail("Portal error", "")
    html.set_content("<p>The portal shows <b>error&nbsp;500</b></p><p>since today</p>", "html")
    dovecot.deliver(anonymous.as_bytes())
    dovecot.deliver(html.as_bytes())
    running = start_collector(tmp_path, clock, smtp, dovecot)
    try:
        with caplog.at_level(logging.INFO, logger="collector.intake.service"):
            assert intake_of(running).poll() == 2
        [ticket] = tickets(running)
        assert str(ticket["description"]).startswith("The portal shows error\xa0500")
        assert "HTML only" in str(ticket["description"])
        refused = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("refused: no sender address" in m for m in refused), refused
        assert dovecot.unseen() == [], "the refused mail is marked seen too"
    finally:
        running.stop()


def test_two_collectors_polling_at_once_take_each_mail_once(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, database: str
) -> None:
    clock = FakeClock()
    for n in range(4):
        dovecot.deliver(customer_mail(f"Problem {n}", f"details {n}").as_bytes())
    one = start_collector(tmp_path, clock, smtp, dovecot, database=database)
    two = start_collector(tmp_path, clock, smtp, dovecot, database=database)
    try:
        with ThreadPoolExecutor(2) as pool:
            polls = [pool.submit(intake_of(r).poll) for r in (one, two)]
            assert sum(p.result() for p in polls) >= 4
        assert sorted(str(t["summary"]) for t in tickets(one)) == [f"Problem {n}" for n in range(4)]
        assert dovecot.unseen() == []
    finally:
        one.stop()
        two.stop()


def test_a_claim_left_by_a_collector_that_died_mid_work_is_taken_over_after_a_while(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    clock = FakeClock()
    mail = customer_mail("Mail server slow", "since the upgrade")
    dovecot.deliver(mail.as_bytes())
    running = start_collector(tmp_path, clock, smtp, dovecot)
    try:
        engine = running.collector.repository.engine
        with dovecot.client() as imap:
            validity = int(imap.response("UIDVALIDITY")[1][0] or 0)
        # Another collector claimed it and died before it opened the ticket:
        assert claim_message(engine, "INBOX", validity, 1, mail["Message-ID"], "x", clock())
        assert intake_of(running).poll() == 1
        assert tickets(running) == [], "a recent claim: someone may still be working on it"
        assert dovecot.unseen() == [1], "left unseen until that claim is settled or stale"
        clock.advance(STALE_CLAIM + 1)
        assert intake_of(running).poll() == 1
        assert [t["summary"] for t in tickets(running)] == ["Mail server slow"]
        with engine.connect() as conn:
            assert [m["outcome"] for m in messages_taken(conn)] == ["ticket"]
    finally:
        running.stop()


def test_a_reply_ends_the_wait_on_the_customer(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    running = start_collector(tmp_path, FakeClock(), smtp, dovecot)
    try:
        first = customer_mail("Cannot log in", "since the password change")
        dovecot.deliver(first.as_bytes())
        intake_of(running).poll()
        [ticket] = tickets(running)
        number = str(ticket["number"])
        for verb, body in (("ack", {}), ("wait", {"note": "which user name?"})):
            answer = running.session.post(
                f"{running.url}/api/v1/incidents/{number}/{verb}", json=body, headers=ALICE,
                timeout=5,
            )  # fmt: skip
            assert answer.status_code == 200, answer.text
        assert running.get(f"/api/v1/incidents/{number}")["state"] == "waiting"
        reply = customer_mail(f"Re: [{number}] Cannot log in", "It is lilei2")
        dovecot.deliver(reply.as_bytes())
        intake_of(running).poll()
        after = running.get(f"/api/v1/incidents/{number}")
        assert after["state"] == "acknowledged"
        [resume] = [e for e in after["timeline"] if e["name"] == "RESUME"]
        assert resume["detail"] == "the customer answered: It is lilei2"
    finally:
        running.stop()


def test_a_message_over_the_size_limit_is_not_read_but_refused_and_marked_seen(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    small = intake_config(dovecot, max_message_bytes=4000)
    running = start_collector(tmp_path, FakeClock(), smtp, mail_intake=small)
    try:
        dovecot.deliver(customer_mail("Huge", "x" * 10_000).as_bytes())
        with caplog.at_level(logging.WARNING, logger="collector.intake.service"):
            assert intake_of(running).poll() == 1
        assert tickets(running) == []
        [warning] = [r.getMessage() for r in caplog.records]
        assert "refused" in warning and "over max_message_bytes 4000" in warning
        assert dovecot.unseen() == []
    finally:
        running.stop()


def test_a_wrong_password_or_an_untrusted_server_is_a_clear_error_without_the_password(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-password-42\n")
    running = start_collector(
        tmp_path, FakeClock(), smtp, mail_intake=intake_config(dovecot, password_file=wrong)
    )
    try:
        with pytest.raises(MailboxError) as refused:
            intake_of(running).poll()
        text = str(refused.value)
        assert text.startswith(f"IMAP 127.0.0.1:{dovecot.tls_port} (ssl): cannot log in as support")
        assert "not-the-password-42" not in text
    finally:
        running.stop()
    untrusted = intake_config(dovecot, ca_file=None)
    running = start_collector(tmp_path, FakeClock(), smtp, mail_intake=untrusted)
    try:
        with pytest.raises(MailboxError, match="CERTIFICATE_VERIFY_FAILED"):
            intake_of(running).poll()
    finally:
        running.stop()

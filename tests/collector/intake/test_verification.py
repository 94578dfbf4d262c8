"""Verification and satisfaction: a resolved incident of a customer asks its contact, with two
signed links, whether the service is back; the answer by link or by reply closes or reopens
it under the same number with the rating stored, and silence through the quiet period
verifies it by timeout. Forged and expired links change nothing."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from collector.intake.settings import VerificationConfig
from collector.reports.period import Month
from collector.reports.sla import SlaOptions, build_sla_report
from collector.reports.tables import report_tables
from collector.verification.links import LinkClaim, LinkError, LinkSigner
from tests.collector.harness import FakeClock, RunningCollector, wait_for
from tests.collector.intake.conftest import (
    ALICE,
    SECRET,
    customer_mail,
    start_collector,
)
from tests.peers.dovecot import Dovecot
from tests.peers.smtp import ReceivedMail, SmtpServer

HOUR = 3600.0
LINK = re.compile(r"https://wk\.example\.test(/verify/[A-Za-z0-9_\-.]+)")


def verification(tmp_path: Path, **changes: Any) -> VerificationConfig:
    secret = tmp_path / "link-secret"
    secret.write_text(SECRET)
    fields: dict[str, Any] = {"secret_file": secret, "public_url": "https://wk.example.test"}
    return VerificationConfig(**{**fields, **changes})


def act(running: RunningCollector, number: str, verb: str, **body: str) -> dict[str, Any]:
    answer = running.session.post(
        f"{running.url}/api/v1/incidents/{number}/{verb}", json=body, headers=ALICE, timeout=5
    )
    assert answer.status_code in (200, 201), answer.text
    found: dict[str, Any] = answer.json()
    return found


def resolved_ticket(running: RunningCollector) -> str:
    """A P3 on acme-web1 (the customer acme's), opened and resolved by a responder."""
    answer = running.session.post(
        f"{running.url}/api/v1/incidents",
        json={"title": "Shop pages time out", "hosts": ["acme-web1"]},
        headers=ALICE,
        timeout=5,
    )
    assert answer.status_code == 201, answer.text
    number = str(answer.json()["number"])
    act(running, number, "resolve", note="restarted the pool")
    return number


def request_to(smtp: SmtpServer, number: str, address: str) -> ReceivedMail:
    """The verification request (the one mail to `address` with links about `number`)."""

    def found() -> list[ReceivedMail]:
        return [
            m for m in smtp.messages
            if address in m.rcpt_tos and number in m.subject and LINK.search(m.text)
        ]  # fmt: skip

    wait_for(lambda: len(found()) == 1)
    return found()[0]


def links_of(mail: ReceivedMail) -> tuple[str, str]:
    """(service is back, still broken) paths, in the order the mail lists them."""
    fixed, broken = LINK.findall(mail.text)
    return fixed, broken


def detail(running: RunningCollector, number: str) -> dict[str, Any]:
    found: dict[str, Any] = running.get(f"/api/v1/incidents/{number}")
    return found


def test_service_is_back_by_link_closes_the_ticket_and_stores_the_rating(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    running = start_collector(tmp_path, FakeClock(), smtp)
    try:
        number = resolved_ticket(running)
        assert detail(running, number)["state"] == "verifying"
        documented = running.get("/api/v1/openapi.json")["paths"]["/verify/{token}"]
        assert documented["get"]["security"] == [] and "signed" in documented["post"]["description"]
        fixed, _ = links_of(request_to(smtp, number, "lilei@acme.example.cn"))
        page = requests.get(running.url + fixed, timeout=5)
        assert page.status_code == 200 and 'method="post"' in page.text
        assert detail(running, number)["state"] == "verifying", "GET (a mail scanner) acts not"
        answer = requests.post(
            running.url + fixed, data={"rating": "4", "comment": "Fast, thanks"}, timeout=5
        )
        assert answer.status_code == 200 and "Thank you" in answer.text
        done = detail(running, number)
        assert done["state"] == "closed"
        assert done["satisfaction"] == {
            "verdict": "fixed",
            "via": "link",
            "rating": 4,
            "comment": "Fast, thanks",
            "at": done["satisfaction"]["at"],
        }
        closing = [e for e in done["timeline"] if e["name"] == "CLOSE"]
        assert closing[0]["actor"] == "customer:lilei@acme.example.cn"
        again = requests.post(running.url + fixed, data={"rating": "1"}, timeout=5)
        assert again.status_code == 409, "answered once"
        assert detail(running, number)["satisfaction"]["rating"] == 4
        month = dt.datetime.fromtimestamp(running.clock(), dt.UTC).strftime("%Y-%m")
        report = build_sla_report(
            running.collector.repository.engine, SlaOptions(Month.parse(month)), running.clock()
        )
        [table] = [t for t in report_tables(report) if t.name == "satisfaction"]
        assert table.rows == [["fixed", "1"], ["rating 4", "1"], ["mean rating", "4.00"]]
    finally:
        running.stop()


def test_still_broken_by_link_reopens_the_same_number(tmp_path: Path, smtp: SmtpServer) -> None:
    running = start_collector(tmp_path, FakeClock(), smtp)
    try:
        number = resolved_ticket(running)
        _, broken = links_of(request_to(smtp, number, "lilei@acme.example.cn"))
        answer = requests.post(running.url + broken, data={"comment": "still 504"}, timeout=5)
        assert answer.status_code == 200
        again = detail(running, number)
        assert again["number"] == number and again["state"] == "triggered"
        assert again["reopen_count"] == 1
        [reopen] = [e for e in again["timeline"] if e["name"] == "REOPEN"]
        assert reopen["detail"] == "the customer says it is still broken (still 504)"
        assert again["satisfaction"]["verdict"] == "broken"
    finally:
        running.stop()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_or_expired_link_is_refused_and_changes_nothing(
    tmp_path: Path, smtp: SmtpServer, method: str
) -> None:
    clock = FakeClock()
    short = verification(tmp_path, link_lifetime=HOUR, quiet_period=72 * HOUR)
    running = start_collector(tmp_path, clock, smtp, verification=short)
    try:
        number = resolved_ticket(running)
        fixed, broken = links_of(request_to(smtp, number, "lilei@acme.example.cn"))
        payload, _, signature = fixed.partition(".")
        tampered = broken.partition(".")[0] + "." + signature  # "broken" under fixed's MAC
        other = LinkSigner(b"x" * 40).sign(LinkClaim(1, number, "fixed", clock() + HOUR, "a@b"))
        for path in (tampered, f"/verify/{other}", payload + ".AAAA", "/verify/garbage"):
            answer = requests.request(method, running.url + path, timeout=5)
            assert answer.status_code == 403 and "Invalid link" in answer.text, path
        clock.advance(2 * HOUR)
        expired = requests.request(method, running.url + fixed, timeout=5)
        assert expired.status_code == 403 and "expired" in expired.text
        after = detail(running, number)
        assert after["state"] == "verifying" and after["satisfaction"]["verdict"] == "pending"
    finally:
        running.stop()


def test_no_answer_within_the_quiet_period_verifies_by_timeout(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    clock = FakeClock()
    running = start_collector(tmp_path, clock, smtp)
    try:
        number = resolved_ticket(running)
        request_to(smtp, number, "lilei@acme.example.cn")
        clock.advance(23 * HOUR)
        running.collector.incidents.run_due_timers()
        assert detail(running, number)["state"] == "verifying", "24 h by default"
        clock.advance(HOUR + 1)
        running.collector.incidents.run_due_timers()
        done = detail(running, number)
        assert done["state"] == "closed"
        [closing] = [e for e in done["timeline"] if e["name"] == "CLOSE"]
        assert closing["actor"] == "system"
        assert closing["detail"] == "no answer within the verification time"
        assert done["satisfaction"]["verdict"] == "timeout"
        assert done["satisfaction"]["via"] == "timer"
        assert done["satisfaction"]["rating"] is None
    finally:
        running.stop()


def test_the_customer_answers_by_replying_to_the_mail(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    running = start_collector(tmp_path, FakeClock(), smtp, dovecot)
    intake = running.collector.customer_side.intake  # type: ignore[union-attr]
    assert intake is not None
    try:
        dovecot.deliver(customer_mail("VPN 连接失败", "从早上开始连不上").as_bytes())
        intake.poll()
        [ticket] = running.get("/api/v1/incidents?state=all")
        number = ticket["number"]
        act(running, number, "resolve", note="renewed the certificate")
        request = request_to(smtp, number, "lilei@acme.example.cn")
        broken = customer_mail(
            "Re: " + request.subject,
            "仍然无法访问\n\n> 服务是否已恢复？",
            In_Reply_To=str(request.message["Message-ID"]),
        )
        dovecot.deliver(broken.as_bytes())
        intake.poll()
        reopened = detail(running, number)
        assert reopened["state"] == "triggered", "仍然 reopens"
        [reopen] = [e for e in reopened["timeline"] if e["name"] == "REOPEN"]
        assert reopen["detail"] == "the customer says it is still broken (仍然无法访问)"
        act(running, number, "resolve", note="replaced the VPN gateway")
        wait_for(lambda: len([m for m in smtp.messages if LINK.search(m.text)]) == 2)
        fine = customer_mail(f"Re: [{number}]", "Works now. Rating: 5")
        dovecot.deliver(fine.as_bytes())
        intake.poll()
        done = detail(running, number)
        assert done["state"] == "closed"
        assert done["satisfaction"]["rating"] == 5 and done["satisfaction"]["via"] == "reply"
    finally:
        running.stop()


def test_a_link_signature_binds_every_field() -> None:
    signer = LinkSigner(SECRET.encode())
    claim = LinkClaim(7, "INC-2027-000007", "fixed", 2_000_000_000.0, "lilei@acme.example.cn")
    token = signer.sign(claim)
    assert signer.check(token, 1_999_999_999.0) == claim
    with pytest.raises(LinkError, match="expired") as expired:
        signer.check(token, 2_000_000_001.0)
    assert expired.value.expired
    with pytest.raises(LinkError, match="does not match"):
        signer.check(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], 0.0)
    with pytest.raises(ValueError, match="at least 32"):
        LinkSigner(b"short")


def test_a_reporter_by_mail_who_is_no_contact_is_asked_in_a_mail_of_its_own(
    tmp_path: Path, dovecot: Dovecot, smtp: SmtpServer
) -> None:
    running = start_collector(tmp_path, FakeClock(), smtp, dovecot)
    intake = running.collector.customer_side.intake  # type: ignore[union-attr]
    assert intake is not None
    try:
        dovecot.deliver(
            customer_mail("Printer offline", "3rd floor", "bob@elsewhere.test").as_bytes()
        )
        away = customer_mail("Out of office", "back Monday", "carol@elsewhere.test",
                             Auto_Submitted="auto-replied")  # fmt: skip
        dovecot.deliver(away.as_bytes())
        intake.poll()
        by_title = {t["summary"]: t["number"] for t in running.get("/api/v1/incidents")}
        number = by_title["Printer offline"]
        act(running, number, "resolve", note="replaced the toner")
        request = request_to(smtp, number, "bob@elsewhere.test")
        assert request.subject.startswith(f"[{number}] Is the service working again?")
        fixed, _ = links_of(request)
        assert requests.post(running.url + fixed, data={"rating": "3"}, timeout=5).ok
        assert detail(running, number)["satisfaction"]["rating"] == 3
        assert not [m for m in smtp.messages if "carol@elsewhere.test" in m.rcpt_tos]
    finally:
        running.stop()


def test_a_p2_confirmed_by_the_customer_waits_for_its_root_cause_to_close(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    running = start_collector(tmp_path, FakeClock(), smtp)
    try:
        answer = running.session.post(
            f"{running.url}/api/v1/incidents",
            json={"title": "Payments down", "priority": "P2", "hosts": ["acme-db1"]},
            headers=ALICE,
            timeout=5,
        )
        number = answer.json()["number"]
        act(running, number, "resolve", note="failed over")
        fixed, _ = links_of(request_to(smtp, number, "lilei@acme.example.cn"))
        assert requests.post(running.url + fixed, data={"rating": "5"}, timeout=5).ok
        after = detail(running, number)
        assert after["state"] == "verifying", "a P2 closes only with its root cause"
        notes = [e["detail"] for e in after["timeline"] if e["name"] == "NOTE"]
        assert notes == ["the customer confirmed the service is back"]
        assert after["satisfaction"]["verdict"] == "fixed"
    finally:
        running.stop()

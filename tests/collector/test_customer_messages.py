"""Customers hear about their incidents in plain words and their language: the ticket number
at opening, progress updates, the resolution and the verification request, over real SMTP,
once per (incident, event, contact), and as one SMS to a contact with only a phone; VIP shown on
every message; the engineer's text never; a contact nothing can reach is named at start."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import ValidationError

from collector.config import ApiToken, CollectorConfig
from collector.incidents.customers import CustomerBook
from collector.incidents.model import Incident, IncidentState, Source
from collector.notify.channels import RecordingChannel
from collector.notify.customer_message import compose_customer_message
from collector.notify.customer_notices import CustomerNotices
from rules.loader import load_rules
from rules.priority import Priority
from tests.collector.harness import FakeClock, RunningCollector, host_report, wait_for
from tests.peers.http_sink import HttpSink
from tests.peers.smtp import SmtpServer

ALICE = {"Authorization": "Bearer alice-token"}
CUSTOMERS = """\
customers:
  - name: acme
    vip: true
    contacts:
      - {name: 李雷, email: lilei@acme.example.cn, language: zh}
      - {name: Night phone, phone: "+86 138 0000 0000"}
    hosts: ["acme-*"]
"""
ENGINEER = "I/O saturation on sda"
DESCRIPTION = "await above 200 ms: check the RAID controller cache"
RULES = f"""\
group: mine
rules:
  - name: DiskSlow
    description: "{DESCRIPTION}"
    priority: P3
    metric: disk_busy_ratio
    above: 0.9
    summary: "{ENGINEER}"
    customer_text:
      en: "The disk of {{{{ host }}}} can't keep up with reads and writes, so pages load slowly."
      zh: "服务器 {{{{ host }}}} 的磁盘读写跟不上，页面可能加载缓慢。"
  - name: DiskOdd
    priority: P3
    metric: disk_odd_ratio
    above: 0.9
    summary: "{ENGINEER} (odd)"
"""


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def ops() -> RecordingChannel:
    return RecordingChannel("ops")


@pytest.fixture
def running(tmp_path: Path, smtp: SmtpServer, ops: RecordingChannel) -> Iterator[RunningCollector]:
    (tmp_path / "customers.yaml").write_text(CUSTOMERS)
    (tmp_path / "rules.yaml").write_text(RULES)
    collector = RunningCollector(
        tmp_path,
        FakeClock(),
        channels=[ops],
        rules=load_rules([tmp_path / "rules.yaml"], include_builtin=False),
        api_tokens=[ApiToken(name="alice", token="alice-token")],  # type: ignore[arg-type]
        customers=tmp_path / "customers.yaml",
        customer_mail=smtp.url(to="nobody@example.test", sender="support@example.test"),
    )
    yield collector
    collector.stop()


def act(running: RunningCollector, number: str, action: str) -> None:
    url = f"{running.url}/api/v1/incidents/{number}/{action}"
    answer = running.session.post(url, json={"note": "done"}, headers=ALICE, timeout=5)
    assert answer.status_code == 200, answer.text


def test_a_vip_p3_opens_as_p2_and_its_contact_hears_in_chinese_plain_words(
    running: RunningCollector, smtp: SmtpServer
) -> None:
    running.post(host_report("acme-db1", running.clock, 1, disk_busy_ratio=0.97))
    running.tick()
    (incident,) = running.get("/api/v1/incidents")
    number = incident["number"]
    assert incident["priority"] == "P2", "a VIP's P3 condition opens one level higher"
    (opened,) = smtp.wait_for(1)
    assert opened.rcpt_tos == ["lilei@acme.example.cn"], "the phone-only contact gets no mail"
    assert opened.subject == f"[VIP] {number} 我们正在处理一个影响您服务的问题"
    assert "服务器 acme-db1 的磁盘读写跟不上，页面可能加载缓慢。" in opened.text
    assert f"您的工单号是 {number}" in opened.text and "您是 VIP 客户" in opened.text
    act(running, number, "resolve")
    act(running, number, "verify")
    mails = smtp.wait_for(3)
    assert [m.subject for m in mails[1:]] == [
        f"[VIP] {number} 影响您服务的问题已解决",
        f"[VIP] {number} 请确认您的服务已恢复正常",
    ]
    for mail in mails:
        assert ENGINEER not in mail.text and DESCRIPTION not in mail.text
        assert "DiskSlow" not in mail.text and "disk_busy_ratio" not in mail.text
    assert len(smtp.messages) == 3, "each (incident, event, contact) once"


def test_responders_see_vip_and_the_engineer_text_on_their_messages(
    running: RunningCollector, smtp: SmtpServer, ops: RecordingChannel
) -> None:
    running.post(host_report("acme-db1", running.clock, 1, disk_busy_ratio=0.97))
    running.tick()
    smtp.wait_for(1)
    wait_for(lambda: ops.notifications)
    (note,) = ops.notifications
    assert "[VIP]" in note.title and ENGINEER in note.title
    assert "VIP customer: acme" in note.body


def test_a_rule_without_customer_text_falls_back_to_a_generic_sentence(
    running: RunningCollector, smtp: SmtpServer
) -> None:
    running.post(host_report("acme-web1", running.clock, 1, disk_odd_ratio=0.97))
    running.tick()
    (mail,) = smtp.wait_for(1)
    assert "我们发现了一个可能影响您服务的问题，正在处理。" in mail.text
    assert ENGINEER not in mail.text and ENGINEER not in mail.subject


def incident(**changes: object) -> Incident:
    base = Incident(
        source=Source.RULE,
        priority=Priority.P2,
        state=IncidentState.ACKNOWLEDGED,
        summary=ENGINEER,
        opened_at=1000.0,
        updated_at=1000.0,
        rule="DiskSlow",
        host="acme-db1",
        hosts=("acme-db1",),
        description=DESCRIPTION,
        annotations={"customer": "acme", "vip": "no"},
        id=7,
        number="INC-2027-000007",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_each_progress_update_is_its_own_message_and_a_repeat_is_the_same_key() -> None:
    book = CustomerBook.model_validate(
        {"customers": [{"name": "acme", "hosts": ["acme-*"], "contacts": [
            {"name": "Ops", "email": "ops@acme.example.com"}]}]}
    )  # fmt: skip
    notices = CustomerNotices(book)
    first = notices.rows(incident(last_update_at=2800.0), "update", "disk swapped", 2800.0)
    again = notices.rows(incident(last_update_at=2800.0), "update", "disk swapped", 2801.0)
    later = notices.rows(incident(last_update_at=4600.0), "update", "", 4600.0)
    assert first[0]["idempotency_key"] == again[0]["idempotency_key"]
    assert first[0]["idempotency_key"] != later[0]["idempotency_key"]
    assert "Latest from our team: disk swapped" in first[0]["payload"]["body"]
    assert "We are still working on it (for 1h" in later[0]["payload"]["body"]
    assert notices.rows(incident(), "escalated", "", 2000.0) == [], "responders' business"
    assert "VIP" not in first[0]["payload"]["body"]


def test_a_verification_request_carries_the_lines_its_links_provider_gives() -> None:
    book = CustomerBook.model_validate(
        {"customers": [{"name": "acme", "contacts": [{"name": "Ops", "email": "o@a.example"}]}]}
    )
    notices = CustomerNotices(book, lambda incident, contact: f"https://x/v/{incident.id}")
    (row,) = notices.rows(incident(), "verification", "", 2000.0)
    assert "https://x/v/7" in row["payload"]["body"]
    english = compose_customer_message(incident(), "resolved", "Ops", "en", 4600.0)
    assert english.title == "INC-2027-000007 The problem affecting your service has been fixed"
    assert "It was fixed after 1h" in english.body


def test_each_eta_change_is_its_own_message_in_the_contacts_language() -> None:
    book = CustomerBook.model_validate(
        {"customers": [{"name": "acme", "contacts": [
            {"name": "李雷", "email": "l@a.example", "language": "zh"}]}]}
    )  # fmt: skip
    notices = CustomerNotices(book)
    eta = 1_800_003_600.0  # 2027-01-15 09:00 UTC
    (set_,) = notices.rows(incident(eta_at=eta, updated_at=2000.0), "eta", "等待新硬盘", 2000.0)
    assert set_["payload"]["title"] == "INC-2027-000007 您的工单预计解决时间"
    assert "我们预计在 2027-01-15 09:00 UTC 前解决。" in set_["payload"]["body"]
    assert "原因：等待新硬盘" in set_["payload"]["body"]
    (moved,) = notices.rows(incident(eta_at=eta + 3600, updated_at=2500.0), "eta", "", 2500.0)
    assert moved["idempotency_key"] != set_["idempotency_key"], "each change is told"
    (cleared,) = notices.rows(incident(eta_at=None, updated_at=3000.0), "eta", "", 3000.0)
    assert "我们无法按之前告知的时间解决" in cleared["payload"]["body"]
    assert ENGINEER not in set_["payload"]["body"]


def test_a_ticket_a_person_opens_tells_the_customer_its_number_in_plain_words(
    running: RunningCollector, smtp: SmtpServer
) -> None:
    body = {
        "title": "nginx 502 after deploy of build 4411",
        "priority": "P3",
        "hosts": ["acme-web1"],
    }
    answer = running.session.post(
        f"{running.url}/api/v1/incidents", json=body, headers=ALICE, timeout=5
    ).json()
    (mail,) = smtp.wait_for(1)
    assert mail.subject == f"[VIP] {answer['number']} 我们正在处理一个影响您服务的问题"
    assert f"您的工单号是 {answer['number']}" in mail.text
    assert "nginx" not in mail.text and "4411" not in mail.text, "the responder's title stays ours"


def test_a_contact_with_only_a_phone_gets_each_message_as_one_sms(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    (tmp_path / "customers.yaml").write_text(CUSTOMERS)
    (tmp_path / "rules.yaml").write_text(RULES)
    with HttpSink() as sink:
        collector = RunningCollector(
            tmp_path,
            FakeClock(),
            channels=[],
            rules=load_rules([tmp_path / "rules.yaml"], include_builtin=False),
            customers=tmp_path / "customers.yaml",
            customer_mail=smtp.url(to="nobody@example.test", sender="support@example.test"),
            customer_sms=sink.url("/sms/{phone}", scheme="json"),
        )
        try:
            collector.post(host_report("acme-db1", collector.clock, 1, disk_busy_ratio=0.97))
            collector.tick()
            (incident,) = collector.get("/api/v1/incidents")
            (sms,) = sink.wait_for(1)
            assert sms.path == "/sms/+8613800000000", "the number as gateways take it"
            text = sms.json()["message"]
            assert text.startswith(f"[VIP] {incident['number']}") and len(text) <= 160
            assert ENGINEER not in text, "the engineer's words never reach the customer"
            (mail,) = smtp.wait_for(1)
            assert mail.rcpt_tos == ["lilei@acme.example.cn"], "an address still gets mail"
        finally:
            collector.stop()


def test_a_contact_nothing_can_reach_is_named_at_start(
    running: RunningCollector, caplog: pytest.LogCaptureFixture
) -> None:
    # The fixture's collector has customer_mail only: the phone-only contact hears nothing.
    started = caplog.get_records("setup")
    warnings = [r.getMessage() for r in started if r.levelname == "WARNING"]
    assert any("'Night phone' hears nothing" in w and "customer_sms" in w for w in warnings)


def test_customer_sms_needs_a_place_for_the_number(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"customer_sms: the URL needs \{phone\}"):
        CollectorConfig(customer_sms="twilio://SID:TOKEN@+15550001111/+8613800000000")  # type: ignore[arg-type]

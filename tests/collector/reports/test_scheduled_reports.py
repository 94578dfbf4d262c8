"""Scheduled reports: when a schedule is due and which period it reports on (the customer's
time zone), and a real collector mailing the PDF to a real SMTP inbox through the outbox,
once per period across a restart."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from collector.incidents.customers import CustomerBook
from collector.notify.attachments import decode_attachments
from collector.notify.channels import RecordingChannel
from collector.reports.mailer import ScheduleError, check_schedules
from collector.reports.period import Month, Quarter
from collector.reports.schedule import ReportSchedule, ReportSchedules
from tests.collector.harness import FakeClock, RunningCollector
from tests.collector.reports.test_cli import poppler
from tests.peers.smtp import SmtpServer

CUSTOMERS = """\
customers:
  - name: acme
    sla: {availability: 99.5}
    contacts:
      - {name: Li Lei, email: lilei@acme.example.cn, language: zh}
      - {name: Ops desk, email: ops@acme.example.com}
    hosts: ["acme-*"]
"""
SCHEDULES = """\
schedules:
  - name: acme-monthly
    report: sla
    customer: acme
    cron: "0 9 1 * *"
    timezone: Asia/Shanghai
    language: zh
    recipients: [lilei@acme.example.cn]
"""
# 1 November 2026, 09:00 in Shanghai is 01:00 UTC
NINE_AM_SHANGHAI = dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.UTC).timestamp()


def schedule(**changes: object) -> ReportSchedule:
    fields: dict[str, object] = {"name": "s", "report": "sla", "customer": "acme",
                                 "timezone": "Asia/Shanghai"}  # fmt: skip
    return ReportSchedule.model_validate({**fields, **changes})


def test_a_run_reports_on_the_period_before_it_in_the_customers_time_zone() -> None:
    monthly = schedule()
    assert monthly.last_run(NINE_AM_SHANGHAI - 1) is None  # 08:59:59: October's run is long gone
    assert monthly.last_run(NINE_AM_SHANGHAI) == NINE_AM_SHANGHAI
    assert monthly.period(NINE_AM_SHANGHAI) == Month(2026, 10, "Asia/Shanghai")
    assert monthly.last_run(NINE_AM_SHANGHAI + 25 * 3600) is None  # past the catch-up day
    quarterly = schedule(report="health", cron="0 9 1 1,4,7,10 *")
    october = NINE_AM_SHANGHAI - 31 * 86400
    assert quarterly.last_run(october + 60) == october
    assert quarterly.period(october) == Quarter(2026, 3, "Asia/Shanghai")


def test_a_schedule_naming_an_unknown_recipient_is_refused() -> None:
    book = CustomerBook.model_validate(
        {"customers": [{"name": "acme", "contacts": [{"name": "x", "email": "x@acme.test"}]}]}
    )
    wrong = ReportSchedules(schedules=[schedule(recipients=["boss@acme.test"])])
    with pytest.raises(ScheduleError, match=r"boss@acme\.test is not an e-mail of acme.s"):
        check_schedules(wrong, book)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def collector(tmp_path: Path, clock: FakeClock, smtp: SmtpServer) -> RunningCollector:
    (tmp_path / "customers.yaml").write_text(CUSTOMERS)
    (tmp_path / "reports.yaml").write_text(SCHEDULES)
    return RunningCollector(
        tmp_path,
        clock,
        channels=[RecordingChannel("ops")],
        customers=tmp_path / "customers.yaml",
        customer_mail=smtp.url(to="nobody@example.test", sender="noc@example.test"),
        reports=tmp_path / "reports.yaml",
    )


def mail_reports(running: RunningCollector) -> int:
    mailer = running.collector.report_mailer
    assert mailer is not None
    return mailer.run()


def test_the_monthly_pdf_reaches_the_inbox_once_across_a_restart(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    clock = FakeClock(NINE_AM_SHANGHAI - 60)
    running = collector(tmp_path, clock, smtp)
    try:
        assert mail_reports(running) == 0, "not yet 09:00 in Shanghai"
        clock.now = NINE_AM_SHANGHAI + 30
        assert mail_reports(running) == 1, "one message, to the one recipient named"
        assert mail_reports(running) == 0, "mailed once"
        [mail] = smtp.wait_for(1)
    finally:
        running.stop()
    running = collector(tmp_path, clock, smtp)
    try:
        clock.now += 60
        assert mail_reports(running) == 0, "a restart does not mail it again"
    finally:
        running.stop()
    assert mail.rcpt_tos == ["lilei@acme.example.cn"]
    assert mail.subject == "月度服务水平报告 2026-10 — acme"
    [pdf] = list(mail.message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_filename() == "sla-acme-2026-10.pdf"
    data = pdf.get_content()
    assert data.startswith(b"%PDF-")
    saved = tmp_path / "mailed.pdf"
    saved.write_bytes(data)
    text = subprocess.run(
        [poppler("pdftotext"), str(saved), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "月度服务水平报告" in text and "Asia/Shanghai" in text


def test_a_quarterly_health_schedule_puts_the_customers_health_pdf_in_the_outbox(
    engine: sa.Engine,
) -> None:
    from collector.reports.mailer import ReportMailer
    from collector.store.schema import outbox
    from tests.collector.reports.health_scenario import INVENTORY, write_quarter

    write_quarter(engine)
    book = CustomerBook.model_validate(
        {"customers": [{"name": "globex", "contacts": [{"name": "Ann", "email": "ann@globex.test"}],
                        "hosts": []}]}
    )  # fmt: skip
    quarterly = schedule(name="globex-q", report="health", customer="globex",
                         cron="0 9 2 1,4,7,10 *")  # fmt: skip
    run_at = dt.datetime(2026, 10, 2, 1, 0, tzinfo=dt.UTC).timestamp()  # 09:00 in Shanghai
    clock = FakeClock(run_at + 5)
    mailer = ReportMailer(engine, ReportSchedules(schedules=[quarterly]), book, lambda: INVENTORY,
                          clock)  # fmt: skip
    assert mailer.run() == 1 and mailer.run() == 0
    with engine.connect() as conn:
        [row] = conn.execute(sa.select(outbox.c.channel, outbox.c.payload)).all()
    assert row.channel == "customer://globex/ann@globex.test"
    [attached] = decode_attachments(row.payload)
    assert attached.filename == "health-globex-2026-Q3.pdf"
    assert attached.data.startswith(b"%PDF-")
    assert row.payload["title"] == "Quarterly health check 2026-Q3 — globex"

"""Maintenance windows tell a customer's contacts before each occurrence and when it ends:
through the outbox, once per occurrence and phase (a restart repeats nothing), in each
contact's language, over real SMTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from collector.config import ApiToken
from collector.noise.notice_text import notice_text
from collector.noise.notices import END, DueNotice, Occurrence, before_phase, due_notices
from collector.noise.silences import NoticePlan, Recurrence, Silence
from collector.notify.channels import RecordingChannel
from collector.silences_cli import silence_command
from collector.store.notices import already_told, record_told
from collector.store.silences import SilenceStore
from tests.collector.harness import FakeClock, RunningCollector, host_report
from tests.peers.smtp import SmtpServer

HOUR, DAY = 3600.0, 86400.0
ALICE = {"Authorization": "Bearer alice-token"}
CUSTOMERS = """\
customers:
  - name: acme
    contacts:
      - {name: Li Lei, email: lilei@acme.example.cn, language: zh}
      - {name: Ops desk, email: ops@acme.example.com, language: en}
      - {name: Night phone, phone: "+86 138 0000 0000"}
    hosts: ["acme-*"]
"""


def utc(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> float:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC).timestamp()


CREATED = utc(2027, 1, 15, 8)  # a Friday; the harness clock starts here
SUNDAY_2AM_SHANGHAI = utc(2027, 1, 16, 18)  # Sunday 02:00 in Shanghai (UTC+8)


def weekly(leads: tuple[float, ...] = (DAY, HOUR), **changes: Any) -> Silence:
    fields: dict[str, Any] = {
        "matchers": {"host": "~acme-.*"},
        "starts_at": CREATED,
        "ends_at": None,
        "author": "alice",
        "reason": "kernel update",
        "kind": "maintenance",
        "recurrence": Recurrence("0 2 * * SUN", 2 * HOUR, "Asia/Shanghai"),
        "id": 7,
        "customer": "acme",
        "notices": NoticePlan(leads, True, "Asia/Shanghai"),
    }
    return Silence(**{**fields, **changes})


@pytest.mark.parametrize(
    ("now", "phases"),
    [
        (CREATED, []),
        (SUNDAY_2AM_SHANGHAI - DAY + 1, [before_phase(DAY)]),
        (SUNDAY_2AM_SHANGHAI - HOUR / 2, [before_phase(HOUR)]),  # the shortest lead due
        (SUNDAY_2AM_SHANGHAI + HOUR, []),  # inside the window
        (SUNDAY_2AM_SHANGHAI + 2 * HOUR + 5, [END]),
        (SUNDAY_2AM_SHANGHAI + 9 * HOUR, []),  # too late for the end notice
        (SUNDAY_2AM_SHANGHAI + 7 * DAY - HOUR / 2, [before_phase(HOUR)]),  # next week's
    ],
    ids=["made", "24h-before", "1h-before", "during", "ended", "long-after", "next-week"],
)
def test_notices_due_for_a_weekly_window(now: float, phases: list[str]) -> None:
    due = due_notices(weekly(), now)
    assert [n.phase for n in due] == phases
    for notice in due:
        assert notice.occurrence.end - notice.occurrence.start == 2 * HOUR


def test_a_window_made_at_short_notice_sends_one_before_notice_and_an_expired_one_none() -> None:
    soon = weekly(starts_at=SUNDAY_2AM_SHANGHAI - 1800)  # planned 30 minutes ahead
    assert [n.phase for n in due_notices(soon, SUNDAY_2AM_SHANGHAI - 1700)] == ["before:3600"]
    cancelled = weekly(expired_at=SUNDAY_2AM_SHANGHAI - 2 * HOUR)
    assert due_notices(cancelled, SUNDAY_2AM_SHANGHAI - HOUR) == []
    one_off = weekly(recurrence=None, starts_at=CREATED + HOUR, ends_at=CREATED + 4 * HOUR)
    assert [n.phase for n in due_notices(one_off, CREATED)] == ["before:3600"]
    assert [n.phase for n in due_notices(one_off, CREATED + 4 * HOUR)] == [END]


def test_a_notice_speaks_the_contacts_language_in_the_windows_time_zone() -> None:
    notice = DueNotice(
        weekly(), Occurrence(SUNDAY_2AM_SHANGHAI, SUNDAY_2AM_SHANGHAI + 2 * HOUR), "before:3600"
    )
    english = notice_text(notice, "Ops desk", ["acme-db1", "acme-web1"], "en")
    assert english.title == (
        "Planned maintenance on your servers: Sunday 2027-01-17 02:00–04:00 (Asia/Shanghai)"
    )
    assert "Servers: acme-db1, acme-web1" in english.body
    assert "Reason: kernel update" in english.body
    chinese = notice_text(DueNotice(notice.window, notice.occurrence, END), "李雷", [], "zh")
    assert chinese.title == (
        "维护已完成：您的服务器2027-01-17（星期日）02:00–04:00（Asia/Shanghai）的维护已结束"
    )
    assert chinese.body.startswith("李雷，您好：")


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def collector(tmp_path: Path, clock: FakeClock, smtp: SmtpServer) -> RunningCollector:
    customers = tmp_path / "customers.yaml"
    customers.write_text(CUSTOMERS)
    return RunningCollector(
        tmp_path,
        clock,
        channels=[RecordingChannel("ops")],
        api_tokens=[ApiToken(name="alice", token="alice-token")],  # type: ignore[arg-type]
        customers=customers,
        customer_mail=smtp.url(to="nobody@example.test", sender="noc@example.test"),
    )


def run_notices(running: RunningCollector) -> int:
    announcer = running.collector.announcer
    assert announcer is not None
    return announcer.run()


def test_a_customer_hears_once_before_and_once_after_each_occurrence_across_a_restart(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    clock = FakeClock(CREATED)
    running = collector(tmp_path, clock, smtp)
    try:
        for host in ("acme-db1", "acme-web1", "other-1"):
            running.post(host_report(host, clock, 1, memory_used_ratio=0.1))
        answer = running.session.post(
            f"{running.url}/api/v1/silences",
            json={
                "customer": "acme",
                "reason": "kernel update",
                "recurrence": {
                    "cron": "0 2 * * SUN",
                    "duration": "2h",
                    "timezone": "Asia/Shanghai",
                },
                "notify": {"before": ["24h"], "end": True},
            },
            headers=ALICE,
            timeout=5,
        )
        assert answer.status_code == 201, answer.text
        window = answer.json()
        assert window["kind"] == "maintenance" and window["customer"] == "acme"
        assert window["notify"] == {"before": [86400.0], "end": True, "timezone": "Asia/Shanghai"}
        assert run_notices(running) == 0, "nothing due a day and a half ahead"
        clock.now = SUNDAY_2AM_SHANGHAI - DAY + 30
        assert run_notices(running) == 2, "one per contact with an e-mail address"
        assert run_notices(running) == 0, "decided once"
        before = smtp.wait_for(2)
    finally:
        running.stop()
    running = collector(tmp_path, clock, smtp)  # restarted between the notice and the end
    try:
        assert run_notices(running) == 0, "a restart repeats nothing"
        clock.now = SUNDAY_2AM_SHANGHAI + 2 * HOUR + 30
        assert run_notices(running) == 2
        after = smtp.wait_for(4)[2:]
        clock.now += 7 * DAY - 2 * HOUR - DAY  # next week, a day before
        assert run_notices(running) == 2, "the next occurrence is told too"
        assert run_notices(running) == 0
        smtp.wait_for(6)
    finally:
        running.stop()
    by_address = {m.rcpt_tos[0]: m for m in before}
    assert set(by_address) == {"lilei@acme.example.cn", "ops@acme.example.com"}
    english = by_address["ops@acme.example.com"]
    assert english.subject == (
        "Planned maintenance on your servers: Sunday 2027-01-17 02:00–04:00 (Asia/Shanghai)"
    )
    assert "Servers: acme-db1, acme-web1" in english.text and "other-1" not in english.text
    chinese = by_address["lilei@acme.example.cn"]
    assert chinese.subject.startswith("计划维护：您的服务器将于2027-01-17（星期日）02:00–04:00")
    assert sorted(m.subject.split(":")[0] for m in after) == [
        "Maintenance finished on your servers",
        "维护已完成：您的服务器2027-01-17（星期日）02",
    ]
    assert len(smtp.messages) == 6, "nothing sent twice"


def test_the_cli_plans_a_customer_window_with_notices_and_refuses_an_unknown_customer(
    tmp_path: Path, smtp: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    running = collector(tmp_path, FakeClock(CREATED), smtp)
    try:
        base = ["--url", running.url, "--token", "alice-token", "add", "-r", "kernel update"]
        weekly_window = ["--cron", "0 2 * * SUN", "--window", "2h", "--timezone", "Asia/Shanghai"]
        notify = ["--notify-before", "24h", "--notify-before", "1h", "--notify-end"]
        assert silence_command([*base, "--customer", "acme", *weekly_window, *notify]) == 0
        assert "customer=acme" in capsys.readouterr().out
        (window,) = running.get("/api/v1/silences")
        assert window["notify"]["before"] == [86400.0, 3600.0]
        assert window["matchers"]["host"].startswith("~")  # acme-* from the customers file
        assert silence_command([*base, "--customer", "acne", *weekly_window]) == 1
        assert "no customer 'acne' (known: acme)" in capsys.readouterr().err
    finally:
        running.stop()


def test_a_second_collector_cannot_decide_the_same_notice_again(engine: sa.Engine) -> None:
    window = SilenceStore(engine).add(weekly(), CREATED)
    assert window.id is not None
    with engine.begin() as conn:
        assert not already_told(conn, window.id, SUNDAY_2AM_SHANGHAI, END)
        record_told(conn, window.id, SUNDAY_2AM_SHANGHAI, END, 2, CREATED)
    with engine.begin() as conn:
        assert already_told(conn, window.id, SUNDAY_2AM_SHANGHAI, END)
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the other one's transaction
        record_told(conn, window.id, SUNDAY_2AM_SHANGHAI, END, 2, CREATED)
    (stored,) = SilenceStore(engine).search(CREATED)
    assert (stored.customer, stored.notices) == ("acme", weekly().notices)

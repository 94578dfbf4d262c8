"""Channels against real peers: SMTP, webhooks through Apprise, the outbox, the console.

SmtpChannel's own behaviour (connection reuse, threading headers) is in test_notify_smtp.py.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from collector.notify.channels import (
    AppriseChannel,
    ConsoleChannel,
    DeliveryError,
    OutboxChannel,
    RecordingChannel,
    accepts,
    channel_from_url,
)
from collector.notify.message import Notification, NotificationEvent
from collector.notify.smtp import SmtpChannel
from rules.priority import Priority
from tests.peers import free_port
from tests.peers.http_sink import HttpSink
from tests.peers.smtp import SilentSmtpServer, SmtpServer

PASSWORD = "Tr0ub4dor-s3cret"
OPENED_AT = 1714564800.0


def notification(
    event: NotificationEvent = "opened", priority: Priority = Priority.P1, language: str = "en"
) -> Notification:
    """A notification as compose_notification writes it; channels deliver it as given."""
    time = OPENED_AT + 600 if event == "resolved" else OPENED_AT
    words = {"en": {"opened": "OPEN", "resolved": "RESOLVED"}, "zh": _ZH_WORDS}[language]
    if language == "zh":
        title = f"[{priority}] {words[event]} FilesystemFull（web1）：/ is 96% full"
        lines = ["主机：web1", "规则：FilesystemFull", f"优先级：{priority}"]
    else:
        title = f"[{priority}] {words[event]} FilesystemFull on web1: / is 96% full"
        lines = ["Host: web1", "Rule: FilesystemFull", f"Priority: {priority}"]
        lines.append("Opened: 2024-05-01T12:00:00Z")
        if event == "resolved":
            lines += ["Resolved: 2024-05-01T12:10:00Z", "Duration: 10m00s"]
    return Notification(
        incident_key="FilesystemFull|web1|mountpoint=/",
        incident_id=17,
        event=event,
        priority=priority,
        host="web1",
        rule="FilesystemFull",
        summary="/ is 96% full",
        title=title,
        body="\n".join(["/ is 96% full", "", *lines]),
        labels={"mountpoint": "/"},
        value=96.0,
        time=time,
    )


_ZH_WORDS = {"opened": "告警", "resolved": "已恢复"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    with HttpSink() as server:
        yield server


@pytest.mark.parametrize("event", ["opened", "resolved"], ids=["opened", "resolved"])
def test_email_arrives_with_subject_recipient_and_body(
    smtp: SmtpServer, event: NotificationEvent
) -> None:
    channel = channel_from_url(smtp.url(to="oncall@example.test", sender="wk@example.test"))
    channel.send(notification(event))
    (mail,) = smtp.wait_for(1)
    word = "OPEN" if event == "opened" else "RESOLVED"
    assert mail.subject == f"[P1] {word} FilesystemFull on web1: / is 96% full"
    assert mail.rcpt_tos == ["oncall@example.test"]
    assert mail.mail_from == "wk@example.test"
    assert "Host: web1" in mail.text
    assert "Opened: 2024-05-01T12:00:00Z" in mail.text
    assert ("Duration: 10m00s" in mail.text) == (event == "resolved")


def test_chinese_email_subject_survives_encoding(smtp: SmtpServer) -> None:
    channel_from_url(smtp.url()).send(notification(language="zh"))
    (mail,) = smtp.wait_for(1)
    assert mail.subject == "[P1] 告警 FilesystemFull（web1）：/ is 96% full"
    assert "主机：web1" in mail.text


def test_webhook_gets_title_and_body_as_json(sink: HttpSink) -> None:
    note = notification()
    channel_from_url(sink.url("/hooks/wk", scheme="json")).send(note)
    (request,) = sink.wait_for(1)
    assert (request.method, request.path) == ("POST", "/hooks/wk")
    assert request.headers["content-type"] == "application/json"
    payload = request.json()
    assert payload["title"] == note.title
    assert payload["message"] == note.body
    assert payload["type"] == "failure"


def test_resolution_webhook_is_typed_success(sink: HttpSink) -> None:
    channel_from_url(sink.url(scheme="json")).send(notification("resolved"))
    assert sink.wait_for(1)[0].json()["type"] == "success"


def test_webhook_error_answer_is_a_delivery_error_with_the_status(sink: HttpSink) -> None:
    sink.fail_next(1, status=500)
    with pytest.raises(DeliveryError, match="500"):
        channel_from_url(sink.url(scheme="json")).send(notification())


def test_closed_port_is_a_delivery_error() -> None:
    channel = channel_from_url(f"json://127.0.0.1:{free_port()}/hook")
    with pytest.raises(DeliveryError) as caught:
        channel.send(notification())
    assert caught.value.reason


def test_smtp_password_is_used_but_never_logged_or_described(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpServer(credentials={"bob": PASSWORD}) as server:
        channel = channel_from_url(server.url())
        channel.send(notification())
        (mail,) = server.wait_for(1)
    assert mail.login == "bob"
    assert PASSWORD not in channel.describe()
    assert "bob:****@127.0.0.1" in channel.describe()
    assert PASSWORD not in repr(channel)
    assert caplog.records, "expected Apprise's debug log to be captured"
    assert not [r for r in caplog.records if PASSWORD in r.getMessage()]


def test_wrong_smtp_password_fails_without_echoing_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with SmtpServer(credentials={"bob": "right-one"}) as server:
        url = f"mailto://bob:{PASSWORD}@127.0.0.1:{server.port}?from=a@example.test&to=b@x.test"
        with pytest.raises(DeliveryError) as caught:
            channel_from_url(url).send(notification())
    assert PASSWORD not in caught.value.reason
    assert not [r for r in caplog.records if PASSWORD in r.getMessage()]


def test_hanging_smtp_server_is_cut_off_by_the_channel_timeout() -> None:
    with SilentSmtpServer() as silent:
        channel = channel_from_url(silent.url(), timeout=0.5)
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="did not finish"):
            channel.send(notification())
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"bogus://bob:{PASSWORD}@host/x", "unsupported notification URL scheme 'bogus'"),
        (f"{PASSWORD}", "has no scheme://"),
        (f"mailto://bob:{PASSWORD}@", "invalid mailto:// notification URL"),
        (f"json://bob:{PASSWORD}@[::1/x", "invalid json:// notification URL"),
        ("outbox://", "outbox:// URL needs a file path"),
    ],
    ids=["unknown-scheme", "no-scheme", "mailto-without-host", "unparseable", "outbox-no-path"],
)
def test_bad_urls_are_refused_naming_the_scheme_not_the_password(
    url: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValueError, match=r"valid URLs look like|e\.g\.") as caught:
        channel_from_url(url)
    assert message in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert not [r for r in caplog.records if PASSWORD in r.getMessage()]


@pytest.mark.parametrize(
    ("url", "kind", "description"),
    [
        ("console://", ConsoleChannel, "console://"),
        ("memory://dry-run", RecordingChannel, "memory://dry-run"),
        ("outbox:///var/tmp/wk/outbox.jsonl", OutboxChannel, "outbox:///var/tmp/wk/outbox.jsonl"),
        ("outbox://state/outbox.jsonl", OutboxChannel, "outbox:///base/state/outbox.jsonl"),
        (
            "MAILTO://mail.example.test?from=wk@example.test",
            SmtpChannel,
            "mailto://mail.example",
        ),
        ("mailtos://bob:pw@mail.example.test", SmtpChannel, "mailtos://bob:****@mail.example"),
        ("json://hooks.example.test/wk", AppriseChannel, "json://hooks.example.test/wk"),
    ],
    ids=["console", "memory", "outbox-absolute", "outbox-relative", "mailto", "mailtos", "json"],
)
def test_url_picks_the_channel(url: str, kind: type, description: str) -> None:
    channel = channel_from_url(url, base_dir=Path("/base"))
    assert isinstance(channel, kind)
    assert channel.describe().startswith(description)


def test_slow_webhook_gets_exactly_one_copy_from_one_send() -> None:
    # Apprise's own socket read timeout is 4 s: it would give up, and the retry send a copy.
    with HttpSink(delay=6.0) as slow:
        channel_from_url(slow.url(scheme="json"), timeout=30.0).send(notification())
        assert len(slow.requests) == 1


def test_webhook_slower_than_the_channel_timeout_is_a_delivery_error() -> None:
    with HttpSink(delay=3.0) as slow:
        channel = channel_from_url(slow.url(scheme="json"), timeout=1.0)
        started = time.monotonic()
        with pytest.raises(DeliveryError):
            channel.send(notification())
        assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("scheme", ["json", "xml", "form"], ids=["json", "xml", "form"])
def test_webhook_carries_the_idempotency_key_and_ticket_of_each_message(
    sink: HttpSink, scheme: str
) -> None:
    channel = channel_from_url(sink.url(scheme=scheme) + "?+X-Team=storage")
    channel.send(replace(notification(), idempotency_key="key-1", number="WK-41"))
    channel.send(replace(notification("resolved"), idempotency_key="key-2", number="WK-41"))
    channel.send(notification())  # no delivery identity: no stale headers either
    first, second, third = sink.wait_for(3)
    assert (first.headers["idempotency-key"], first.headers["x-watchkeeper-ticket"]) == (
        "key-1",
        "WK-41",
    )
    assert second.headers["idempotency-key"] == "key-2"
    assert "idempotency-key" not in third.headers
    assert "x-watchkeeper-ticket" not in third.headers
    assert {r.headers["x-team"] for r in (first, second, third)} == {"storage"}


def test_apprise_throttle_is_off_unless_configured(sink: HttpSink) -> None:
    # ntfy:// keeps Apprise's default pause of 5.5 s between two sends of one service.
    channel = channel_from_url(f"ntfy://127.0.0.1:{sink.port}/watchkeeper")
    started = time.monotonic()
    channel.send(notification())
    channel.send(notification("resolved"))
    assert len(sink.wait_for(2)) == 2
    assert time.monotonic() - started < 5.0


@pytest.mark.parametrize(
    "url",
    ["console://", "memory://x", "outbox://state/outbox.jsonl", "json://hooks.example.test/wk"],
    ids=["console", "memory", "outbox", "apprise"],
)
def test_every_channel_can_be_closed_twice(url: str) -> None:
    channel = channel_from_url(url, base_dir=Path("/base"))
    channel.close()
    channel.close()


def test_recording_channel_counts_closes() -> None:
    channel = RecordingChannel("double")
    channel.close()
    assert channel.closed == 1


def test_outbox_appends_one_json_line_per_notification(tmp_path: Path) -> None:
    channel = channel_from_url(f"outbox://{tmp_path}/deep/outbox.jsonl")
    channel.send(notification("opened", language="zh"))
    channel.send(notification("resolved"))
    lines = (tmp_path / "deep" / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    first, second = (json.loads(line) for line in lines)
    assert first["event"] == "opened"
    assert first["title"] == "[P1] 告警 FilesystemFull（web1）：/ is 96% full"
    assert (first["host"], first["priority"], first["labels"]) == (
        "web1",
        "P1",
        {"mountpoint": "/"},
    )
    assert second["event"] == "resolved"
    assert second["time"] == OPENED_AT + 600
    assert "Duration: 10m00s" in second["body"]


def test_unwritable_outbox_is_a_delivery_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    channel = OutboxChannel(tmp_path / "file" / "outbox.jsonl")
    with pytest.raises(DeliveryError, match="cannot append to"):
        channel.send(notification())


def test_console_writes_title_then_body() -> None:
    stream = io.StringIO()
    ConsoleChannel(stream).send(notification())
    assert stream.getvalue().startswith("[P1] OPEN FilesystemFull on web1: / is 96% full\n/ is")


def test_recording_channel_keeps_notifications_and_fails_on_demand() -> None:
    channel = RecordingChannel("double")
    channel.fail_next(1, "down for maintenance")
    with pytest.raises(DeliveryError, match="down for maintenance"):
        channel.send(notification())
    channel.send(notification("resolved"))
    assert [n.event for n in channel.notifications] == ["resolved"]
    assert channel.attempts == 2


@pytest.mark.parametrize(
    ("floor", "priority", "accepted"),
    [
        (None, Priority.P4, True),
        (Priority.P2, Priority.P1, True),
        (Priority.P2, Priority.P2, True),
        (Priority.P2, Priority.P3, False),
    ],
    ids=["no-floor", "more-urgent", "equal", "less-urgent"],
)
def test_min_priority(floor: Priority | None, priority: Priority, accepted: bool) -> None:
    channel = channel_from_url("memory://sms", min_priority=floor)
    assert accepts(channel, notification(priority=priority)) is accepted

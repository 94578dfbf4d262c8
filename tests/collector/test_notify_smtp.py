"""SmtpChannel against a real SMTP server (aiosmtpd on 127.0.0.1): headers, reuse, recovery."""

from __future__ import annotations

import re
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from collector.notify.channels import DeliveryError
from collector.notify.message import Notification
from collector.notify.smtp import SmtpChannel, smtp_settings
from rules.priority import Priority
from tests.peers import free_port
from tests.peers.smtp import SmtpServer, self_signed_tls

PASSWORD = "Tr0ub4dor-s3cret"
SENT_AT = 1714564800.0  # 2024-05-01T12:00:00Z


def make_notification(**changes: object) -> Notification:
    note = Notification(
        incident_key="FilesystemFull|web1|mountpoint=/",
        incident_id=17,
        event="opened",
        priority=Priority.P1,
        host="web1",
        rule="FilesystemFull",
        summary="/ is 96% full",
        title="[P1] OPEN FilesystemFull on web1: / is 96% full",
        body="/ is 96% full\n\nHost: web1\nRule: FilesystemFull",
        time=SENT_AT,
        number="WK-41",
        idempotency_key="3f1c0d9e8b7a6f5e4d3c2b1a09f8e7d6",
        message_id="<WK-41.opened@watchkeeper>",
    )
    return replace(note, **changes)  # type: ignore[arg-type]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    return self_signed_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def channel(smtp: SmtpServer) -> Iterator[SmtpChannel]:
    opened = SmtpChannel(smtp.url(), timeout=5.0, clock=lambda: SENT_AT)
    yield opened
    opened.close()


def test_threading_headers_and_ticket_arrive_as_given(
    smtp: SmtpServer, channel: SmtpChannel
) -> None:
    channel.send(make_notification(event="resolved", in_reply_to="<WK-41@watchkeeper>"))
    (mail,) = smtp.wait_for(1)
    headers = mail.message
    assert headers["Message-ID"] == "<WK-41.opened@watchkeeper>"
    assert headers["In-Reply-To"] == "<WK-41@watchkeeper>"
    assert headers["References"] == "<WK-41@watchkeeper>"
    assert headers["X-Watchkeeper-Ticket"] == "WK-41"
    assert headers["Date"] == "Wed, 01 May 2024 12:00:00 +0000"
    assert headers["From"] == "watchkeeper@example.test"
    assert headers["To"] == "ops@example.test"


def test_opening_message_has_no_parent(smtp: SmtpServer, channel: SmtpChannel) -> None:
    channel.send(make_notification())
    (mail,) = smtp.wait_for(1)
    assert mail.message["In-Reply-To"] is None
    assert mail.message["References"] is None


def test_bare_ids_get_their_angle_brackets(smtp: SmtpServer, channel: SmtpChannel) -> None:
    channel.send(make_notification(message_id="WK-41.2@watchkeeper", in_reply_to="WK-41@wk"))
    (mail,) = smtp.wait_for(1)
    assert (mail.message["Message-ID"], mail.message["In-Reply-To"]) == (
        "<WK-41.2@watchkeeper>",
        "<WK-41@wk>",
    )


def test_missing_message_id_is_derived_the_same_for_every_retry(
    smtp: SmtpServer, channel: SmtpChannel
) -> None:
    note = make_notification(message_id="")
    channel.send(note)
    channel.send(note)
    channel.send(replace(note, idempotency_key="another-delivery"))
    first, retry, other = (mail.message["Message-ID"] for mail in smtp.wait_for(3))
    assert re.fullmatch(r"<watchkeeper\.[0-9a-f]{32}@example\.test>", first)
    assert retry == first
    assert other != first


def test_hundred_messages_share_one_connection(smtp: SmtpServer, channel: SmtpChannel) -> None:
    for number in range(100):
        channel.send(make_notification(number=f"WK-{number}", message_id=f"<{number}@wk>"))
    mails = smtp.wait_for(100, timeout=10.0)
    assert smtp.connections == 1
    assert [m.message["X-Watchkeeper-Ticket"] for m in mails] == [f"WK-{n}" for n in range(100)]


def test_sends_from_several_threads_share_the_connection(
    smtp: SmtpServer, channel: SmtpChannel
) -> None:
    def send_ten(worker: int) -> None:
        for number in range(10):
            channel.send(make_notification(message_id=f"<{worker}.{number}@wk>"))

    threads = [threading.Thread(target=send_ten, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len({m.message["Message-ID"] for m in smtp.wait_for(40)}) == 40
    assert smtp.connections == 1


def test_restarted_server_is_reconnected_to_within_the_send(
    smtp: SmtpServer, channel: SmtpChannel
) -> None:
    channel.send(make_notification(message_id="<before@wk>"))
    smtp.restart()  # drops our open connection
    channel.send(make_notification(message_id="<after@wk>"))
    assert [m.message["Message-ID"] for m in smtp.wait_for(2)] == ["<before@wk>", "<after@wk>"]
    assert smtp.connections == 2


def test_connection_the_server_timed_out_is_reopened_within_the_send() -> None:
    with SmtpServer(idle_timeout=0.2) as server:
        channel = SmtpChannel(server.url(), timeout=5.0)
        channel.send(make_notification(message_id="<before@wk>"))
        time.sleep(0.6)  # the server says "421 timeout" and hangs up
        channel.send(make_notification(message_id="<after@wk>"))
        assert [m.message["Message-ID"] for m in server.wait_for(2)] == [
            "<before@wk>",
            "<after@wk>",
        ]
        assert server.connections == 2


def test_close_says_goodbye_and_the_next_send_reconnects(
    smtp: SmtpServer, channel: SmtpChannel
) -> None:
    channel.send(make_notification())
    channel.close()
    channel.close()
    channel.send(make_notification())
    assert len(smtp.wait_for(2)) == 2
    assert smtp.connections == 2


def test_server_that_is_down_fails_without_showing_the_password() -> None:
    port = free_port()
    url = f"mailto://bob:{PASSWORD}@127.0.0.1:{port}?from=wk@example.test&to=ops@example.test"
    with pytest.raises(DeliveryError) as caught:
        SmtpChannel(url, timeout=2.0).send(make_notification())
    assert f"cannot connect to SMTP server 127.0.0.1:{port}" in caught.value.reason
    assert PASSWORD not in caught.value.reason
    assert PASSWORD not in str(caught.value)


def test_server_gone_after_a_send_fails_the_next_without_the_password() -> None:
    with SmtpServer(credentials={"bob": PASSWORD}) as server:
        channel = SmtpChannel(server.url(), timeout=2.0)
        channel.send(make_notification())
        server.wait_for(1)
    with pytest.raises(DeliveryError) as caught:
        channel.send(make_notification())
    assert "cannot connect to SMTP server" in caught.value.reason
    assert PASSWORD not in caught.value.reason
    assert PASSWORD not in repr(channel.settings)


def test_chinese_subject_and_body_arrive_intact(smtp: SmtpServer, channel: SmtpChannel) -> None:
    title = "[P1] 告警 FilesystemFull（web1）：/ 已用 96%，请尽快清理"
    body = "/ 已用 96%\n\n主机：web1\n规则：FilesystemFull\n标签：mountpoint=/"
    channel.send(make_notification(title=title, body=body))
    (mail,) = smtp.wait_for(1)
    assert mail.subject == title
    assert mail.text.replace("\r\n", "\n").rstrip("\n") == body


def test_recipients_cc_bcc_and_url_headers_follow_the_apprise_url(smtp: SmtpServer) -> None:
    url = (
        f"mailto://127.0.0.1:{smtp.port}/a@example.test/b@example.test"
        "?from=Disk%20Watch%20%3Cwk@example.test%3E&cc=c@example.test&bcc=d@example.test"
        "&+X-Team=storage"
    )
    SmtpChannel(url).send(make_notification())
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ["a@example.test", "b@example.test", "c@example.test", "d@example.test"]
    assert mail.message["To"] == "a@example.test, b@example.test"
    assert mail.message["Cc"] == "c@example.test"
    assert mail.message["Bcc"] is None
    assert mail.message["From"] == "Disk Watch <wk@example.test>"
    assert mail.message["X-Team"] == "storage"


@pytest.mark.parametrize("implicit", [False, True], ids=["starttls", "implicit-tls"])
def test_tls_modes_log_in_and_deliver_over_one_encrypted_connection(
    tls: ssl.SSLContext, implicit: bool
) -> None:
    with SmtpServer({"bob": PASSWORD}, tls=tls, implicit_tls=implicit) as server:
        channel = SmtpChannel(server.url(), timeout=5.0)
        channel.send(make_notification(message_id="<1@wk>"))
        channel.send(make_notification(message_id="<2@wk>"))
        channel.close()
        mails = server.wait_for(2)
        assert server.connections == 1
    assert [(m.tls, m.login) for m in mails] == [(True, "bob"), (True, "bob")]


def test_self_signed_certificate_is_refused_unless_the_url_says_verify_no(
    tls: ssl.SSLContext,
) -> None:
    with SmtpServer(tls=tls) as server:
        checked = SmtpChannel(server.url().replace("&verify=no", ""), timeout=5.0)
        with pytest.raises(DeliveryError, match=r"TLS with SMTP server 127\.0\.0\.1:\d+ failed"):
            checked.send(make_notification())
    assert not server.messages


@pytest.mark.parametrize(
    ("url", "host", "port", "security", "user"),
    [
        ("mailto://mail.example.test?from=wk@x.test", "mail.example.test", 25, "insecure", None),
        ("mailtos://bob:pw@mail.example.test", "mail.example.test", 587, "starttls", "bob"),
        ("mailtos://bob:pw@mail.example.test?mode=ssl", "mail.example.test", 465, "ssl", "bob"),
        ("mailtos://bob:pw@gmail.com", "smtp.gmail.com", 587, "starttls", "bob@gmail.com"),
        (
            "mailto://bob:pw@example.test?smtp=relay.example.test&mode=starttls",
            "relay.example.test",
            587,
            "starttls",
            "bob",
        ),
    ],
    ids=["plain", "mailtos", "implicit-tls", "gmail-template", "relay"],
)
def test_apprise_resolves_the_server(
    url: str, host: str, port: int, security: str, user: str | None
) -> None:
    settings = smtp_settings(url)
    assert (settings.host, settings.port, settings.security, settings.user) == (
        host,
        port,
        security,
        user,
    )


def test_pgp_urls_are_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="remove pgp= and wkd="):
        SmtpChannel("mailto://mail.example.test?from=wk@example.test&pgp=sign")

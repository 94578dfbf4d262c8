"""The dispatcher: independent deliveries, backoff on an injected clock, give-up, never blocking."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from collector.incidents.model import Incident, IncidentState
from collector.notify.channels import RecordingChannel, channel_from_url
from collector.notify.dispatcher import DeliveryRecord, NotificationDispatcher, RetryPolicy
from collector.notify.message import Notification, NotificationEvent, compose_notification
from rules.priority import Priority
from tests.peers import free_port, wait_until
from tests.peers.http_sink import HttpSink
from tests.peers.smtp import SilentSmtpServer, SmtpServer

START = 1714564800.0  # 2024-05-01T12:00:00Z
PASSWORD = "Tr0ub4dor-s3cret"


class FakeClock:
    """Unix time that moves only when the test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def notification(
    event: NotificationEvent = "opened", priority: Priority = Priority.P1, host: str = "web1"
) -> Notification:
    incident = Incident(
        key=f"FilesystemFull|{host}|mountpoint=/",
        rule="FilesystemFull",
        host=host,
        labels={"mountpoint": "/"},
        priority=priority,
        state=IncidentState.OPEN,
        summary="/ is 96% full",
        value=96.0,
        opened_at=START,
        updated_at=START,
        id=17,
    )
    if event == "resolved":
        incident = replace(incident, state=IncidentState.RESOLVED, resolved_at=START + 600)
    return compose_notification(incident, event)


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    with HttpSink() as server:
        yield server


def run_until_idle(dispatcher: NotificationDispatcher, clock: FakeClock) -> list[float]:
    """Jump the clock to each due time in turn; the times at which deliveries ran."""
    times = []
    while (due := dispatcher.next_due()) is not None:
        clock.now = due
        times.append(due)
        dispatcher.deliver_due(due)
    return times


def test_failing_channel_backs_off_while_the_healthy_one_delivers_once_at_once(
    sink: HttpSink, caplog: pytest.LogCaptureFixture
) -> None:
    sink.fail_next(3, status=500)
    webhook, healthy = channel_from_url(sink.url(scheme="json")), RecordingChannel("healthy")
    records: list[DeliveryRecord] = []
    clock = FakeClock()
    dispatcher = NotificationDispatcher([webhook, healthy], clock, on_result=records.append)

    dispatcher.submit(notification())
    assert dispatcher.deliver_due(START) == 2
    assert len(healthy.notifications) == 1
    assert dispatcher.next_due() == START + 2
    assert dispatcher.deliver_due(START + 1.9) == 0

    assert run_until_idle(dispatcher, clock) == [START + 2, START + 6, START + 14]
    assert [r.status for r in sink.requests] == [500, 500, 500, 200]
    assert sink.requests[-1].json()["title"] == "[P1] OPEN FilesystemFull on web1: / is 96% full"
    assert len(healthy.notifications) == 1
    hook = webhook.describe()
    assert [(r.channel, r.attempt, r.ok) for r in records if r.channel == hook] == [
        (hook, 1, False), (hook, 2, False), (hook, 3, False), (hook, 4, True),
    ]  # fmt: skip
    assert "500" in (records[0].error or "")
    stats = dispatcher.stats()
    assert (stats.channels[hook].sent, stats.channels[hook].failed) == (1, 3)
    assert stats.channels["memory://healthy"].sent == 1
    assert stats.queue_depth == 0
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING and hook in r.message)
    assert "attempt 1" in warning.message
    assert "next retry at 2024-05-01T12:00:02Z" in warning.message


def test_unreachable_channel_is_given_up_after_max_attempts(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = channel_from_url(f"json://127.0.0.1:{free_port()}/hook")
    records: list[DeliveryRecord] = []
    clock = FakeClock()
    retry = RetryPolicy(first_delay=1, factor=3, max_delay=5, max_attempts=4)
    dispatcher = NotificationDispatcher([closed], clock, retry, on_result=records.append)

    dispatcher.submit(notification())
    assert run_until_idle(dispatcher, clock) == [START, START + 1, START + 4, START + 9]
    assert [r.attempt for r in records] == [1, 2, 3, 4]
    assert not any(r.ok for r in records)
    assert [r.given_up for r in records] == [False, False, False, True]
    stats = dispatcher.stats().channels[closed.describe()]
    assert (stats.sent, stats.failed, stats.given_up) == (0, 4, 1)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "giving up" in r.message]
    assert len(errors) == 1
    assert "attempt 4" in errors[0].message


@pytest.mark.parametrize(
    ("attempt", "delay"),
    [(1, 2.0), (2, 4.0), (5, 32.0), (8, 256.0), (9, 300.0), (20, 300.0)],
    ids=["first", "second", "fifth", "eighth", "capped", "far"],
)
def test_default_backoff_doubles_from_two_seconds_up_to_five_minutes(
    attempt: int, delay: float
) -> None:
    assert RetryPolicy().delay_after(attempt) == delay


def test_min_priority_keeps_p3_off_the_sms_channel() -> None:
    sms = channel_from_url("memory://sms", min_priority=Priority.P2)
    mail = channel_from_url("memory://mail")
    assert isinstance(sms, RecordingChannel)
    assert isinstance(mail, RecordingChannel)
    dispatcher = NotificationDispatcher([sms, mail], FakeClock())
    dispatcher.submit(notification(priority=Priority.P3, host="web3"))
    dispatcher.submit(notification(priority=Priority.P1, host="web1"))
    dispatcher.deliver_due(START)
    assert [n.host for n in sms.notifications] == ["web1"]
    assert [n.host for n in mail.notifications] == ["web3", "web1"]
    assert dispatcher.stats().channels["memory://sms"].skipped == 1


def test_full_queue_drops_the_oldest_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    channel = RecordingChannel()
    dispatcher = NotificationDispatcher([channel], FakeClock(), queue_size=2)
    for host in ("web1", "web2", "web3"):
        dispatcher.submit(notification(host=host))
    assert dispatcher.stats().queue_depth == 2
    dispatcher.deliver_due(START)
    assert [n.host for n in channel.notifications] == ["web2", "web3"]
    assert dispatcher.stats().channels["memory://"].dropped == 1
    assert any(r.levelno == logging.ERROR and "web1" in r.message for r in caplog.records)


def test_a_retried_delivery_is_still_the_oldest_when_the_queue_overflows() -> None:
    channel = RecordingChannel()
    channel.fail_next(1)
    dispatcher = NotificationDispatcher([channel], FakeClock(), queue_size=2)
    dispatcher.submit(notification(host="web1"))
    dispatcher.deliver_due(START)  # web1 fails and waits for its retry
    dispatcher.submit(notification(host="web2"))
    dispatcher.submit(notification(host="web3"))
    dispatcher.deliver_due(START + 10)
    assert [n.host for n in channel.notifications] == ["web2", "web3"]


def test_failing_history_callback_does_not_stop_delivery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(record: DeliveryRecord) -> None:
        raise RuntimeError("database is locked")

    channel = RecordingChannel()
    dispatcher = NotificationDispatcher([channel], FakeClock(), on_result=broken)
    dispatcher.submit(notification())
    dispatcher.submit(notification("resolved"))
    assert dispatcher.deliver_due(START) == 2
    assert [n.event for n in channel.notifications] == ["opened", "resolved"]
    assert any("on_result callback failed" in r.message for r in caplog.records)


def test_the_same_channel_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="memory://a is listed twice"):
        NotificationDispatcher([RecordingChannel("a"), RecordingChannel("a")])


def test_retry_log_names_the_masked_url_never_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"mailto://bob:{PASSWORD}@127.0.0.1:{free_port()}?from=wk@example.test&to=o@x.test"
    dispatcher = NotificationDispatcher([channel_from_url(url)], FakeClock())
    dispatcher.submit(notification())
    dispatcher.deliver_due(START)
    warning = next(r for r in caplog.records if "next retry at" in r.getMessage())
    assert "mailto://bob:****@127.0.0.1" in warning.getMessage()
    assert not [r for r in caplog.records if PASSWORD in r.getMessage()]
    assert PASSWORD not in str(dispatcher.stats())


def test_submit_returns_at_once_while_a_channel_hangs() -> None:
    healthy = RecordingChannel("healthy")
    with SilentSmtpServer() as silent:
        hung = channel_from_url(silent.url(), timeout=30, min_interval=0)
        dispatcher = NotificationDispatcher([hung, healthy])
        dispatcher.start()
        started = time.monotonic()
        for host in (f"web{i}" for i in range(100)):
            dispatcher.submit(notification(host=host))
        assert time.monotonic() - started < 0.5
        wait_until(lambda: len(healthy.notifications) == 100, 5, "healthy channel deliveries")
        assert dispatcher.stats().channels[hung.describe()].sent == 0
        assert dispatcher.stop(timeout=0.2) is False  # the hung worker is left behind
    # Closing the silent server reset the connection: the stuck worker fails fast and exits.
    assert dispatcher.stop(timeout=10) is True


def test_started_dispatcher_emails_opened_then_resolved_and_stops_cleanly() -> None:
    with SmtpServer() as smtp:
        dispatcher = NotificationDispatcher([channel_from_url(smtp.url(), min_interval=0)])
        dispatcher.start()
        dispatcher.submit(notification("opened"))
        dispatcher.submit(notification("resolved"))
        first, second = smtp.wait_for(2)
        assert dispatcher.stop(timeout=5) is True
    assert first.subject.startswith("[P1] OPEN FilesystemFull on web1")
    assert second.subject.startswith("[P1] RESOLVED FilesystemFull on web1")
    assert "Duration: 10m00s" in second.text
    assert len(smtp.messages) == 2


def test_started_dispatcher_retries_on_its_own(sink: HttpSink) -> None:
    sink.fail_next(1)
    retry = RetryPolicy(first_delay=0.05)
    dispatcher = NotificationDispatcher([channel_from_url(sink.url(scheme="json"))], retry=retry)
    dispatcher.start()
    try:
        dispatcher.submit(notification())
        assert [r.status for r in sink.wait_for(2, timeout=5)] == [500, 200]
    finally:
        assert dispatcher.stop(timeout=5) is True

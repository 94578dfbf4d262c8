"""A collector process dies (kill -9) or is restarted (SIGTERM) with notifications not yet sent.

The outbox is the only place a decided message waits: after the restart on the same database
and node_id, every message arrives, each exactly once, asserted on what the real SMTP server
and HTTP sink received.
"""

from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path

import pytest

from tests.faults.collector_process import CollectorProcess
from tests.faults.conftest import CollectorFactory
from tests.faults.silent_peer import SilentPeer
from tests.peers import free_port, wait_until
from tests.peers.http_sink import HttpSink
from tests.peers.smtp import SmtpServer

# Retries are 0.2 s .. 1 s apart: a duplicate would show up well within this.
GRACE_SECONDS = 2.5


def _deliveries(collector: CollectorProcess, number: str) -> list[dict[str, object]]:
    detail = collector.get(f"/api/v1/incidents/{number}")
    deliveries: list[dict[str, object]] = detail["deliveries"]
    return deliveries


def _failed_once(collector: CollectorProcess, number: str) -> bool:
    """Every message of the incident has had an attempt fail and recorded (retry scheduled)."""
    return all(d["last_error"] for d in _deliveries(collector, number))


@pytest.mark.parametrize("peer_state", ["refusing", "hanging"])
def test_kill_9_before_delivery_then_restart_sends_the_page_once(
    tmp_path: Path, collectors: CollectorFactory, peers: contextlib.ExitStack, peer_state: str
) -> None:
    """refusing: nothing listens on the SMTP and webhook ports when the incident opens.
    hanging: both ports accept but never answer, so the collector dies mid-send, holding the
    lease; the restart under the same node_id must take it back at once, not after it expires.
    """
    smtp = SmtpServer()  # its port is chosen, the server not started: down
    hook_port = free_port()
    silent: list[SilentPeer] = []
    if peer_state == "hanging":
        silent = [peers.enter_context(SilentPeer(p)) for p in (smtp.port, hook_port)]
    collector = collectors(
        "node-a",
        f"sqlite:///{tmp_path / 'wk.db'}",
        [smtp.url(), f"json://127.0.0.1:{hook_port}/hook"],
    ).start()

    assert collector.post("web1", 0.9).status_code == 202
    [incident] = collector.incidents("active")
    number = incident["number"]
    for peer in silent:
        peer.wait_for_connection(5)  # both channels are mid-send now, holding their leases
    if not silent:  # both channels have failed once and wait for their retry in the outbox
        wait_until(lambda: _failed_once(collector, number), 10, "a failed first attempt")
    collector.kill()

    for peer in silent:
        peer.close()
    peers.enter_context(smtp)
    sink = peers.enter_context(HttpSink(port=hook_port))
    collector.start()

    [mail] = smtp.wait_for(1, timeout=15)
    [post] = sink.wait_for(1, timeout=15)
    time.sleep(GRACE_SECONDS)
    assert len(smtp.messages) == 1, [m.subject for m in smtp.messages]
    assert number in mail.subject and "OPEN" in mail.subject
    assert mail.message["X-Watchkeeper-Ticket"] == number
    posts = sink.requests
    keys = {r.headers.get("idempotency-key") for r in posts}
    assert len(keys) == 1 and None not in keys, "a repeated POST must repeat its key"
    assert len(posts) == 1, f"{len(posts)} POSTs for one page"
    assert post.headers["x-watchkeeper-ticket"] == number and post.status == 200
    deliveries = _deliveries(collector, number)
    assert [d["status"] for d in deliveries] == ["sent", "sent"]
    assert all(int(str(d["attempts"])) >= 2 for d in deliveries), deliveries


@pytest.mark.parametrize("smtp_state", ["slow", "down"])
def test_sigterm_restart_with_ten_emails_queued_sends_each_once(
    tmp_path: Path, collectors: CollectorFactory, peers: contextlib.ExitStack, smtp_state: str
) -> None:
    """slow: the server takes 0.4 s per message, so SIGTERM comes with one in flight and the
    rest queued. down: nothing listens until the collector is stopped."""
    smtp = SmtpServer(delay=0.4)
    if smtp_state == "slow":
        peers.enter_context(smtp)
    collector = collectors("node-a", f"sqlite:///{tmp_path / 'wk.db'}", [smtp.url()]).start()
    hosts = [f"web{i:02d}" for i in range(10)]
    for host in hosts:
        assert collector.post(host, 0.9).status_code == 202
    numbers = {i["number"] for i in collector.incidents("active")}
    assert len(numbers) == 10
    if smtp_state == "slow":
        smtp.wait_for(1, timeout=10)

    assert collector.stop() in (0, -signal.SIGTERM), collector.log_tail()
    before = len(smtp.messages)
    assert before < 10, "the queue must still hold messages at the restart"
    if smtp_state == "down":
        peers.enter_context(smtp)
    collector.start()

    smtp.wait_for(10, timeout=30)
    time.sleep(GRACE_SECONDS)
    tickets = [m.message["X-Watchkeeper-Ticket"] for m in smtp.messages]
    assert sorted(tickets) == sorted(numbers), f"{before} sent before the restart"
    message_ids = {m.message["Message-ID"] for m in smtp.messages}
    assert len(message_ids) == 10
    for number in numbers:
        assert [d["status"] for d in _deliveries(collector, number)] == ["sent"]


def test_kill_9_while_a_webhook_answers_repeats_the_post_with_the_same_key(
    tmp_path: Path, collectors: CollectorFactory
) -> None:
    """The sink has the POST but the collector dies before the answer: the one duplicate the
    outbox allows (at least once) carries the same Idempotency-Key, and there is no third."""
    with HttpSink(delay=2.0) as sink:
        collector = collectors(
            "node-a", f"sqlite:///{tmp_path / 'wk.db'}", [sink.url("/hook", "json")]
        ).start()
        assert collector.post("web1", 0.9).status_code == 202
        [number] = [i["number"] for i in collector.incidents("active")]
        sink.wait_for(1, timeout=10)
        collector.kill()  # the sink answers 2 s after it recorded the POST: nobody hears it

        collector.start()
        first, second = sink.wait_for(2, timeout=15)
        wait_until(lambda: _deliveries(collector, number)[0]["status"] == "sent", 10, "sent")
        time.sleep(GRACE_SECONDS)
    assert len(sink.requests) == 2
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] != ""
    assert first.json() == second.json()
    assert first.headers["x-watchkeeper-ticket"] == number

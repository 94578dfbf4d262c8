"""Two collector processes on one PostgreSQL database drain one outbox to one SMTP server.

Incidents are opened and resolved through collector A only; B's delivery worker races A's
for the same rows. The outbox's leases (FOR UPDATE SKIP LOCKED) must make every message go
out exactly once, and a "resolved" never before its "opened".
"""

from __future__ import annotations

import re
import time

import pytest

from tests.collector.conftest import postgres_schema
from tests.faults.collector_process import CollectorProcess
from tests.faults.conftest import CollectorFactory
from tests.faults.mailbox import repeated, ticket_events
from tests.peers import wait_until
from tests.peers.smtp import SmtpServer

INCIDENTS = 15
GRACE_SECONDS = 2.5


def _delivered_by(collector: CollectorProcess) -> int:
    return len(re.findall(r" delivered to mailto://", collector.log_text()))


@pytest.mark.peer
def test_two_collectors_on_one_database_send_every_message_once(
    collectors: CollectorFactory,
) -> None:
    # 0.15 s per message: the burst lasts long enough for B's poll (every second) to join in.
    with postgres_schema() as database, SmtpServer(delay=0.15) as smtp:
        a = collectors("node-a", database, [smtp.url()]).start()  # A migrates the schema
        b = collectors("node-b", database, [smtp.url()])
        try:
            b.start()
            _open_resolve_and_check(a, b, smtp)
        finally:  # before the schema is dropped
            for collector in (b, a):
                collector.stop()


def _open_resolve_and_check(a: CollectorProcess, b: CollectorProcess, smtp: SmtpServer) -> None:
    hosts = [f"db{i:02d}" for i in range(INCIDENTS)]
    for host in hosts:
        assert a.post(host, 0.9).status_code == 202
    numbers = {i["number"] for i in a.incidents("active")}
    assert len(numbers) == INCIDENTS
    smtp.wait_for(INCIDENTS // 2, timeout=30)
    for host in hosts:  # resolve while the openings are still going out
        assert a.post(host, 0.1).status_code == 202
    assert a.incidents("active") == []

    smtp.wait_for(2 * INCIDENTS, timeout=30)
    time.sleep(GRACE_SECONDS)
    mails = smtp.messages
    assert not repeated(mails), f"sent more than once: {repeated(mails)}"
    order = ticket_events(mails)
    assert set(order) == {(n, w) for n in numbers for w in ("OPEN", "RESOLVED")}
    for number in numbers:
        assert order.index((number, "OPEN")) < order.index((number, "RESOLVED")), number
    wait_until(lambda: _delivered_by(a) + _delivered_by(b) == 2 * INCIDENTS, 5, "logs")
    assert _delivered_by(a) > 0 and _delivered_by(b) > 0, "both workers must have raced"

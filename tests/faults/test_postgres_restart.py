"""PostgreSQL goes away for seconds under a running collector, while reports keep arriving.

The cluster is the test's own (initdb on a free port), stopped by its PID while e-mails are
still going out and while hosts breach and recover, then started again. Afterwards every
incident is open or resolved as the latest reports say, every transition was e-mailed
exactly once, and every key still works (resolved ones reopen, open ones resolve).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
import requests

from tests.faults.collector_process import CollectorProcess
from tests.faults.conftest import CollectorFactory
from tests.faults.mailbox import repeated, ticket_events
from tests.faults.postgres_cluster import PostgresCluster
from tests.peers import wait_until
from tests.peers.smtp import SmtpServer

FIRST = [f"app{i:02d}" for i in range(10)]  # breach before the outage, recover during it
SECOND = [f"db{i:02d}" for i in range(10)]  # breach during the outage
OUTAGE_SECONDS = 7.0
GRACE_SECONDS = 2.5


class Reporter:
    """A thread posting every host's current fault level, round after round, like agents."""

    def __init__(self, collector: CollectorProcess, levels: dict[str, float]) -> None:
        self.collector = collector
        self.levels = levels
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def set(self, hosts: list[str], level: float) -> None:
        for host in hosts:
            self.levels[host] = level

    def _run(self) -> None:
        while not self._stop.is_set():
            for host, level in list(self.levels.items()):
                try:
                    self.statuses[self.collector.post(host, level).status_code] += 1
                except requests.RequestException:
                    self.statuses[0] += 1  # an agent would spool and retry
            self._stop.wait(0.2)

    def __enter__(self) -> Reporter:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)


def _states(collector: CollectorProcess) -> dict[str, tuple[str, str, int]]:
    """host -> (number, state, reopen_count) of its newest incident."""
    found = sorted(collector.incidents("all"), key=lambda i: i["id"])
    return {i["host"]: (i["number"], i["state"], i["reopen_count"]) for i in found}


def _settled(collector: CollectorProcess, want: dict[str, str]) -> Callable[[], bool]:
    def check() -> bool:
        states = _states(collector)
        return all(states.get(host, ("", "", 0))[1] == state for host, state in want.items())

    return check


@pytest.mark.peer
def test_postgres_restart_under_load_loses_nothing_and_sends_everything_once(
    collectors: CollectorFactory,
) -> None:
    with PostgresCluster() as cluster, SmtpServer(delay=0.2) as smtp:
        cluster.start()
        collector = collectors("pg-node", cluster.url, [smtp.url()]).start()
        try:
            _outage(cluster, collector, smtp)
        finally:
            collector.stop()


def _outage(cluster: PostgresCluster, collector: CollectorProcess, smtp: SmtpServer) -> None:
    levels = dict.fromkeys(FIRST, 0.9) | dict.fromkeys(SECOND, 0.1)
    with Reporter(collector, levels) as reporter:
        wait_until(_settled(collector, dict.fromkeys(FIRST, "triggered")), 20, "first opens")
        smtp.wait_for(2, timeout=20)
        cluster.stop()  # the other openings are still on their way out
        time.sleep(1.0)
        reporter.set(FIRST, 0.1)
        reporter.set(SECOND, 0.9)
        time.sleep(OUTAGE_SECONDS - 1.0)
        cluster.start()
        want = dict.fromkeys(FIRST, "resolved") | dict.fromkeys(SECOND, "triggered")
        wait_until(_settled(collector, want), 30, "state after the outage")

        reporter.set(FIRST, 0.9)
        reporter.set(SECOND, 0.1)
        want = dict.fromkeys(FIRST, "triggered") | dict.fromkeys(SECOND, "resolved")
        wait_until(_settled(collector, want), 30, "reopen and resolve after the outage")
    states = _states(collector)
    assert all(states[host][2] == 1 for host in FIRST), "the same tickets reopen"
    assert len({number for number, _, _ in states.values()}) == len(FIRST) + len(SECOND)

    expected = {(states[h][0], w) for h in FIRST for w in ("OPEN", "RESOLVED", "REOPENED")}
    expected |= {(states[h][0], w) for h in SECOND for w in ("OPEN", "RESOLVED")}
    smtp.wait_for(len(expected), timeout=60)
    time.sleep(GRACE_SECONDS)
    mails = smtp.messages
    assert not repeated(mails), f"sent more than once: {repeated(mails)}"
    assert set(ticket_events(mails)) == expected
    for number, _, _ in states.values():
        deliveries = collector.get(f"/api/v1/incidents/{number}")["deliveries"]
        assert {d["status"] for d in deliveries} == {"sent"}, (number, deliveries)
    metrics = collector.fetch("/metrics").text
    refused = next(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("watchkeeper_incident_store_failures_total")
    )
    assert refused > 0, "the outage must have hit incident writes"
    assert 202 in reporter.statuses, reporter.statuses

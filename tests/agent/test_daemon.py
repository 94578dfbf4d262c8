"""The agent loop: drift-free ticks, and a real agent process pushing, serving and stopping."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator

import pytest
import requests

from agent.daemon import Agent, next_deadline
from agent.probe import ProbeData
from agent.runner import ProbeRunner
from agent.spool import MemorySpool
from agent.transport import ReportSender
from tests.agent.collector_stub import CollectorStub
from tests.agent.fakeprocfs import FakeProcfs
from tests.agent.test_cli import WATCHKEEPER
from tests.peers import free_port, wait_until


@pytest.mark.parametrize(
    ("now", "deadline"),
    [(0.0, 10.0), (3.2, 10.0), (9.99, 10.0), (10.0, 20.0), (10.5, 20.0), (37.0, 40.0)],
    ids=["start", "short-cycle", "almost-due", "on-tick", "just-after", "overran-two-ticks"],
)
def test_next_deadline_stays_on_the_grid(now: float, deadline: float) -> None:
    assert next_deadline(0.0, 10.0, now) == deadline


class CountingProbe:
    name = "count"
    target = None
    min_interval_seconds = 0.0

    def __init__(self) -> None:
        self.calls = 0

    def collect(self) -> ProbeData:
        self.calls += 1
        data = ProbeData()
        data.add("cycles_total", float(self.calls))
        return data


@pytest.fixture
def stub() -> Iterator[CollectorStub]:
    server = CollectorStub()
    yield server
    server.stop()


def test_loop_sends_every_interval_and_stops_promptly(stub: CollectorStub) -> None:
    probe = CountingProbe()
    sender = ReportSender(stub.url, "t", MemorySpool(1 << 20))
    agent = Agent(ProbeRunner([probe], "h", 0.05), sender, 0.05)
    loop = threading.Thread(target=agent.run_forever)
    loop.start()
    wait_until(lambda: len(stub.received) >= 4, timeout=10, what="four reports")
    agent.stop()
    loop.join(timeout=2)
    assert not loop.is_alive()
    assert stub.sequences()[:4] == [1, 2, 3, 4]
    snapshot = agent.snapshot()
    assert snapshot.reports_sent_total >= 4 and snapshot.probe_success == {"count": True}


def test_a_failing_sender_does_not_stop_the_loop() -> None:
    class ExplodingSender(ReportSender):
        def send(self, report: object) -> str:  # type: ignore[override]
            raise OSError(28, "No space left on device")

    probe = CountingProbe()
    sender = ExplodingSender("http://127.0.0.1:9", None, MemorySpool(10))
    agent = Agent(ProbeRunner([probe], "h", 10.0), sender, 10.0)
    agent.cycle()
    agent.cycle()
    assert probe.calls == 2


def test_agent_process_pushes_serves_metrics_follows_procfs_and_stops_on_sigterm(
    stub: CollectorStub, fake_procfs: FakeProcfs
) -> None:
    port = free_port()
    args = ["agent", "--collector", stub.url, "--interval", "200ms", "--token", "t0k"]
    args += ["--procfs", str(fake_procfs.root), "--listen", f"127.0.0.1:{port}", "--host", "fake"]
    process = subprocess.Popen([str(WATCHKEEPER), *args], stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: len(stub.received) >= 2, timeout=20, what="first reports")
        fake_procfs.set_load(9.0, 1.0, 1.0)
        wait_until(lambda: _load1(stub) == 9.0, timeout=10, what="new load in a report")
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "watchkeeper_load1 9.0" in metrics
        assert 'watchkeeper_agent_probe_success{probe="host"} 1.0' in metrics
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    stderr = process.stderr.read() if process.stderr else ""
    assert "t0k" not in stderr
    assert stub.received[0].headers["authorization"] == "Bearer t0k"
    assert {r.report().host for r in stub.received} == {"fake"}


def _load1(stub: CollectorStub) -> float | None:
    last = stub.received[-1].report()
    for sample in last.probes[0].samples:
        if sample.metric == "load1":
            return float(sample.value)
    return None

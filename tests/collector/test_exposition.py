"""/metrics from real data: a real agent process reporting to a real collector process, both
/metrics pages accepted by promtool; probe results are formatted once; silent hosts stop being
exported; label values escaped."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample, decode_report
from collector.exposition import HostExposition
from collector.ingest.hosts import HostRegistry
from collector.notify.channels import RecordingChannel
from tests.collector.harness import FakeClock, RunningCollector
from tests.collector.process import WATCHKEEPER, collector_process
from tests.peers import free_port, promtool_problems, require_tool, wait_until

AGENT_TOKEN, VIEWER_TOKEN = "exposition-agent-token-7d1e", "exposition-viewer-token-2b9c"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningCollector]:
    collector = RunningCollector(tmp_path, FakeClock(), channels=[RecordingChannel("t")])
    yield collector
    collector.stop()


def _real_agent_report(host: str) -> Report:
    done = subprocess.run(
        [WATCHKEEPER, "agent", "--once", "--host", host],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return decode_report(done.stdout)


def _scrape(url: str, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(f"{url}/metrics", headers=headers, timeout=10)
    response.raise_for_status()
    return response.text


@pytest.mark.peer
def test_a_real_agent_and_a_real_collector_serve_metrics_promtool_accepts(
    tmp_path: Path,
) -> None:
    require_tool("promtool", "prometheus")
    tokens = (
        f"agents: [{{name: a, token: {AGENT_TOKEN}}}]\n"
        f"api_tokens: [{{name: v, token: {VIEWER_TOKEN}, role: viewer}}]\n"
    )
    agent_url = f"http://127.0.0.1:{free_port()}"
    with collector_process(tmp_path / "collector", tokens) as collector:
        command = [WATCHKEEPER, "agent", "--collector", collector.url, "--token", AGENT_TOKEN]
        command += ["--host", "real1", "--interval", "1s", "--listen", agent_url[7:]]
        log = tmp_path / "agent.log"
        agent = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        try:
            wait_until(
                lambda: 'watchkeeper_load1{host="real1"' in _scrape(collector.url, VIEWER_TOKEN),
                30,
                f"the agent's samples on the collector's /metrics (agent log: {log})",
            )
            from_collector = _scrape(collector.url, VIEWER_TOKEN)
            from_agent = _scrape(agent_url)
        finally:
            agent.terminate()
            agent.wait(10)
    assert 'watchkeeper_logical_cpus{host="real1",probe="host"}' in from_collector
    assert "watchkeeper_logical_cpus " in from_agent
    assert promtool_problems(from_collector) == ""
    assert promtool_problems(from_agent) == ""


def test_a_real_agents_samples_leave_metrics_once_the_host_is_silent(
    running: RunningCollector,
) -> None:
    report = _real_agent_report("real1")
    running.clock.now = report.time
    assert running.post(report).status_code == 202
    assert 'watchkeeper_load1{host="real1",probe="host"}' in running.fetch("/metrics").text
    running.clock.advance(24 * 3600)  # far past any silence window (absent rules, or 120 s)
    # /metrics is rendered at most once a second: poll until the next rendering.
    wait_until(
        lambda: 'watchkeeper_load1{host="real1"' not in running.fetch("/metrics").text,
        5,
        "the silent host's samples gone from /metrics",
    )


def _report(host: str, seq: int, clock: FakeClock, **labels: str) -> Report:
    sample = Sample("filesystem_used_ratio", 0.5, labels)
    probe = ProbeResult("host", "ok", 0.0, [sample, Sample("raid_state", "degraded")])
    return Report(SCHEMA_V1, host, clock(), seq, "t", 10.0, [probe])


def test_formatted_once_escaped_and_silent_hosts_left_out() -> None:
    hosts, clock = HostRegistry(), FakeClock()
    exposition = HostExposition(hosts, silent_after=120.0, clock=clock)
    hosts.apply(_report("web1", 1, clock, mountpoint='/data "x"\\\n'), clock(), None)
    first = exposition.render()
    assert 'mountpoint="/data \\"x\\"\\\\\\n"' in first
    assert 'watchkeeper_raid_state{host="web1",probe="host",state="degraded"} 1.0' in first
    assert exposition.render() == first
    clock.advance(121)
    assert exposition.render() == "", "a silent host's frozen values are not exported"
    hosts.apply(_report("web1", 2, clock, mountpoint="/"), clock(), None)
    assert 'mountpoint="/"' in exposition.render(), "a new report is formatted anew"

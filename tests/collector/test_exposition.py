"""/metrics from real data: a real agent's report through the real collector passes promtool;
probe results are formatted once; silent hosts stop being exported; label values escaped."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample, decode_report
from collector.exposition import HostExposition
from collector.ingest.hosts import HostRegistry
from collector.notify.channels import RecordingChannel
from tests.collector.harness import FakeClock, RunningCollector
from tests.peers import REQUIRE_PEERS


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningCollector]:
    collector = RunningCollector(tmp_path, FakeClock(), channels=[RecordingChannel("t")])
    yield collector
    collector.stop()


def _real_agent_report(host: str) -> Report:
    script = Path(sys.executable).parent / "watchkeeper"
    done = subprocess.run(
        [str(script), "agent", "--once", "--host", host],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return decode_report(done.stdout)


def test_a_real_agents_report_makes_metrics_promtool_accepts(running: RunningCollector) -> None:
    report = _real_agent_report("real1")
    running.clock.now = report.time
    assert running.post(report).status_code == 202
    text = running.fetch("/metrics", timeout=10).text
    assert 'watchkeeper_load1{host="real1",probe="host"}' in text
    promtool = shutil.which("promtool")
    if promtool is None:
        if REQUIRE_PEERS:
            pytest.fail("promtool missing (Debian package prometheus)")
        pytest.skip("promtool not installed (Debian package prometheus)")
    checked = subprocess.run(
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    # promtool's lint warnings (e.g. naming advice) are not errors; a parse error is.
    assert checked.returncode == 0 or "error" not in checked.stderr.lower(), checked.stderr


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

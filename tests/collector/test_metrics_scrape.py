"""A /metrics scrape is rendered in slices on the event loop, so agents are answered while it
runs; its text is the same as a rendering in one go, and changing label values are not hoarded."""

from __future__ import annotations

import asyncio

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample
from collector.exposition import HostExposition
from collector.ingest.hosts import HostRegistry
from collector.metrics import CollectorMetrics
from tests.collector.harness import FakeClock


def _fleet(hosts: int, clock: FakeClock, sequence: int = 1) -> HostRegistry:
    registry = HostRegistry()
    for n in range(hosts):
        samples = [Sample("load1", float(n)), Sample("raid_state", "optimal", {"md": "md0"})]
        probe = ProbeResult("host", "ok", 0.0, samples)
        report = Report(SCHEMA_V1, f"web{n}", clock(), sequence, "t", 10.0, [probe])
        registry.apply(report, clock(), None)
    return registry


def test_a_scrape_walks_the_hosts_one_slice_at_a_time() -> None:
    clock = FakeClock()
    exposition = HostExposition(_fleet(40, clock), silent_after=120.0, clock=clock)
    rendering = exposition.start()
    steps = 1
    while rendering.step(0.0):  # a zero budget: one host per slice
        steps += 1
    assert steps == 40
    assert rendering.text() == exposition.render()
    assert 'watchkeeper_load1{host="web39",probe="host"} 39.0\n' in rendering.text()


def test_other_tasks_run_between_the_slices_of_a_scrape() -> None:
    clock = FakeClock()
    hosts = _fleet(200, clock)
    metrics = CollectorMetrics(
        hosts, lambda: {}, lambda: {}, HostExposition(hosts, silent_after=120.0, clock=clock)
    )

    async def scrape_while_counting() -> tuple[bytes, int]:
        turns = 0
        done = asyncio.Event()

        async def agent_requests() -> None:
            nonlocal turns
            while not done.is_set():
                turns += 1
                await asyncio.sleep(0)

        other = asyncio.create_task(agent_requests())
        pieces = await metrics.scrape(slice_seconds=0.0)
        done.set()
        await other
        assert all(p.endswith(b"\n") for p in pieces), "pieces of whole lines"
        return b"".join(pieces), turns

    body, turns = asyncio.run(scrape_while_counting())
    assert turns >= 200, f"only {turns} turns of other tasks during a 200-slice scrape"
    assert b'watchkeeper_load1{host="web199",probe="host"} 199.0\n' in body
    assert b'watchkeeper_host_last_seen_timestamp_seconds{host="web0"}' in body, "own families"


def test_label_values_that_keep_changing_are_not_hoarded() -> None:
    clock, hosts = FakeClock(), HostRegistry()
    exposition = HostExposition(hosts, silent_after=120.0, clock=clock)
    for sequence in range(1, 301):
        sample = Sample("http_up", 1.0, {"request_id": str(sequence)})
        report = Report(
            SCHEMA_V1,
            "web1",
            clock(),
            sequence,
            "t",
            10.0,
            [ProbeResult("net", "ok", 0.0, [sample])],
        )
        hosts.apply(report, clock(), None)
        text = exposition.render()
        assert f'request_id="{sequence}"' in text and f'request_id="{sequence - 1}"' not in text
    kept = exposition._series[("web1", "net")]  # the per-series text cache
    assert len(kept.by_key) <= 2 * 1 + 64 + 1 and len(kept.by_position) <= 1


def test_series_that_move_change_labels_or_state_are_shown_as_sent() -> None:
    """The memory of how each series is shown is checked per position: a probe that sends
    its series in another order, with other labels or another state, is shown as it is."""
    clock, hosts = FakeClock(), HostRegistry()
    exposition = HostExposition(hosts, silent_after=120.0, clock=clock)
    cycles = [
        [Sample("fs_used_ratio", 0.5, {"mountpoint": "/"}), Sample("raid_state", "optimal")],
        [Sample("raid_state", "degraded"), Sample("fs_used_ratio", 0.6, {"mountpoint": "/"})],
        [Sample("fs_used_ratio", 0.7, {"mountpoint": "/var"}), Sample("raid_state", "degraded")],
    ]
    for sequence, samples in enumerate(cycles, start=1):
        report = Report(
            SCHEMA_V1,
            "db1",
            clock(),
            sequence,
            "t",
            10.0,
            [ProbeResult("host", "ok", 0.0, samples)],
        )
        hosts.apply(report, clock(), None)
        fresh = HostExposition(hosts, silent_after=120.0, clock=clock)  # no memory at all
        assert exposition.render() == fresh.render(), f"cycle {sequence}"
    text = exposition.render()
    assert 'watchkeeper_fs_used_ratio{host="db1",probe="host",mountpoint="/var"} 0.7' in text
    assert 'mountpoint="/"' not in text and 'state="degraded"} 1.0' in text

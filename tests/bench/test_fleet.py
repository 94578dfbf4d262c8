"""The benchmark's simulated agents send what a real agent would: new, sequenced, valid reports."""

from __future__ import annotations

import gzip

from agent.report import Report, decode_report
from bench.fleet import SAMPLES_PER_REPORT, SimulatedHost


def values(report: Report, metric: str) -> list[float | str]:
    return [s.value for p in report.probes for s in p.samples if s.metric == metric]


def test_every_report_is_new_with_the_next_sequence_and_the_given_time() -> None:
    host = SimulatedHost("bench-00007", 7, sequence=20)
    first = decode_report(gzip.decompress(host.next_body(1_000.0)))
    second = decode_report(gzip.decompress(host.next_body(1_001.5)))
    assert (first.host, first.sequence, first.time) == ("bench-00007", 21, 1_000.0)
    assert (second.sequence, second.time) == (22, 1_001.5)
    assert values(second, "disk_read_bytes_total") > values(first, "disk_read_bytes_total")


def test_a_report_is_shaped_like_a_real_host_probe_cycle() -> None:
    report = SimulatedHost("h", 3).next_report(0.0)
    assert 140 <= SAMPLES_PER_REPORT <= 170
    assert sum(len(p.samples) for p in report.probes) == SAMPLES_PER_REPORT
    assert [p.probe for p in report.probes] == ["host"]
    assert len(values(report, "filesystem_used_ratio")) == 8
    assert all(0.5 <= float(v) < 0.7 for v in values(report, "memory_used_ratio"))


def test_a_storm_host_reports_the_memory_ratio_it_is_given() -> None:
    host = SimulatedHost("storm-00000", 0)
    assert values(host.next_report(0.0, memory_used_ratio=0.99), "memory_used_ratio") == [0.99]
    assert values(host.next_report(1.0, memory_used_ratio=0.5), "memory_used_ratio") == [0.5]

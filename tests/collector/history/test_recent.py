"""The console's short-term history: one value a minute per charted series, 24 h kept, gaps
left empty, memory bounded per host."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample
from collector.history.recent import MAX_SERIES, PER_METRIC, SLOTS, RecentHistory

START = 1_790_000_000.0 - 1_790_000_000.0 % 60


def report(at: float, host: str = "web1", target: str | None = None, **values: float) -> Report:
    samples = [
        Sample(name, value, {"cpu": "total"} if name == "cpu_usage_ratio" else {})
        for name, value in values.items()
    ]
    samples += [
        Sample("cpu_usage_ratio", 0.9, {"cpu": "0"}),  # per-CPU series are not charted
        Sample("filesystem_used_ratio", 0.5, {"mountpoint": "/", "device": "sda1"}),
        Sample("temperature_celsius", 41.0, {"chip": "coretemp", "sensor": "Core 0"}),
        Sample("raid_state", "degraded"),
    ]
    probe = ProbeResult("host", "ok", 0.01, samples, target=target)
    return Report(SCHEMA_V1, host, at, 1, "test", 10.0, [probe])


def test_the_first_report_of_each_minute_is_kept_and_the_rest_skipped() -> None:
    recent = RecentHistory()
    for second in range(0, 180, 10):  # every 10 s for 3 minutes
        recent.observe(report(START + second, cpu_usage_ratio=second / 1000), START + second)
    [cpu] = [s for s in recent.series("web1", START + 180) if s.metric == "cpu_usage_ratio"]
    assert [at for at, _ in cpu.points] == [START, START + 60, START + 120]
    assert [v for _, v in cpu.points] == pytest.approx([0.0, 0.06, 0.12])  # float32 kept
    names = {(s.metric, s.label) for s in recent.series("web1", START + 180)}
    assert names == {
        ("cpu_usage_ratio", ""),
        ("filesystem_used_ratio", "/"),
        ("temperature_celsius", "coretemp Core 0"),
    }


def test_a_day_is_kept_and_older_minutes_and_silent_ones_are_not_shown() -> None:
    recent = RecentHistory()
    for minute in range(SLOTS + 30):  # a day and half an hour, silent for minutes 100-109
        if not 100 <= minute < 110:
            at = START + minute * 60
            recent.observe(report(at, load1_per_core=float(minute)), at)
    now = START + (SLOTS + 29) * 60
    [load] = [s for s in recent.series("web1", now) if s.metric == "load1_per_core"]
    assert len(load.points) == SLOTS - 10, "the day, less the 10 silent minutes"
    assert (START + 100 * 60, 100.0) not in load.points
    assert load.points[0] == (START + 30 * 60, 30.0) and load.points[-1] == (now, SLOTS + 29.0)
    recent.observe(report(now + 60, memory_used_ratio=0.5), now + 60)  # load absent: a gap
    [load] = [s for s in recent.series("web1", now + 60) if s.metric == "load1_per_core"]
    assert load.points[-1][0] == now


def test_samples_of_another_target_and_unknown_hosts_are_not_charted() -> None:
    recent = RecentHistory()
    recent.observe(report(START, target="switch1", cpu_usage_ratio=0.3), START)
    assert recent.series("web1", START) == [], "an SNMP switch's CPU is not web1's"
    assert recent.series("nobody", START) == []


def test_memory_per_host_is_bounded_per_metric_and_in_all() -> None:
    recent = RecentHistory()
    many = [Sample("cpu_usage_ratio", 0.1, {"cpu": "total"}), Sample("load1_per_core", 0.1)]
    many += [Sample("memory_used_ratio", 0.1), Sample("swap_used_ratio", 0.1)]
    for i in range(40):  # a container host: many mounts, interfaces and sensors
        many += [
            Sample("filesystem_used_ratio", 0.1, {"mountpoint": f"/m{i}"}),
            Sample("temperature_celsius", 40.0, {"chip": "c", "sensor": f"s{i}"}),
            Sample("network_receive_bytes_total", 1e6 * i, {"interface": f"veth{i}"}),
            Sample("network_transmit_bytes_total", 1e6 * i, {"interface": f"veth{i}"}),
        ]
    probe = ProbeResult("host", "ok", 0.01, many)
    for minute in range(2):  # counters need two readings
        at = START + 60 * minute
        recent.observe(Report(SCHEMA_V1, "big", at, 1, "test", 10.0, [probe]), at)
    per_metric = Counter(s.metric for s in recent.series("big", START + 60))
    assert max(per_metric.values()) == PER_METRIC and len(per_metric) == 8
    assert sum(per_metric.values()) <= MAX_SERIES
    assert recent.size_bytes("big") <= 4 * SLOTS * (MAX_SERIES + 1) < 150_000


def test_byte_counters_are_kept_as_rates_without_resets_or_loopback() -> None:
    recent = RecentHistory()
    readings = [1_000.0, 7_000.0, 13_000.0, 500.0, 6_500.0]  # the agent restarts at minute 3
    for minute, total in enumerate(readings):
        at = START + 60 * minute
        samples = [
            Sample("network_receive_bytes_total", total + 4e12, {"interface": "eth0"}),
            Sample("network_receive_bytes_total", total, {"interface": "lo"}),
        ]
        report = Report(
            SCHEMA_V1, "web1", at, 1, "test", 10.0, [ProbeResult("host", "ok", 0.0, samples)]
        )
        recent.observe(report, at)
    [eth0] = recent.series("web1", START + 240)
    assert eth0.label == "eth0 in"
    assert eth0.points == [(START + 60, 100.0), (START + 120, 100.0), (START + 240, 100.0)]


def test_a_report_within_the_same_minute_costs_microseconds() -> None:
    recent = RecentHistory()
    sample = report(START, cpu_usage_ratio=0.1, memory_used_ratio=0.2)
    recent.observe(sample, START)
    started = time.perf_counter()
    for _ in range(10_000):
        recent.observe(sample, START + 30)
    per_report = (time.perf_counter() - started) / 10_000
    assert per_report < 10e-6, f"{per_report * 1e6:.1f} µs per report"

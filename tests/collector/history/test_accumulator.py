"""Daily aggregates in memory: hand-computed figures, counters across resets and midnight,
days sealed when they end, late samples, and no database work while observing."""

from __future__ import annotations

import pytest

from agent.report import SCHEMA_V1, ProbeResult, Report, Sample
from collector.history.accumulator import DayRow, HistoryAccumulator
from collector.history.daily import DAY, day_of

DAY0 = 20_400  # 2025-11-07 UTC, days since 1970
T0 = DAY0 * DAY


def report(*samples: Sample, host: str = "db-1", target: str | None = None) -> Report:
    probe = ProbeResult("host", "ok", 0.1, samples=list(samples), target=target)
    return Report(SCHEMA_V1, host, 0.0, 1, "1.0", 60.0, probes=[probe])


def cpu(value: float) -> Sample:
    return Sample("cpu_usage_ratio", value, {"cpu": "total"})


def by_metric(rows: list[DayRow]) -> dict[tuple[str, int], DayRow]:
    return {(r.metric, r.aggregate.day): r for r in rows}


def test_a_day_of_cpu_samples_gives_the_hand_computed_figures() -> None:
    history = HistoryAccumulator()
    for minute, value in enumerate([0.10, 0.20, 0.30, 0.40, 0.90]):
        history.observe(report(cpu(value)), T0 + 60 * minute)
    [row] = history.take_changed(DAY0)
    day = row.aggregate
    assert (row.host, row.metric, row.labels, day.day) == ("db-1", "cpu_usage_ratio",
                                                          {"cpu": "total"}, DAY0)  # fmt: skip
    assert (day.count, day.minimum, day.maximum, day.last) == (5, 0.10, 0.90, 0.90)
    assert day.mean == pytest.approx(0.38)  # 1.9 / 5
    assert day.p50 == pytest.approx(0.30, rel=0.01)
    assert day.p95 == pytest.approx(0.90, rel=0.01)
    assert day.sketch is not None and not row.closed  # today stays open


def test_counters_count_their_increase_across_a_reset_and_midnight() -> None:
    history = HistoryAccumulator()
    errors = "network_receive_errors_total"
    for at, value in [(T0 + 100, 10.0), (T0 + 200, 15.0), (T0 + 300, 3.0), (T0 + 400, 7.0)]:
        history.observe(report(Sample(errors, value, {"interface": "eth0"})), at)
    # +5, then a reset to 3 (3 counted), then +4
    assert by_metric(history.take_changed(DAY0))[(errors, DAY0)].aggregate.increase == 12.0
    history.observe(report(Sample(errors, 9.0, {"interface": "eth0"})), T0 + DAY + 50)
    rows = by_metric(history.take_changed(DAY0 + 1))
    assert rows[(errors, DAY0 + 1)].aggregate.increase == 2.0  # from yesterday's last, 7
    assert rows[(errors, DAY0 + 1)].aggregate.p50 is None  # no percentiles for counters


def test_a_day_that_ends_is_written_once_sealed_and_late_samples_are_bounded() -> None:
    history = HistoryAccumulator()
    history.observe(report(cpu(0.5)), T0 + 10)
    history.take_changed(DAY0)
    [sealed] = history.take_changed(DAY0 + 1)  # unchanged, but its day has ended
    assert sealed.closed and sealed.aggregate.p50 == pytest.approx(0.5, rel=0.01)
    assert history.take_changed(DAY0 + 1) == []  # written once
    history.observe(report(cpu(0.7)), T0 + 20)  # late, for yesterday: still counted
    [late] = history.take_changed(DAY0 + 1)
    assert late.closed and late.aggregate.count == 2
    history.take_changed(DAY0 + 2)
    history.observe(report(cpu(0.9)), T0 + 30)  # older than yesterday: its row is final
    assert history.take_changed(DAY0 + 2) == [] and history.ignored == 1
    assert len(history) == 0  # series not seen since yesterday are forgotten


def test_states_nan_and_a_resent_report_are_not_counted_and_targets_get_their_own_host() -> None:
    history = HistoryAccumulator()
    same = report(cpu(0.5), Sample("raid_array_state", "degraded"), Sample("load1", float("nan")))
    history.observe(same, T0)
    history.observe(same, T0)  # an agent's retry of the same report
    history.observe(report(Sample("snmp_up", 1.0), target="switch-1"), T0)
    rows = history.take_changed(DAY0)
    assert {(r.host, r.metric, r.aggregate.count) for r in rows} == {
        ("db-1", "cpu_usage_ratio", 1),
        ("switch-1", "snmp_up", 1),
    }
    assert day_of(T0 + DAY - 1) == DAY0


def test_a_series_that_changes_place_in_the_report_keeps_its_own_day() -> None:
    history = HistoryAccumulator()
    root = Sample("filesystem_used_ratio", 0.5, {"mountpoint": "/"})
    data = Sample("filesystem_used_ratio", 0.9, {"mountpoint": "/data"})
    history.observe(report(root, data), T0)
    history.observe(report(data, root), T0 + 60)  # same series, other order (keys re-derived)
    history.observe(report(data), T0 + 120)
    rows = {r.labels["mountpoint"]: r.aggregate for r in history.take_changed(DAY0)}
    assert (rows["/"].count, rows["/"].last) == (2, 0.5)
    assert (rows["/data"].count, rows["/data"].maximum) == (3, 0.9)

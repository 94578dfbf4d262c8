"""The SLA report's figures, pure, on small hand-computed cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from collector.noise.silences import Recurrence, Silence
from collector.reports.figures import (
    Attainment,
    TimeStats,
    attainment,
    availability,
    count_by,
    noise,
    p1_intervals,
    stats_by_priority,
    time_stats,
    time_to_acknowledge,
)
from collector.reports.intervals import clipped, merged, subtracted, total
from collector.reports.maintenance import window_intervals
from collector.reports.period import Month
from collector.reports.records import DeliveryRecord, IncidentRecord


def incident(
    number: str = "INC-1", priority: str = "P1", opened: float = 0.0, **fields: Any
) -> IncidentRecord:
    return IncidentRecord(number=number, priority=priority, opened_at=opened, **fields)


@pytest.mark.parametrize(
    ("durations", "expected"),
    [
        ([60.0], TimeStats(1, 60.0, 60.0, 60.0)),
        ([300.0, 900.0], TimeStats(2, 600.0, 600.0, 900.0)),
        ([60.0, 300.0, 900.0], TimeStats(3, 420.0, 300.0, 900.0)),
        # p90 by nearest rank: ⌈0.9·10⌉ = 9th smallest
        ([float(n) for n in range(10, 0, -1)], TimeStats(10, 5.5, 5.5, 9.0)),
    ],
    ids=["one", "two", "three", "ten"],
)
def test_time_stats_mean_median_p90(durations: list[float], expected: TimeStats) -> None:
    assert time_stats(durations) == expected


def test_no_durations_no_stats_and_unacknowledged_left_out() -> None:
    assert time_stats([]) is None
    items = [incident(first_ack_at=120.0), incident(first_ack_at=None), incident("X", "P2")]
    assert stats_by_priority(items, time_to_acknowledge) == {"P1": TimeStats(1, 120, 120, 120)}


def test_count_by_largest_first() -> None:
    items = [incident(rule="b"), incident(rule="a"), incident(rule="b")]
    assert list(count_by(items, lambda i: i.rule).items()) == [("b", 2), ("a", 1)]


def test_interval_arithmetic() -> None:
    assert merged([(5, 7), (0, 2), (1, 3), (3, 4), (8, 8)]) == [(0, 4), (5, 7)]
    assert clipped([(-5, 2), (9, 20)], (0, 10)) == [(0, 2), (9, 10)]
    assert subtracted([(0, 10)], [(2, 3), (5, 7), (9, 12)]) == [(0, 2), (3, 5), (7, 9)]
    assert subtracted([(0, 10)], [(-1, 11)]) == []
    assert total([(0, 4), (2, 6), (10, 11)]) == 7


def test_attainment_met_breached_running_and_by_how_much() -> None:
    clocks = {"ack": (0.0, 600.0), "resolve": (0.0, 3600.0)}
    items = [
        incident("A", first_ack_at=300.0, resolved_at=2400.0, clocks=clocks),
        # acknowledged exactly at the due time: a breach, as the incident core decides
        incident("B", first_ack_at=600.0, resolved_at=5400.0, clocks=clocks),
        # never acknowledged but resolved in time: the ack clock stopped at the resolution
        incident("C", resolved_at=500.0, clocks=clocks),
        # still open at `now`: ack late by now − due, resolve still running
        incident("D", clocks=clocks),
        incident("E", update_target=1800.0, updates_missed=2),
    ]
    rows, breaches = attainment(items, now=1000.0)
    assert rows == [
        Attainment("P1", "ack", 2, 2, 0),
        Attainment("P1", "update", 0, 1, 0),
        Attainment("P1", "resolve", 2, 1, 1),
    ]
    assert rows[0].percent == 50.0 and rows[2].percent == pytest.approx(200 / 3)
    assert [(b.number, b.clock, b.late_seconds, b.missed) for b in breaches] == [
        ("B", "ack", 0.0, 1),
        ("D", "ack", 400.0, 1),
        ("E", "update", 0.0, 2),
        ("B", "resolve", 1800.0, 1),
    ]


def test_availability_excludes_maintenance_from_downtime_and_from_the_month() -> None:
    month = (0.0, 30 * 86400.0)
    down = [(1000.0, 4600.0), (4000.0, 5000.0), (-500.0, 500.0)]  # 4000 s + 500 s
    windows = [(4400.0, 8000.0)]  # covers 600 s of the outage
    result = availability("db-1", month, down, windows, commitment=99.9)
    assert result.maintenance_seconds == 3600.0
    assert result.measured_seconds == 30 * 86400.0 - 3600.0
    assert result.down_seconds == 500.0 + 3400.0
    assert result.allowed_seconds == pytest.approx((30 * 86400.0 - 3600.0) * 0.001)  # 2588.4
    assert result.percent == pytest.approx(100 * (1 - 3900 / (30 * 86400 - 3600)))
    assert not result.met


def test_p1_intervals_per_host_only_p1_open_ones_until_now() -> None:
    items = [
        incident("A", opened=10.0, hosts=("db-1",), resolved_at=20.0),
        incident("B", opened=30.0, hosts=("db-1",)),
        incident("C", "P2", opened=0.0, hosts=("db-1",), resolved_at=99.0),
        incident("D", opened=0.0, hosts=("web-1",), resolved_at=99.0),
    ]
    assert p1_intervals(items, now=50.0) == {
        "db-1": [(10.0, 20.0), (30.0, 50.0)],
        "web-1": [(0.0, 99.0)],
    }


def test_recurring_maintenance_in_its_own_time_zone() -> None:
    month = Month(2026, 10, "UTC")
    # Sundays 02:00–04:00 in Shanghai = Saturdays 18:00–20:00 UTC; October 2026 has 5 Saturdays
    weekly = Silence(
        {"host": "db-1"},
        month.start - 86400 * 40,
        None,
        "alice",
        "patching",
        kind="maintenance",
        recurrence=Recurrence("0 2 * * SUN", 7200.0, "Asia/Shanghai"),
    )
    windows = window_intervals(weekly, (month.start, month.end))
    starts = [dt.datetime.fromtimestamp(s, dt.UTC).strftime("%m-%d %H:%M") for s, _ in windows]
    assert starts == ["10-03 18:00", "10-10 18:00", "10-17 18:00", "10-24 18:00", "10-31 18:00"]
    assert total(windows) == 5 * 7200.0


def test_a_window_running_at_the_month_start_counts_from_the_start() -> None:
    month = Month(2026, 10, "UTC")
    nightly = Silence(
        {}, 0.0, None, "a", "r", kind="maintenance", recurrence=Recurrence("0 23 * * *", 7200.0)
    )
    windows = window_intervals(nightly, (month.start, month.start + 86400))
    assert windows == [
        (month.start, month.start + 3600),
        (month.start + 82800, month.start + 86400),
    ]


def test_one_off_window_cut_by_its_expiry() -> None:
    once = Silence({}, 100.0, 500.0, "a", "r", kind="maintenance", expired_at=300.0)
    assert window_intervals(once, (0.0, 1000.0)) == [(100.0, 300.0)]


def test_noise_ranks_rules_by_notifications_then_flaps_with_ack_rate() -> None:
    items = [
        incident("A", rule="DiskFull", first_ack_at=1.0, flaps=1),
        incident("B", rule="DiskFull"),
        incident("C", rule="HostDown", first_ack_at=1.0, flaps=3),
        incident("D", rule="Load", flaps=5),
    ]
    sent = [DeliveryRecord("DiskFull", "mailto://ops", "opened", "sent")] * 3 + [
        DeliveryRecord("HostDown", "mailto://ops", "opened", "sent"),
        DeliveryRecord("HostDown", "mailto://ops", "opened", "failed"),
    ]
    rows = noise(items, sent, top=2)
    assert [(r.rule, r.notifications_sent, r.flaps, r.ack_rate) for r in rows] == [
        ("DiskFull", 3, 1, 50.0),
        ("HostDown", 1, 3, 100.0),
    ]


def test_a_month_in_shanghai_starts_eight_hours_before_utc_midnight() -> None:
    month = Month.parse("2026-10", "Asia/Shanghai")
    assert dt.datetime.fromtimestamp(month.start, dt.UTC) == dt.datetime(
        2026, 9, 30, 16, tzinfo=dt.UTC
    )
    assert month.seconds == 31 * 86400
    assert month.shifted(-10) == Month(2025, 12, "Asia/Shanghai")


def test_a_month_with_a_dst_change_is_an_hour_longer() -> None:
    assert Month.parse("2026-10", "Europe/Berlin").seconds == 31 * 86400 + 3600


@pytest.mark.parametrize(
    ("text", "zone", "message"),
    [
        ("2026-13", "UTC", "month must look like 2026-10"),
        ("Oct 2026", "UTC", "month must look like 2026-10"),
        ("2026-10", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ],
    ids=["month-13", "words", "zone"],
)
def test_bad_month_or_zone_says_what_was_expected(text: str, zone: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Month.parse(text, zone)

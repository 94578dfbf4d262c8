"""Metric history in the database, on SQLite and PostgreSQL: flushed rows, a restart merging
into the open day, sealed days without sketches, pruning after 13 months."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from agent.report import Sample
from collector.history.daily import DAY
from collector.history.recorder import HistoryRecorder
from collector.store.history import KEEP_DAYS, HistoryStore
from collector.store.schema import metric_daily, metric_series
from tests.collector.harness import FakeClock
from tests.collector.history.test_accumulator import DAY0, T0, cpu, report

JOINED = metric_series.join(metric_daily, metric_daily.c.series_id == metric_series.c.id)


def recorder(engine: sa.Engine, clock: FakeClock) -> HistoryRecorder:
    history = HistoryRecorder(HistoryStore(engine), clock)
    history.load()
    return history


def rows(engine: sa.Engine) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(metric_series, metric_daily).select_from(JOINED).order_by(metric_daily.c.day)
            )
        )


def test_a_restart_merges_into_the_open_day_and_the_day_is_sealed_when_it_ends(
    engine: sa.Engine,
) -> None:
    clock = FakeClock(T0 + 3600)
    first = recorder(engine, clock)
    for minute, value in enumerate([0.10, 0.20, 0.30]):
        first.observe(report(cpu(value)), T0 + 60 * minute)
    assert rows(engine) == []  # observing writes nothing
    assert first.flush() == 1
    # a restart: the new process reads the open day back, sketch included
    second = recorder(engine, clock)
    for minute, value in enumerate([0.40, 0.90]):
        second.observe(report(cpu(value)), T0 + 600 + 60 * minute)
    second.flush()
    [row] = rows(engine)
    assert (row._mapping["count"], row.min, row.max, row.last) == (5, 0.10, 0.90, 0.90)
    assert row.sum == pytest.approx(1.9)
    assert row.p50 == pytest.approx(0.30, rel=0.01) and row.p95 == pytest.approx(0.90, rel=0.01)
    assert row.sketch is not None
    clock.now = T0 + DAY + 60
    second.flush()
    [sealed] = rows(engine)
    assert sealed.sketch is None and sealed._mapping["count"] == 5
    assert sealed.p95 == pytest.approx(0.90, rel=0.01)


def test_days_older_than_thirteen_months_are_pruned(engine: sa.Engine) -> None:
    clock = FakeClock(T0)
    history = recorder(engine, clock)
    for back in (KEEP_DAYS + 1, KEEP_DAYS, 1):
        history.accumulator = type(history.accumulator)()  # write each day as if then
        history.observe(report(Sample("memory_used_ratio", 0.5)), T0 - back * DAY)
        history.store.write(history.accumulator.take_changed(DAY0 - back))
    assert len(rows(engine)) == 3
    history.flush()
    assert [r.day for r in rows(engine)] == [DAY0 - KEEP_DAYS, DAY0 - 1]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(metric_daily)).scalar() == 2


def test_one_report_a_minute_per_host_counts(engine: sa.Engine) -> None:
    history = recorder(engine, FakeClock(T0 + 3600))
    for second, value in ((0, 0.10), (10, 0.99), (50, 0.99), (60, 0.30), (75, 0.99)):
        history.observe(report(cpu(value)), T0 + second)
    history.flush()
    [row] = rows(engine)
    assert (row._mapping["count"], row.min, row.max) == (2, 0.10, 0.30), "first of each minute"

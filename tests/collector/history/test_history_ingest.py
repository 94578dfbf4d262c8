"""A real collector keeps metric history off the ingest path: reports add to memory only, the
periodic flush (and the shutdown) writes the day rows."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import select

from collector.store.schema import metric_daily, metric_series
from tests.collector.harness import FakeClock, RunningCollector, host_report

JOINED = metric_series.join(metric_daily, metric_daily.c.series_id == metric_series.c.id)


def test_reports_write_history_rows_only_when_flushed_and_at_shutdown(tmp_path: Path) -> None:
    clock = FakeClock()
    running = RunningCollector(tmp_path, clock)
    try:
        for sequence, used in enumerate([0.25, 0.75], start=1):
            response = running.post(host_report("web-1", clock, sequence, memory_used_ratio=used))
            assert response.status_code == 202, response.text
            clock.advance(60)
        engine = running.collector.repository.engine
        with engine.connect() as conn:
            assert list(conn.execute(select(metric_series, metric_daily).select_from(JOINED))) == []
        running.collector.history.flush()  # type: ignore[union-attr]
        with engine.connect() as conn:
            found = {
                r.metric: r
                for r in conn.execute(select(metric_series, metric_daily).select_from(JOINED))
            }
        memory = found["memory_used_ratio"]
        assert (memory.host, memory._mapping["count"], memory.min, memory.max, memory.last) == (
            "web-1", 2, 0.25, 0.75, 0.75,
        )  # fmt: skip
        running.post(host_report("web-1", clock, 3, memory_used_ratio=0.5))
    finally:
        running.stop()
    reopened = sa.create_engine(f"sqlite:///{tmp_path / 'wk.db'}")
    with reopened.connect() as conn:
        count = conn.execute(
            select(metric_daily.c.count)
            .select_from(JOINED)
            .where(metric_series.c.metric == "memory_used_ratio")
        ).scalar()
    reopened.dispose()
    assert count == 3  # the shutdown flushed the last report

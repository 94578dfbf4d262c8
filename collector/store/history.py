"""Metric history in the database: write day rows, load the open days, prune, read ranges."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, select

from collector.history.accumulator import DayRow
from collector.history.daily import DayAggregate
from collector.history.sketch import QuantileSketch
from collector.store.dialect import upsert
from collector.store.schema import metric_daily

KEEP_DAYS = 400  # 13 months and a few days
WRITE_BATCH = 500
_FIGURES = ["count", "min", "max", "sum", "last", "last_at", "increase", "p50", "p95", "sketch"]


def labels_key(labels: dict[str, str]) -> str:
    """A short stable hash of the labels, so the row key stays small whatever the labels."""
    text = json.dumps(labels, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class DayFigures:
    """One stored day of one series, as reports read it."""

    host: str
    metric: str
    labels: dict[str, str]
    day: int
    count: int
    minimum: float
    maximum: float
    mean: float
    last: float
    increase: float | None
    p50: float | None
    p95: float | None


class HistoryStore:
    """The `metric_daily` table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write(self, rows: Sequence[DayRow]) -> None:
        """Insert or replace each row (the memory copy holds the whole day)."""
        with self._engine.begin() as conn:
            for start in range(0, len(rows), WRITE_BATCH):
                values = [_values(r) for r in rows[start : start + WRITE_BATCH]]
                statement = upsert(
                    conn,
                    metric_daily,
                    ["host", "metric", "labels_key", "day"],
                    {k: _excluded(k) for k in _FIGURES},
                )
                conn.execute(statement, values)

    def open_days(self, since: int) -> list[DayRow]:
        """Rows of `since` and later, to seed memory after a restart."""
        with self._engine.connect() as conn:
            found = conn.execute(select(metric_daily).where(metric_daily.c.day >= since))
            return [_row(r._mapping) for r in found]

    def prune(self, today: int, keep: int = KEEP_DAYS) -> int:
        """Delete days older than `keep` days before `today`; how many rows went."""
        with self._engine.begin() as conn:
            done = conn.execute(delete(metric_daily).where(metric_daily.c.day < today - keep))
            return done.rowcount or 0

    def read(
        self, hosts: Iterable[str], metrics: Iterable[str], days: tuple[int, int]
    ) -> list[DayFigures]:
        """Days in [first, last) of these metrics on these hosts, by host, metric, day."""
        with self._engine.connect() as conn:
            return read_days(conn, list(hosts), list(metrics), days)


def read_days(
    conn: Connection, hosts: list[str], metrics: list[str], days: tuple[int, int]
) -> list[DayFigures]:
    """See HistoryStore.read (the hosts asked in chunks, to keep statements small)."""
    t = metric_daily.c
    found: list[DayFigures] = []
    for start in range(0, len(hosts), WRITE_BATCH):
        statement = (
            select(metric_daily)
            .where(
                and_(
                    t.host.in_(hosts[start : start + WRITE_BATCH]),
                    t.metric.in_(metrics),
                    t.day >= days[0],
                    t.day < days[1],
                )
            )
            .order_by(t.host, t.metric, t.labels_key, t.day)
        )
        found += [_figures(r._mapping) for r in conn.execute(statement)]
    return found


def known_history_hosts(conn: Connection, days: tuple[int, int]) -> list[str]:
    """Hosts with any history in [first, last)."""
    t = metric_daily.c
    statement = select(t.host).where(t.day >= days[0], t.day < days[1]).distinct()
    return sorted(r[0] for r in conn.execute(statement))


def _excluded(column: str) -> Any:
    return lambda excluded: getattr(excluded, column)


def _values(row: DayRow) -> dict[str, Any]:
    a = row.aggregate
    return {
        "host": row.host,
        "metric": row.metric,
        "labels_key": labels_key(row.labels),
        "day": a.day,
        "labels": row.labels,
        "count": a.count,
        "min": a.minimum,
        "max": a.maximum,
        "sum": a.total,
        "last": a.last,
        "last_at": a.last_at,
        "increase": a.increase,
        "p50": a.p50,
        "p95": a.p95,
        "sketch": None if a.sketch is None else a.sketch.encode(),
    }


def _row(m: Any) -> DayRow:
    sketch = QuantileSketch.decode(m["sketch"]) if m["sketch"] else None
    aggregate = DayAggregate(
        m["day"], m["count"], m["min"], m["max"], m["sum"], m["last"], m["last_at"],
        m["increase"], None, sketch, m["p50"], m["p95"],
    )  # fmt: skip
    aggregate.sealed = sketch is None
    return DayRow(m["host"], m["metric"], dict(m["labels"]), aggregate)


def _figures(m: Any) -> DayFigures:
    count = m["count"]
    return DayFigures(
        m["host"], m["metric"], dict(m["labels"]), m["day"], count, m["min"], m["max"],
        m["sum"] / count if count else 0.0, m["last"], m["increase"], m["p50"], m["p95"],
    )  # fmt: skip

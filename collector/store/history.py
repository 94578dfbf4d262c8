"""Metric history in the database: write day rows, load the open days, prune, read ranges."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, exists, insert, select, tuple_

from collector.history.accumulator import DayRow
from collector.history.daily import DayAggregate
from collector.history.sketch import QuantileSketch
from collector.store.dialect import upsert
from collector.store.schema import metric_daily, metric_series

KEEP_DAYS = 400  # 13 months and a few days
WRITE_BATCH = 500
_FIGURES = ["count", "min", "max", "sum", "last", "last_at", "increase", "p50", "p95", "sketch"]
SeriesKey = tuple[str, str, str]  # host, metric, labels_key


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
    """The `metric_series` and `metric_daily` tables (series ids cached after first use)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._ids: dict[SeriesKey, int] = {}

    def write(self, rows: Sequence[DayRow]) -> None:
        """Insert or replace each row (the memory copy holds the whole day).

        A batch per transaction, yielding between batches: a thousand hosts' rows in one
        transaction held SQLite's write lock (the incident writer's too) and the GIL for
        seconds. Each row is a whole day, so a flush cut short leaves no half-written day."""
        with self._engine.begin() as conn:
            ids = dict(self._series_ids(conn, rows))
        for start in range(0, len(rows), WRITE_BATCH):
            batch = rows[start : start + WRITE_BATCH]
            with self._engine.begin() as conn:
                statement = upsert(
                    conn, metric_daily, ["series_id", "day"], {k: _excluded(k) for k in _FIGURES}
                )
                conn.execute(statement, [_values(ids[_key(r)], r) for r in batch])
            time.sleep(0)  # the event loop and the incident writer go first

    def _series_ids(self, conn: Connection, rows: Sequence[DayRow]) -> dict[SeriesKey, int]:
        """Every row's series id, creating the series not stored yet."""
        wanted = {_key(r): r.labels for r in rows}
        missing = [k for k in wanted if k not in self._ids]
        for start in range(0, len(missing), WRITE_BATCH):
            self._ids.update(_stored_ids(conn, missing[start : start + WRITE_BATCH]))
        new = [k for k in missing if k not in self._ids]
        if new:
            conn.execute(
                insert(metric_series),
                [{"host": h, "metric": m, "labels_key": lk, "labels": wanted[(h, m, lk)]}
                 for h, m, lk in new],
            )  # fmt: skip
            for start in range(0, len(new), WRITE_BATCH):
                self._ids.update(_stored_ids(conn, new[start : start + WRITE_BATCH]))
        return self._ids

    def open_days(self, since: int) -> list[DayRow]:
        """Rows of `since` and later, to seed memory after a restart."""
        with self._engine.connect() as conn:
            found = conn.execute(
                select(metric_series, metric_daily)
                .select_from(_joined())
                .where(metric_daily.c.day >= since)
            )
            return [_row(r._mapping) for r in found]

    def prune(self, today: int, keep: int = KEEP_DAYS) -> int:
        """Delete days older than `keep` days before `today`, and series left without days;
        how many day rows went."""
        with self._engine.begin() as conn:
            done = conn.execute(delete(metric_daily).where(metric_daily.c.day < today - keep))
            has_days = exists().where(metric_daily.c.series_id == metric_series.c.id)
            conn.execute(delete(metric_series).where(~has_days))
        self._ids.clear()  # series may have gone
        return done.rowcount or 0

    def read(
        self, hosts: Iterable[str], metrics: Iterable[str], days: tuple[int, int]
    ) -> list[DayFigures]:
        """Days in [first, last) of these metrics on these hosts, by host, metric, day."""
        with self._engine.connect() as conn:
            return read_days(conn, list(hosts), list(metrics), days)


def _joined() -> Any:
    return metric_series.join(metric_daily, metric_daily.c.series_id == metric_series.c.id)


def _key(row: DayRow) -> SeriesKey:
    return (row.host, row.metric, labels_key(row.labels))


def _stored_ids(conn: Connection, keys: list[SeriesKey]) -> dict[SeriesKey, int]:
    t = metric_series.c
    found = conn.execute(
        select(t.host, t.metric, t.labels_key, t.id).where(
            tuple_(t.host, t.metric, t.labels_key).in_(keys)
        )
    )
    return {(h, m, lk): i for h, m, lk, i in found}


def read_days(
    conn: Connection, hosts: list[str], metrics: list[str], days: tuple[int, int]
) -> list[DayFigures]:
    """See HistoryStore.read: the series first (their labels parsed once), then their days."""
    t, d = metric_series.c, metric_daily.c
    series: dict[int, tuple[str, str, dict[str, str]]] = {}
    for start in range(0, len(hosts), WRITE_BATCH):
        chosen = t.host.in_(hosts[start : start + WRITE_BATCH]) & t.metric.in_(metrics)
        statement = select(t.id, t.host, t.metric, t.labels).where(chosen)
        series.update({i: (h, m, dict(ls)) for i, h, m, ls in conn.execute(statement)})
    ids = sorted(series, key=lambda i: (series[i][0], series[i][1], i))
    rank = {sid: n for n, sid in enumerate(ids)}
    found: list[tuple[int, int, DayFigures]] = []
    columns = [d.series_id, d.day, d["count"], d.min, d.max, d.sum, d.last, d.increase,
               d.p50, d.p95]  # fmt: skip
    for start in range(0, len(ids), WRITE_BATCH):
        statement = select(*columns).where(
            d.series_id.in_(ids[start : start + WRITE_BATCH]), d.day >= days[0], d.day < days[1]
        )
        rows: Any = conn.execute(statement)  # plain tuples: unpacking beats Row attributes
        for sid, day, count, low, high, total, last, increase, p50, p95 in rows:
            host, metric, labels = series[sid]
            mean = total / count if count else 0.0
            figures = DayFigures(host, metric, labels, day, count, low, high, mean, last,
                                 increase, p50, p95)  # fmt: skip
            found.append((rank[sid], day, figures))
    found.sort(key=lambda item: (item[0], item[1]))
    return [figures for _rank, _day, figures in found]


def known_history_hosts(conn: Connection, days: tuple[int, int]) -> list[str]:
    """Hosts with any history in [first, last)."""
    d = metric_daily.c
    statement = (
        select(metric_series.c.host)
        .select_from(_joined())
        .where(d.day >= days[0], d.day < days[1])
        .distinct()
    )
    return sorted(r[0] for r in conn.execute(statement))


def _excluded(column: str) -> Any:
    return lambda excluded: getattr(excluded, column)


def _values(series_id: int, row: DayRow) -> dict[str, Any]:
    a = row.aggregate
    return {
        "series_id": series_id,
        "day": a.day,
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
        m["day"],
        m["count"],
        m["min"],
        m["max"],
        m["sum"],
        m["last"],
        m["last_at"],
        m["increase"],
        None,
        sketch,
        m["p50"],
        m["p95"],
    )
    aggregate.sealed = sketch is None
    return DayRow(m["host"], m["metric"], dict(m["labels"]), aggregate)


def _figures(m: Any) -> DayFigures:
    count = m["count"]
    return DayFigures(
        m["host"],
        m["metric"],
        dict(m["labels"]),
        m["day"],
        count,
        m["min"],
        m["max"],
        m["sum"] / count if count else 0.0,
        m["last"],
        m["increase"],
        m["p50"],
        m["p95"],
    )

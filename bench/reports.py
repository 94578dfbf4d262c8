"""Reports at scale, and the metric history's cost.

- history: what a host's daily aggregates cost — CPU per report observed on the ingest path,
  rows per host and day, and bytes per host for 400 days in SQLite (a real simulated host's
  reports, one a minute for a day; the sealed day's rows copied to 400 days).
- sla: the monthly SLA report for H hosts and N incidents in the month (copies of incidents
  written through the real incident service: acknowledged, resolved, with SLA clocks).
- health: the quarterly health report for H hosts from 90 days of daily aggregates of the
  series it reads (CPU, load, memory, 2 filesystems, 2 interfaces, 2 disks, arrays, sensors).
Each report is built and rendered (figures, HTML, PDF) in a fresh process, so its peak
memory (max RSS) is its own.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import resource
import sqlite3
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from bench.fleet import SimulatedHost
from collector.history.accumulator import DayRow, HistoryAccumulator
from collector.history.daily import DAY, DayAggregate, day_of
from collector.incidents.events import Acknowledge, Resolve, RuleFired
from collector.incidents.plan import ResponsePlan, SlaTargets
from collector.incidents.service import Audience, IncidentService, IncidentSettings
from collector.incidents.transitions import LifecyclePolicy
from collector.reports.health import HealthOptions, build_health_report
from collector.reports.health_render import render_health_html, render_health_pdf
from collector.reports.inventory import Inventory
from collector.reports.period import Month, Quarter
from collector.reports.render import render_html, render_pdf
from collector.reports.sla import SlaOptions, build_sla_report
from collector.store.database import migrate, open_database
from collector.store.history import KEEP_DAYS, HistoryStore
from collector.store.schema import incident_timeline, incidents
from rules.priority import Priority

MONTH = Month(2026, 10)
QUARTER = Quarter(2026, 3)
PLAN = ResponsePlan(policy="bench", sla=SlaTargets(ack=600.0, update=1800.0, resolve=3600.0))
BATCH = 2000


def history_cost(days: int = KEEP_DAYS) -> dict[str, float]:
    """One simulated host, a report a minute for a day: observe cost, rows, bytes for `days`."""
    host, history = SimulatedHost("bench-1", 1), HistoryAccumulator()
    start = MONTH.start
    reports = [host.next_report(start + 60 * n) for n in range(1440)]
    cpu = time.process_time()
    for report in reports:
        history.observe(report, report.time)
    per_report = (time.process_time() - cpu) / len(reports)
    tracemalloc.start()
    again = HistoryAccumulator()
    for report in reports:
        again.observe(report, report.time)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    sealed = history.take_changed(day_of(start) + 1)
    with tempfile.TemporaryDirectory(prefix="wk-history-") as tmp:
        path = Path(tmp) / "wk.db"
        engine = open_database(f"sqlite:///{path}")
        migrate(engine)
        empty = path.stat().st_size
        store = HistoryStore(engine)
        for back in range(days):
            store.write([_on_day(row, row.aggregate.day - back) for row in sealed])
        engine.dispose()
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as raw:
            raw.execute("VACUUM")
        size = path.stat().st_size - empty
    return {
        "samples_per_report": float(sum(len(p.samples) for p in reports[0].probes)),
        "observe_us_per_report": per_report * 1e6,
        "memory_kb_per_host": held / 1024,
        "rows_per_host_day": float(len(sealed)),
        "days_kept": float(days),
        "sqlite_mb_per_host": size / 1e6,
    }


def _on_day(row: DayRow, day: int) -> DayRow:
    return replace(row, aggregate=replace(row.aggregate, day=day, last_at=day * DAY))


def write_incidents(engine: Engine, hosts: int, count: int) -> None:
    """`count` incidents in MONTH on `hosts` hosts: one real incident played through the
    service, then copied (rows and timeline) with other numbers, hosts and times."""
    clock = _Clock(MONTH.start + 3600)
    settings = IncidentSettings(number_prefix="B", policy=LifecyclePolicy(plan_for=lambda _i: PLAN))
    service = IncidentService(engine, [Audience("memory://bench")], settings, clock)
    fired = RuleFired("seed", "HostDown", "host-0", {"customer": "acme"}, Priority.P1,
                      "HostDown on host-0", "", 1.0, "bench")  # fmt: skip
    seed = service.apply_rule(fired)
    assert seed is not None and seed.id is not None
    clock.now += 300
    service.act(seed.number, Acknowledge("bench"))
    clock.now += 1800
    service.act(seed.number, Resolve("bench"))
    with engine.begin() as conn:
        template = dict(
            conn.execute(select(incidents).where(incidents.c.id == seed.id)).mappings().one()
        )
        marks = [dict(m) for m in conn.execute(select(incident_timeline).where(
            incident_timeline.c.incident_id == seed.id)).mappings()]  # fmt: skip
    span = MONTH.seconds - 7200
    for first in range(1, count, BATCH):
        rows, timeline = [], []
        for n in range(first, min(first + BATCH, count)):
            opened = MONTH.start + 3600 + span * n / count
            ack, done = 60 + (n * 37) % 1200, 600 + (n * 101) % 7200
            rows.append({**template, "id": seed.id + n, "number": f"B-{n}", "key": None,
                         "host": f"host-{n % hosts}", "hosts": [f"host-{n % hosts}"],
                         "priority": ("P1", "P2", "P3", "P4")[n % 4], "state": "resolved",
                         "labels": {"customer": f"c{n % 20}"}, "opened_at": opened,
                         "updated_at": opened + done, "acknowledged_at": opened + ack,
                         "resolved_at": opened + done})  # fmt: skip
            at = {"OPEN": opened, "ACK": opened + ack, "RESOLVE": opened + done}
            timeline += [{**m, "id": None, "incident_id": seed.id + n,
                          "at": at.get(m["name"], opened)} for m in marks]  # fmt: skip
        with engine.begin() as conn:
            conn.execute(insert(incidents), rows)
            conn.execute(insert(incident_timeline), [{k: v for k, v in t.items() if k != "id"}
                                                     for t in timeline])  # fmt: skip


def write_quarter(engine: Engine, hosts: int) -> None:
    """90 days of the series the health report reads, for `hosts` hosts."""
    first, _end = QUARTER.days
    store = HistoryStore(engine)
    for h in range(hosts):
        store.write(
            [row for day in range(90) for row in _host_day(f"host-{h}", h, first + day, day)]
        )


def _host_day(host: str, h: int, day: int, i: int) -> list[DayRow]:
    def row(metric: str, labels: dict[str, str], last: float, **f: float) -> DayRow:
        p = f.get("p50")
        aggregate = DayAggregate(day, 1440, f.get("minimum", last), f.get("maximum", last),
                                 last * 1440, last, day * DAY, f.get("increase"), None, None,
                                 p, f.get("p95"))  # fmt: skip
        return DayRow(host, metric, labels, aggregate)

    level = 0.2 + (h % 10) / 20
    rows = [
        row("cpu_usage_ratio", {"cpu": "total"}, level, p50=level, p95=level + 0.2, maximum=0.99),
        row("load5_per_core", {}, level, p50=level, p95=level * 2),
        row("memory_used_ratio", {}, 0.6, p50=0.6, p95=0.7),
    ]
    for mount in ("/", "/data"):
        labels = {"device": f"/dev/{mount}", "mountpoint": mount}
        rows += [row("filesystem_avail_bytes", labels, 5e11 - (h % 7) * 1e9 * i),
                 row("filesystem_size_bytes", labels, 1e12)]  # fmt: skip
    for nic in ("eth0", "eth1"):
        for metric in ("network_receive_errors_total", "network_transmit_errors_total",
                       "network_receive_drops_total", "network_transmit_drops_total"):  # fmt: skip
            rows.append(row(metric, {"interface": nic}, 0.0, increase=float(h % 3)))
    for disk in ("sda", "sdb"):
        labels = {"device": disk, "model": "ST4000", "serial": f"Z{h}{disk}"}
        rows += [row("smart_reallocated_sectors", labels, float((h % 50 == 0) * i)),
                 row("smart_pending_sectors", labels, 0.0),
                 row("smart_temperature_celsius", labels, 35.0, maximum=41.0)]  # fmt: skip
    rows += [row("raid_array_degraded", {"array": "md0", "level": "raid1"}, 0.0),
             row("ipmi_temperature_celsius", {"sensor": "CPU1 Temp"}, 50.0, maximum=70.0),
             row("ipmi_fan_stopped", {"sensor": "FAN1"}, 0.0)]  # fmt: skip
    return rows


def _timed_report(url: str, kind: str, now: float) -> dict[str, float]:
    """In a fresh process: build and render one report; its seconds and peak memory."""
    engine = open_database(url)
    times: dict[str, float] = {}
    started = time.perf_counter()
    if kind == "sla":
        report: Any = build_sla_report(engine, SlaOptions(MONTH), now)
        html: Callable[[], object] = lambda: render_html(report)  # noqa: E731
        pdf: Callable[[], object] = lambda: render_pdf(report)  # noqa: E731
    else:
        report = build_health_report(engine, HealthOptions(QUARTER), Inventory(), now)
        html = lambda: render_health_html(report)  # noqa: E731
        pdf = lambda: render_health_pdf(report)  # noqa: E731
    times["figures_s"] = time.perf_counter() - started
    for name, step in (("html_s", html), ("pdf_s", pdf)):
        started = time.perf_counter()
        step()
        times[name] = time.perf_counter() - started
    times["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine.dispose()
    return times


def timed_in_child(url: str, kind: str, now: float) -> dict[str, float]:
    """_timed_report in a spawned process (its own peak memory)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_timed_report, (url, kind, now))


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def main(argv: list[str] | None = None) -> int:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--incidents", type=int, default=50_000)
    parser.add_argument("--history-days", type=int, default=KEEP_DAYS)
    args = parser.parse_args(argv)
    figures = {"history": history_cost(args.history_days)}
    with tempfile.TemporaryDirectory(prefix="wk-reports-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'wk.db'}"
        engine = open_database(url)
        migrate(engine)
        started = time.perf_counter()
        write_incidents(engine, args.hosts, args.incidents)
        write_quarter(engine, args.hosts)
        setup = time.perf_counter() - started
        engine.dispose()
        figures["sla"] = timed_in_child(url, "sla", MONTH.end + DAY)
        figures["health"] = timed_in_child(url, "health", QUARTER.end + DAY)
    print(f"reports: {args.hosts} hosts, {args.incidents} incidents in a month, 90 days of "
          f"daily aggregates (data written in {setup:.0f} s)")  # fmt: skip
    for part, values in figures.items():
        print(f"  {part}")
        for name, value in values.items():
            print(f"    {name:<24}{value:>14,.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

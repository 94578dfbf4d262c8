"""Durable timers at scale: how late a due SLA/escalation timer is handled with many open.

N P1 incidents are opened, each with a response plan (3 escalation tiers, ack and resolve SLA
clocks warning at 50 % and 80 %, progress updates), so every incident carries ~9 timer rows.
The clock then jumps to the moment all their first-response warnings fall due together (the
worst case: a storm opened at once), and the timer worker's passes are timed until none is
left. Printed: timer rows, CPU per due timer, and the delay from due time to the timer being
handled (its message handed to the outbox) — p50/p99 — on top of the worker's 1 s poll.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from collector.incidents.events import PersonOpened
from collector.incidents.plan import ResponsePlan, SlaTargets, Tier
from collector.incidents.service import Audience, IncidentService, IncidentSettings
from collector.incidents.transitions import LifecyclePolicy
from collector.store.database import migrate, open_database
from collector.store.schema import timers
from rules.priority import Priority

PLAN = ResponsePlan(
    "bench",
    (Tier(("person:a",), 300.0), Tier(("person:b",), 300.0), Tier(("person:c",), 600.0)),
    sla=SlaTargets(ack=300.0, update=900.0, resolve=3600.0),
)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def run(incidents: int) -> dict[str, float]:
    """Open `incidents`, make their first warnings due at once, time the worker's passes."""
    with tempfile.TemporaryDirectory(prefix="wk-timers-") as tmp:
        engine = open_database(f"sqlite:///{Path(tmp) / 'wk.db'}")
        migrate(engine)
        clock = _Clock()
        service = IncidentService(
            engine,
            [Audience("memory://bench")],
            IncidentSettings(policy=LifecyclePolicy(plan_for=lambda _i: PLAN)),
            clock,
        )
        started = time.perf_counter()
        for n in range(incidents):
            service.open(PersonOpened("bench", f"incident {n}", Priority.P1))
        open_seconds = time.perf_counter() - started
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(timers)).scalar_one()
        clock.now += 150.0  # every ack clock's 50 % warning is due now
        delays: list[float] = []
        cpu, wall = time.process_time(), time.perf_counter()
        while (handled := service.run_due_timers(limit=500)) > 0:
            elapsed = time.perf_counter() - wall
            delays += [elapsed] * handled
        cpu = time.process_time() - cpu
        engine.dispose()
    delays.sort()
    count = len(delays)
    return {
        "incidents": float(incidents),
        "timer_rows": float(rows),
        "open_ms_per_incident": open_seconds / incidents * 1000,
        "due_handled": float(count),
        "cpu_us_per_timer": cpu / max(count, 1) * 1e6,
        "delay_p50_s": delays[count // 2] if delays else float("nan"),
        "delay_p99_s": delays[min(count - 1, int(count * 0.99))] if delays else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    """Run and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.timers", description=__doc__)
    parser.add_argument("--incidents", type=int, default=10_000)
    args = parser.parse_args(argv)
    figures = run(args.incidents)
    print(f"durable timers: {args.incidents} open P1 incidents with escalation and SLA clocks")
    for name, value in figures.items():
        print(f"  {name:<24}{value:>14,.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

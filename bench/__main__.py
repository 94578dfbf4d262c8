"""`make bench`: the agent's cost per cycle, rule evaluation, then the collector's ingest figures.

Flags it does not know go to `bench.collector_ingest` (see `python -m bench.collector_ingest
--help`); `--quick` (or WK_BENCH_QUICK=1) shortens every part.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from bench import (
    agent_cycle,
    alert_latency,
    collector_ingest,
    console,
    notify_burst,
    reports,
    rule_evaluation,
    snmp_polling,
    timers,
)


def main() -> int:
    """Run the three benchmarks; the collector's ends with the table for the README."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--cycles", type=int, help="agent cycles to time (default 500)")
    parser.add_argument("--quick", action="store_true", help="short runs (about 2 minutes)")
    args, rest = parser.parse_known_args()
    quick = args.quick or bool(os.environ.get("WK_BENCH_QUICK"))
    failed = 0
    parts: list[tuple[str, Callable[[], int]]] = [
        (
            "agent cycle",
            lambda: agent_cycle.main(["--cycles", str(args.cycles or (100 if quick else 500))]),
        ),
        ("rule evaluation", lambda: rule_evaluation.main(["--hours", "6"] if quick else [])),
        ("snmp polling", lambda: snmp_polling.main(["--devices", "20" if quick else "100"])),
        ("notification burst", lambda: notify_burst.main([])),
        ("alert latency", lambda: alert_latency.main(["--agents", "4" if quick else "10"])),
        (
            "durable timers",
            lambda: timers.main(["--incidents", "2000" if quick else "10000"]),
        ),
        (
            "reports",
            lambda: reports.main(["--hosts", "100", "--incidents", "5000"] if quick else []),
        ),
        (
            "console",
            lambda: console.main(["--hosts", "100", "--incidents", "1000"] if quick else []),
        ),
    ]
    for name, part in parts:
        try:
            failed |= part()
        except Exception as exc:  # one broken part must not hide the others' figures
            print(f"{name} benchmark FAILED: {type(exc).__name__}: {exc}")
            failed = 1
        print()
    return collector_ingest.main([*rest, "--quick"] if quick else rest) or failed


if __name__ == "__main__":
    raise SystemExit(main())

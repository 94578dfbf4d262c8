"""Rule evaluation in steady state: one host's report against every built-in rule after a day
of 10 s history (the ingest benchmark is too short for rate/increase/predict histories to fill).
"""

from __future__ import annotations

import argparse
import time

from agent.report import SCHEMA_V1, ProbeResult, Report
from bench.fleet import SAMPLES_PER_REPORT, realistic_samples
from rules.engine import RuleEngine
from rules.loader import load_rules

INTERVAL = 10.0


def run(history_hours: float = 24.0, measured: int = 500) -> dict[str, float]:
    """Fill the histories for `history_hours`, then time `measured` evaluations."""
    engine = RuleEngine(load_rules())
    reports = [
        Report(
            SCHEMA_V1,
            "h",
            0.0,
            k,
            "bench",
            INTERVAL,
            [ProbeResult("host", "ok", 0.001, realistic_samples(k % 7))],
        )
        for k in range(50)
    ]
    warm = int(history_hours * 3600 / INTERVAL)
    for k in range(warm):
        engine.evaluate(reports[k % 50], k * INTERVAL)
    started = time.process_time()
    for k in range(warm, warm + measured):
        engine.evaluate(reports[k % 50], k * INTERVAL)
    cpu = time.process_time() - started
    return {
        "history_hours": history_hours,
        "rules": float(len(engine.rules.rules)),
        "cpu_us_per_report": cpu / measured * 1e6,
        "history_points_per_host": float(sum(len(h.points) for h in engine._histories.values())),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.rule_evaluation")
    parser.add_argument("--hours", type=float, default=24.0, help="history to fill first")
    figures = run(parser.parse_args(argv).hours)
    print(
        f"rule evaluation, steady state (one host, {SAMPLES_PER_REPORT} samples, "
        "all built-in rules):"
    )
    for name, value in figures.items():
        print(f"  {name:28s} {value:12,.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

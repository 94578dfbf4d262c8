"""`make bench`: the agent's cost per cycle, then the collector's ingest rate. Prints figures."""

from __future__ import annotations

import argparse

from bench import agent_cycle, collector_ingest, rule_evaluation


def main() -> int:
    """Run both benchmarks with their defaults (override with the flags below)."""
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--agents", type=int, default=1000, help="simulated agents")
    parser.add_argument("--seconds", type=float, default=10.0, help="collector load duration")
    parser.add_argument("--cycles", type=int, default=500, help="agent cycles to time")
    args = parser.parse_args()
    agent_cycle.main(["--cycles", str(args.cycles)])
    print()
    rule_evaluation.main([])
    print()
    collector_ingest.main(["--agents", str(args.agents), "--seconds", str(args.seconds)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

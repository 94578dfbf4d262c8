"""`watchkeeper rules noise`: each rule's noise figure over a period, from the collector's API.

Talks to the collector like `watchkeeper incidents` (same --url, token and environment).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from collector.incidents_cli import (
    CliError,
    IncidentClient,
    collector_url,
    common_options,
    read_token,
    table,
)
from collector.notify.units import format_duration

HEADER = ["RULE", "INCIDENTS", "SENT", "ACKED", "ACK MEDIAN", "ACK P90", "FLAPPING", "HELD"]


def build_parser() -> argparse.ArgumentParser:
    """`watchkeeper rules noise [--since 7d] [--until TIME] [--top N]`."""
    parser = argparse.ArgumentParser(
        prog="watchkeeper rules noise",
        description="Which rules told people most, and how much of it they answered.",
        parents=[common_options()],
    )
    parser.add_argument("--since", default="7d", help="ISO time or a duration back (7d)")
    parser.add_argument("--until", help="ISO time or a duration back (default now)")
    parser.add_argument("--top", type=int, default=20, help="how many rules to print (20)")
    return parser


def _line(figure: Mapping[str, Any]) -> list[str]:
    def took(seconds: float | None) -> str:
        return "-" if seconds is None else format_duration(seconds)

    held = figure["silenced"] + figure["inhibited"]
    return [
        figure["rule"],
        str(figure["incidents"]),
        str(figure["notifications"]),
        str(figure["acknowledged"]),
        took(figure["ack_median_seconds"]),
        took(figure["ack_p90_seconds"]),
        str(figure["flapping"]),
        str(held),
    ]


def noise_command(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    """Print the figures; 0 on success, 1 with the API's message."""
    env = os.environ if environ is None else environ
    args = build_parser().parse_args(list(argv))
    for name, default in {"url": None, "token": None, "token_file": None, "json": False}.items():
        setattr(args, name, getattr(args, name, default))
    params = {"since": args.since, **({"until": args.until} if args.until else {})}
    try:
        client = IncidentClient(
            collector_url(args, env), read_token(args, env), getattr(args, "timeout", 10.0)
        )
        found: Any = client.get("/api/v1/rules/noise", params)
    except CliError as exc:
        print(f"watchkeeper rules noise: {exc.message}", file=sys.stderr)
        return exc.exit_code
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0
    print(f"{found['since']} .. {found['until']}")
    rows = [HEADER] + [_line(f) for f in found["rules"][: args.top]]
    print("\n".join(table(rows)) if found["rules"] else "no rule opened or told anything")
    return 0

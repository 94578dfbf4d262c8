"""`watchkeeper silence add|list|expire`: silences and maintenance windows over the API.

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
    format_when,
    read_token,
    table,
)


def build_parser() -> argparse.ArgumentParser:
    """`watchkeeper silence COMMAND ...`."""
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="watchkeeper silence",
        description="Hold back the messages of matching incidents for a while, or every week.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add = sub.add_parser("add", parents=[common], help="add a silence or maintenance window")
    add.add_argument(
        "--match",
        "-m",
        action="append",
        default=[],
        metavar="LABEL=VALUE",
        help='repeatable; VALUE as in rules: "x", "!x", "~regex", "!~regex" (host=web1)',
    )
    add.add_argument("--reason", "-r", required=True, help="why (shown on every incident held)")
    add.add_argument("--for", dest="duration", help="how long from now (or --start), e.g. 2h")
    add.add_argument("--start", help="ISO time it starts (default now)")
    add.add_argument("--end", help="ISO time it ends (instead of --for)")
    add.add_argument("--cron", help="a recurring maintenance window: '0 2 * * SUN'")
    add.add_argument("--window", help="with --cron: how long each window lasts, e.g. 2h")
    add.add_argument("--timezone", default="UTC", help="with --cron: IANA zone (UTC)")
    add.add_argument(
        "--maintenance",
        action="store_true",
        help="a one-off maintenance window (hosts may go silent: no AgentSilent)",
    )
    add.add_argument("--customer", help="a maintenance window for this customer (its hosts)")
    add.add_argument(
        "--notify-before",
        action="append",
        default=[],
        metavar="LEAD",
        help="repeatable: tell the customer's contacts this long before each start (24h)",
    )
    add.add_argument(
        "--notify-end", action="store_true", help="tell the customer's contacts when it ends"
    )
    listing = sub.add_parser("list", parents=[common], help="silences in force or to come")
    listing.add_argument("--ended", action="store_true", help="ended ones too")
    expire = sub.add_parser("expire", parents=[common], help="end a silence now")
    expire.add_argument("silence_id", type=int)
    return parser


def _body(args: argparse.Namespace) -> dict[str, Any]:
    matchers: dict[str, str] = {}
    for item in args.match:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CliError(f"--match takes LABEL=VALUE, e.g. host=web1; got {item!r}", 2)
        matchers[name.strip()] = value
    body: dict[str, Any] = {"matchers": matchers, "reason": args.reason}
    for key, value in (("starts_at", args.start), ("ends_at", args.end)):
        if value:
            body[key] = value
    if args.duration:
        body["duration"] = args.duration
    if args.maintenance:
        body["kind"] = "maintenance"
    if args.customer:
        body["customer"] = args.customer
    if args.notify_before or args.notify_end:
        body["notify"] = {"before": args.notify_before, "end": args.notify_end}
    if args.cron:
        if not args.window:
            raise CliError("--cron needs --window, e.g. --cron '0 2 * * SUN' --window 2h", 2)
        body["recurrence"] = {"cron": args.cron, "duration": args.window, "timezone": args.timezone}
    return body


def _line(silence: Mapping[str, Any]) -> list[str]:
    matchers = ",".join(f"{k}={v}" for k, v in silence["matchers"].items())
    if silence.get("customer"):
        derived = silence["matchers"].get("host", "").startswith("~(?s:")  # its host patterns
        matchers = f"customer={silence['customer']}" + ("" if derived else f",{matchers}")
    recurrence = silence.get("recurrence")
    when = (
        f"{recurrence['cron']} ({recurrence['timezone']}) for {recurrence['duration']:g}s"
        if recurrence
        else f"{format_when(silence['starts_at'])} .. {format_when(silence['ends_at'])}"
    )
    state = "ACTIVE" if silence["active"] else ("ended" if silence.get("expired_at") else "-")
    return [str(silence["id"]), silence["kind"], state, matchers, when, silence["reason"]]


def silence_command(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    """Run one sub-command; 0 on success, 1 with the API's message, 2 for usage."""
    env = os.environ if environ is None else environ
    args = build_parser().parse_args(list(argv))
    for name, default in {"url": None, "token": None, "token_file": None, "json": False}.items():
        setattr(args, name, getattr(args, name, default))
    args.timeout = getattr(args, "timeout", 10.0)
    try:
        client = IncidentClient(collector_url(args, env), read_token(args, env), args.timeout)
        if args.command == "add":
            found: Any = client.post("/api/v1/silences", _body(args))
        elif args.command == "expire":
            found = client.post(f"/api/v1/silences/{args.silence_id}/expire", {})
        else:
            found = client.get("/api/v1/silences", {"ended": "1"} if args.ended else None)
    except CliError as exc:
        print(f"watchkeeper silence: {exc.message}", file=sys.stderr)
        return exc.exit_code
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
    elif args.command == "list":
        rows = [["ID", "KIND", "STATE", "MATCHERS", "WHEN (UTC)", "REASON"]]
        print("\n".join(table(rows + [_line(s) for s in found])))
    else:
        print("\n".join(table([_line(found)])))
    return 0

"""`watchkeeper hosts list|retire`: the hosts a collector knows, and retiring one for good.

Talks to the collector like `watchkeeper incidents` (same --url, token and environment).
Retiring needs an admin's token and --yes: it forgets the host's state at once, resolves its
open rule incidents and cannot be undone (a report under its name later makes a new host).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from collector.incidents_cli import (
    EXIT_USAGE,
    CliError,
    IncidentClient,
    collector_url,
    common_options,
    format_when,
    read_token,
    table,
)


def build_parser() -> argparse.ArgumentParser:
    """`watchkeeper hosts COMMAND ...`."""
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="watchkeeper hosts",
        description="The hosts a collector knows; retire one that is gone for good.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", parents=[common], help="every host with its health and last report")
    retire = sub.add_parser(
        "retire",
        parents=[common],
        help="forget a decommissioned host and resolve its rule incidents (admin)",
    )
    retire.add_argument("name", help="the host's name as listed")
    retire.add_argument("--reason", "-r", default="", help="why (on timelines and in the audit)")
    retire.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    return parser


def _retire(client: IncidentClient, args: argparse.Namespace) -> Any:
    if not args.yes:
        raise CliError(
            f"retiring {args.name} forgets its state and resolves its open rule incidents; "
            "add --yes to confirm",
            EXIT_USAGE,
        )
    params = {"reason": args.reason} if args.reason else None
    return client.delete(f"/api/v1/hosts/{quote(args.name, safe='')}", params)


def _retired_lines(done: Mapping[str, Any]) -> list[str]:
    lines = [f"retired {done['host']} ({done['incidents_resolved']} incident(s) resolved)"]
    if done["resolved"]:
        lines.append(f"resolved: {', '.join(done['resolved'])}")
    if done["left_open"]:
        lines.append(f"still open, opened by people: {', '.join(done['left_open'])}")
    return lines


def _host_line(host: Mapping[str, Any]) -> list[str]:
    return [
        host["name"],
        host["health"],
        format_when(host["last_seen"]),
        str(host["open_incidents"]),
        host["agent_version"] or "-",
    ]


def hosts_command(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    """Run one sub-command; 0 on success, 1 with the API's message, 2 for usage."""
    env = os.environ if environ is None else environ
    args = build_parser().parse_args(list(argv))
    for name, default in {"url": None, "token": None, "token_file": None, "json": False}.items():
        setattr(args, name, getattr(args, name, default))
    args.timeout = getattr(args, "timeout", 10.0)
    try:
        client = IncidentClient(collector_url(args, env), read_token(args, env), args.timeout)
        found = _retire(client, args) if args.command == "retire" else client.get("/api/v1/hosts")
    except CliError as exc:
        print(f"watchkeeper hosts: {exc.message}", file=sys.stderr)
        return exc.exit_code
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
    elif args.command == "retire":
        print("\n".join(_retired_lines(found)))
    else:
        rows = [["HOST", "HEALTH", "LAST REPORT (UTC)", "OPEN", "AGENT"]]
        print("\n".join(table(rows + [_host_line(h) for h in found])))
    return 0

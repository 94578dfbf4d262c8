"""`watchkeeper kb`: search the knowledge base (and add an entry) through the collector's API."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from collector.incidents_cli import (
    CliError,
    IncidentClient,
    collector_url,
    common_options,
    read_token,
)


def entry_lines(match: Mapping[str, Any]) -> list[str]:
    """One entry as a readable block: score and title, then cause, fix and where it came from."""
    source = match.get("source_incident") or "written by hand"
    lines = [f"{match.get('score', 0):.2f}  {match['title']}"]
    lines += [f"      cause:  {match['cause']}", f"      fix:    {match['fix']}"]
    tags = ", ".join(match.get("tags") or [])
    lines.append(f"      from:   {source}" + (f"  tags: {tags}" if tags else ""))
    return lines


def search(client: IncidentClient, args: argparse.Namespace) -> None:
    """`search`: the best entries first."""
    found = client.get("/api/v1/kb", {"q": " ".join(args.text)})
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
    elif not found:
        print("no matching entries")
    else:
        print("\n".join(line for match in found for line in entry_lines(match)))


def add(client: IncidentClient, args: argparse.Namespace) -> None:
    """`add`: write an entry by hand; prints its id."""
    labels = dict(_label(text) for text in args.label)
    body = {
        "title": args.title,
        "cause": args.cause,
        "fix": args.fix,
        "rule": args.rule,
        "labels": labels,
        "tags": args.tag,
    }
    stored = client.post("/api/v1/kb", body)
    print(json.dumps(stored, indent=2, ensure_ascii=False) if args.json else stored["id"])


def _label(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise CliError(f"--label {text!r}: expected NAME=VALUE, e.g. --label mount=/", 2)
    return name, value


def build_parser() -> argparse.ArgumentParser:
    """`watchkeeper kb COMMAND ...`."""
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="watchkeeper kb",
        description="Search the knowledge base: causes and fixes of past incidents.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    finding = sub.add_parser("search", help="entries matching the words", parents=[common])
    finding.add_argument("text", nargs="+", help="words, e.g. disk full db")
    adding = sub.add_parser("add", help="write an entry by hand", parents=[common])
    adding.add_argument("title")
    adding.add_argument("--cause", required=True, help="what caused it")
    adding.add_argument("--fix", required=True, help="what fixed it")
    adding.add_argument("--rule", default="", help="the rule it belongs to, e.g. DiskFull")
    adding.add_argument("--label", action="append", default=[], help="NAME=VALUE, repeatable")
    adding.add_argument("--tag", action="append", default=[], help="repeatable")
    return parser


HANDLERS: dict[str, Callable[[IncidentClient, argparse.Namespace], None]] = {
    "search": search,
    "add": add,
}


def kb_command(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    """Run one sub-command; 0 on success, 1 with the API's message on stderr, 2 for usage."""
    env = os.environ if environ is None else environ
    args = build_parser().parse_args(list(argv))
    defaults = {"url": None, "token": None, "token_file": None, "json": False, "timeout": 10.0}
    for name, default in defaults.items():
        setattr(args, name, getattr(args, name, default))
    try:
        client = IncidentClient(collector_url(args, env), read_token(args, env), args.timeout)
        HANDLERS[args.command](client, args)
    except CliError as exc:
        print(f"watchkeeper kb: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return 0

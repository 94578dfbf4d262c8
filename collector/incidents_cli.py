"""`watchkeeper incidents`: list, show, open and act on incidents through the collector's API.

Found by the `watchkeeper` command through the "watchkeeper.commands" entry points. It speaks
HTTP only, so it works the same against a collector on another machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from collector.notify.units import format_duration

DEFAULT_URL = "http://127.0.0.1:9810"
PRIORITIES = ["P1", "P2", "P3", "P4"]
STATES = "active (default), triggered, acknowledged, waiting, resolved, verifying, closed, all"
TOKEN_HINT = "give --token-file FILE, or set WATCHKEEPER_TOKEN_FILE or WATCHKEEPER_TOKEN"
EXIT_ERROR, EXIT_USAGE = 1, 2

Clock = Callable[[], float]


class CliError(Exception):
    """A message for the operator's stderr and the exit code that goes with it."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class IncidentClient:
    """The incident API over HTTP; any failure becomes a CliError saying what went wrong."""

    def __init__(self, url: str, token: str | None, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._session = requests.Session()

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """GET `path`, the decoded JSON answer."""
        return self._call("GET", path, params=params)

    def post(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST `body` as JSON to `path`, the decoded JSON answer."""
        return self._call("POST", path, json=body)

    def delete(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """DELETE `path`, the decoded JSON answer."""
        return self._call("DELETE", path, params=params)

    def get_text(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """GET `path`, the answer as text (a report)."""
        return self._send("GET", path, params=params).text

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise CliError(f"{self.url}{path} answered something that is not JSON") from exc

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        target = f"{self.url}{path}"
        try:
            response = self._session.request(
                method, target, headers=headers, timeout=self._timeout, **kwargs
            )
        except requests.ConnectionError as exc:
            raise CliError(
                f"cannot reach the collector at {self.url} ({_reason(exc)}); "
                "check --url or WATCHKEEPER_URL"
            ) from exc
        except requests.Timeout as exc:
            raise CliError(
                f"the collector at {self.url} did not answer within {self._timeout:g} s"
            ) from exc
        if not response.ok:
            raise CliError(_error_message(response, target))
        return response


def _reason(exc: requests.RequestException) -> str:
    # requests buries the OS error deep in a urllib3 repr; the errno text is what people need.
    found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", str(exc))
    return found.group(1).strip() if found else type(exc).__name__


def _error_message(response: requests.Response, target: str) -> str:
    try:
        error = response.json()["error"]
        message = str(error["message"])
    except (ValueError, KeyError, TypeError):
        return f"{target} answered HTTP {response.status_code}: {response.text[:200].strip()}"
    if response.status_code == 401:
        message += f"; {TOKEN_HINT}"
    return message


def collector_url(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """--url, else WATCHKEEPER_URL, else the local default."""
    return str(args.url or environ.get("WATCHKEEPER_URL") or DEFAULT_URL)


def read_token(args: argparse.Namespace, environ: Mapping[str, str]) -> str | None:
    """The API token: --token, --token-file, WATCHKEEPER_TOKEN, WATCHKEEPER_TOKEN_FILE."""
    if args.token:
        return str(args.token)
    if args.token_file is not None:
        return _token_from_file(Path(args.token_file), "--token-file")
    if environ.get("WATCHKEEPER_TOKEN"):
        return environ["WATCHKEEPER_TOKEN"].strip()
    if environ.get("WATCHKEEPER_TOKEN_FILE"):
        return _token_from_file(Path(environ["WATCHKEEPER_TOKEN_FILE"]), "WATCHKEEPER_TOKEN_FILE")
    return None


def _token_from_file(path: Path, source: str) -> str:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise CliError(f"{source}: cannot read {path}: {exc.strerror}", EXIT_USAGE) from exc
    if not lines or not lines[0].strip():
        raise CliError(f"{source}: {path} is empty; it must hold the token", EXIT_USAGE)
    return lines[0].strip()


# ---- formatting -------------------------------------------------------------------------


def _seconds(iso: str | None) -> float | None:
    return datetime.fromisoformat(iso).timestamp() if iso else None


def format_when(iso: str | None) -> str:
    at = _seconds(iso)
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if at else "-"


def _age(incident: Mapping[str, Any], now: float) -> str:
    opened = _seconds(incident.get("opened_at"))
    return format_duration(now - opened) if opened is not None else "-"


def _hosts(incident: Mapping[str, Any]) -> str:
    return ",".join(incident.get("hosts") or []) or incident.get("host") or "-"


def incident_row(incident: Mapping[str, Any], now: float) -> list[str]:
    """NUMBER, PRIORITY, STATE, AGE, HOST, SUMMARY of one incident."""
    return [
        incident["number"],
        incident["priority"],
        incident["state"],
        _age(incident, now),
        _hosts(incident),
        incident["summary"],
    ]


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines with aligned columns (the last one is not padded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]


def detail_lines(incident: Mapping[str, Any], now: float) -> list[str]:
    """The readable block of `show`: header, fields, description, timeline (with deliveries)."""
    head = f"{incident['number']}  {incident['priority']}  {incident['state']}"
    lines = [f"{head}  (opened {_age(incident, now)} ago)", incident["summary"], ""]
    acked = incident.get("acknowledged_at")
    fields = [
        ("Rule", incident.get("rule")),
        ("Hosts", _hosts(incident)),
        ("Opened", format_when(incident.get("opened_at"))),
        ("Acknowledged", acked and f"{format_when(acked)} by {incident.get('acknowledged_by')}"),
        ("Resolved", incident.get("resolved_at") and format_when(incident.get("resolved_at"))),
        ("Closed", incident.get("closed_at") and format_when(incident.get("closed_at"))),
        ("Assignee", incident.get("assignee")),
        ("Reporter", incident.get("reporter")),
        ("Contact", incident.get("contact")),
        ("Reopened", incident.get("reopen_count") and f"{incident['reopen_count']} time(s)"),
        ("Policy", incident.get("policy") and _tier(incident)),
        ("SLA", "; ".join(_clock(c) for c in incident.get("sla") or [])),
    ]
    lines += [f"  {name + ':':<14}{value}" for name, value in fields if value]
    if incident.get("description"):
        lines += ["", *(f"  {line}" for line in str(incident["description"]).splitlines())]
    timeline = incident.get("timeline") or []
    if timeline:
        lines += ["", "Timeline:"]
        rows = [
            [format_when(e["at"]), e["name"], e["actor"], e.get("detail") or ""] for e in timeline
        ]
        lines += [f"  {line}".rstrip() for line in table(rows)]
    return lines


def _tier(incident: Mapping[str, Any]) -> str:
    tier = incident.get("escalation_tier")
    return f"{incident['policy']}" + (f", tier {tier} paged" if tier else "")


def _clock(clock: Mapping[str, Any]) -> str:
    """ "ack breached", "resolve ok, 42m10s left"."""
    name = {"ack": "first response", "resolve": "resolution"}.get(clock["clock"], clock["clock"])
    left = clock.get("seconds_left")
    if left is None or clock["state"] in ("met", "breached"):
        return f"{name} {clock['state']}"
    return f"{name} {clock['state']}, {format_duration(left)} left"


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


# ---- commands ---------------------------------------------------------------------------


def _path(reference: str, action: str = "") -> str:
    path = f"/api/v1/incidents/{quote(reference.strip(), safe='')}"
    return f"{path}/{action}" if action else path


def list_incidents(client: IncidentClient, args: argparse.Namespace, now: float) -> None:
    """`list`: one aligned line per incident, newest first."""
    params = {"state": args.state, "limit": str(args.limit)}
    if args.host:
        params["host"] = args.host
    found = client.get("/api/v1/incidents", params)
    if args.json:
        _print_json(found)
    elif not found:
        print(f"no incidents (state: {args.state})")
    else:
        header = ["NUMBER", "PRI", "STATE", "AGE", "HOST", "SUMMARY"]
        print("\n".join(table([header, *(incident_row(i, now) for i in found)])))


def show_incident(client: IncidentClient, args: argparse.Namespace, now: float) -> None:
    """`show`: the incident, its fields and its timeline."""
    incident = client.get(_path(args.reference))
    if args.json:
        _print_json(incident)
    else:
        print("\n".join(detail_lines(incident, now)))


def open_incident(client: IncidentClient, args: argparse.Namespace, now: float) -> None:
    """`open`: prints the new ticket number (alone, so scripts can capture it)."""
    body = {
        "title": args.title,
        "priority": args.priority,
        "description": args.description,
        "hosts": args.hosts,
        "reporter": args.reporter,
        "contact": args.contact,
    }
    opened = client.post("/api/v1/incidents", body)
    if args.json:
        _print_json(opened)
    else:
        print(opened["number"])


def report_incident(client: IncidentClient, args: argparse.Namespace, now: float) -> None:
    """`report`: the fault analysis report, Markdown or HTML, to stdout or --output."""
    text = client.get_text(_path(args.reference, "report"), {"format": args.format})
    if args.output is None:
        print(text, end="")
        return
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"--output: cannot write {args.output}: {exc.strerror}") from exc


# CLI verb -> (API action, how the parsed arguments become its body)
ACTIONS: dict[str, tuple[str, Callable[[argparse.Namespace], dict[str, Any]]]] = {
    "ack": ("ack", lambda a: {"note": a.note}),
    "assign": ("assign", lambda a: {"assignee": a.assignee}),
    "note": ("notes", lambda a: {"text": a.text}),
    "regrade": ("regrade", lambda a: {"priority": a.priority, "reason": a.reason}),
    "resolve": ("resolve", lambda a: {"note": a.note}),
    "reopen": ("reopen", lambda a: {"reason": a.reason}),
    "verify": ("verify", lambda a: {"note": a.note}),
    "close": ("close", lambda a: {"note": a.note}),
    "wait": ("wait", lambda a: {"note": a.note}),
    "resume": ("resume", lambda a: {"note": a.note}),
}


def act_on_incident(client: IncidentClient, args: argparse.Namespace, now: float) -> None:
    """A person's action; prints the incident's line as it now stands."""
    action, body = ACTIONS[args.command]
    changed = client.post(_path(args.reference, action), body(args))
    if args.json:
        _print_json(changed)
    else:
        print("  ".join(incident_row(changed, now)))


# ---- arguments --------------------------------------------------------------------------


def common_options() -> argparse.ArgumentParser:
    # SUPPRESS: the options work before or after the sub-command without one hiding the other.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--url", help=f"collector URL (env WATCHKEEPER_URL, default {DEFAULT_URL})")
    common.add_argument(
        "--token-file",
        metavar="FILE",
        help="file holding the API token (env WATCHKEEPER_TOKEN_FILE)",
    )
    common.add_argument(
        "--token", help="the API token itself (visible in `ps`: prefer a file or WATCHKEEPER_TOKEN)"
    )
    common.add_argument("--json", action="store_true", help="print the API's JSON")
    common.add_argument("--timeout", type=float, help="seconds to wait for the collector (10)")
    return common


def build_parser() -> argparse.ArgumentParser:
    """`watchkeeper incidents COMMAND ...`."""
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="watchkeeper incidents",
        description="List, show, open and act on incidents through the collector's API.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str, reference: bool = True) -> argparse.ArgumentParser:
        added = sub.add_parser(name, help=help_text, parents=[common], description=help_text)
        if reference:
            added.add_argument("reference", metavar="ID|NUMBER", help="e.g. 17 or INC-2026-000017")
        return added

    listing = command("list", "incidents, newest first, one per line", reference=False)
    listing.add_argument("--state", default="active", help=f"comma-separated: {STATES}")
    listing.add_argument("--host", help="only incidents of this host")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (100)")
    command("show", "one incident with its timeline")
    report = command("report", "the fault analysis report (timeline, SLA, root cause)")
    report.add_argument("--format", choices=["md", "html"], default="md", help="default md")
    report.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    opening = command("open", "open an incident by hand; prints its ticket number", False)
    opening.add_argument("title", help="what is wrong, in one line")
    opening.add_argument("--priority", choices=PRIORITIES, default="P3", help="default P3")
    opening.add_argument("--description", default="", help="details, what was tried")
    opening.add_argument("--host", dest="hosts", action="append", default=[], help="repeatable")
    opening.add_argument("--reporter", help="who reported it (default: the token's name)")
    opening.add_argument("--contact", help="how to reach the reporter")
    _add_action_commands(command)
    return parser


def _add_action_commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """The person actions: ack, assign, note, regrade, resolve, reopen, verify, close, wait,
    resume."""
    note = "a note for the timeline"
    command("ack", "acknowledge: stops re-notification").add_argument(
        "--note", "-m", default="", help=note
    )
    command("assign", "assign to a person").add_argument("assignee")
    command("note", "add a note to the timeline").add_argument("text")
    regrade = command("regrade", "change the priority")
    regrade.add_argument("priority", choices=PRIORITIES)
    regrade.add_argument("--reason", "-m", required=True, help="why (kept on the timeline)")
    command("resolve", "resolve").add_argument("--note", "-m", default="", help=note)
    command("reopen", "reopen a resolved incident").add_argument("--reason", "-m", default="")
    command("verify", "ask the reporter to verify").add_argument(
        "--note", "-m", default="", help=note
    )
    command("close", "close").add_argument("--note", "-m", default="", help=note)
    command("wait", "wait on the customer: resolve and update clocks pause").add_argument(
        "--note", "-m", default="", help="what was asked of the customer"
    )
    command("resume", "the wait is over: back to acknowledged").add_argument(
        "--note", "-m", default="", help=note
    )


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """The command line, every common option present; exits 2 with the usage if it is wrong."""
    args = build_parser().parse_args(list(argv))
    defaults = {"url": None, "token": None, "token_file": None, "json": False, "timeout": 10.0}
    for name, default in defaults.items():
        setattr(args, name, getattr(args, name, default))
    return args


HANDLERS: dict[str, Callable[[IncidentClient, argparse.Namespace, float], None]] = {
    "list": list_incidents,
    "show": show_incident,
    "report": report_incident,
    "open": open_incident,
    **dict.fromkeys(ACTIONS, act_on_incident),
}


def incidents_command(
    argv: Sequence[str],
    environ: Mapping[str, str] | None = None,
    clock: Clock = time.time,
) -> int:
    """Run one sub-command; 0 on success, 1 with the API's message on stderr, 2 for usage."""
    env = os.environ if environ is None else environ
    args = parse_arguments(argv)
    try:
        client = IncidentClient(collector_url(args, env), read_token(args, env), args.timeout)
        HANDLERS[args.command](client, args, clock())
    except CliError as exc:
        print(f"watchkeeper incidents: {exc.message}", file=sys.stderr)
        return exc.exit_code
    return 0

"""`watchkeeper oncall` (who is on call now and next) and `watchkeeper config check`.

Both read the files directly; found by `watchkeeper` through the "watchkeeper.commands" entry
points. With `--collector collector.yaml`, `oncall` reads the merged directory the collector
uses: its response file with the people and teams managed through the API (which win).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from agent.configfile import ConfigError
from collector.response.ical import person_feed, schedule_feed
from collector.response.model import ResponseConfig, load_response
from collector.response.oncall import (
    DEFAULT_WINDOW,
    Shift,
    current_shift,
    next_shift,
    team_schedules,
)
from collector.response.schedules import Schedule
from rules.loader import RuleLoadError

DEFAULT_FILE = Path("response.yaml")
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO time like 2026-03-29T09:00+02:00, got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.astimezone()


def oncall_parser() -> argparse.ArgumentParser:
    """Arguments of `watchkeeper oncall`."""
    parser = argparse.ArgumentParser(
        prog="watchkeeper oncall", description="Who is on call now and next."
    )
    parser.add_argument("name", nargs="?", help="schedule or team id (default: every schedule)")
    parser.add_argument(
        "--at", type=_instant, help="ISO time to ask about (no offset: this machine's zone)"
    )
    parser.add_argument("--config", type=Path, default=DEFAULT_FILE, help="response YAML file")
    parser.add_argument(
        "--collector",
        type=Path,
        help="collector YAML: its response file with the people and teams stored through the "
        "API (instead of --config)",
    )
    parser.add_argument(
        "--ical",
        action="store_true",
        help="print an iCalendar feed of the schedule's or person's shifts instead",
    )
    parser.add_argument("--weeks", type=int, default=4, help="weeks the --ical feed covers")
    return parser


def oncall_command(argv: Sequence[str], clock: Clock = _utc_now) -> int:
    """`watchkeeper oncall`: 0 when answered, 1 for a bad file or unknown name."""
    args = oncall_parser().parse_args(list(argv))
    if args.collector is not None:
        config, args.config = _merged(args.collector)
    else:
        config = _load(args.config)
    if config is None:
        return 1
    at = args.at or clock()
    if args.ical:
        return _print_feed(config, args.name, at, args.weeks, args.config)
    schedules = _schedules_named(config, args.name, args.config)
    if schedules is None:
        return 1
    for schedule in schedules:
        print(describe(config, schedule, at))
    return 0


def describe(config: ResponseConfig, schedule: Schedule, at: datetime) -> str:
    """The on-call answer for one schedule: a heading, who now, who next."""
    running = current_shift(schedule, at)
    following = next_shift(schedule, at)
    lines = [f"{schedule.id} ({schedule.title}, {schedule.timezone}) at {_local(at, schedule)}"]
    if running is None:
        lines.append("  now:  nobody is on call")
    else:
        # Without a next shift the running one may have no end worth printing.
        ends = running.end if following or running.end < at + DEFAULT_WINDOW else None
        until = f", until {_local(ends, schedule)}" if ends else ""
        lines.append(
            f"  now:  {_who(config, running)}  since {_local(running.start, schedule)}{until}"
        )
    if following is None:
        still = f"{running.person} stays on call" if running else "nobody is on call"
        lines.append(f"  next: nobody else within {DEFAULT_WINDOW.days} days ({still})")
    else:
        lines.append(
            f"  next: {_who(config, following)}  from {_local(following.start, schedule)}, "
            f"until {_local(following.end, schedule)}"
        )
    return "\n".join(lines)


def _who(config: ResponseConfig, shift: Shift) -> str:
    person = config.person(shift.person)
    return f"{person.name} ({person.id})" if person else shift.person


def _local(moment: datetime, schedule: Schedule) -> str:
    return moment.astimezone(schedule.zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _schedules_named(
    config: ResponseConfig, name: str | None, path: Path
) -> Sequence[Schedule] | None:
    if name is None:
        if not config.schedules:
            print(f"{path}: defines no schedules; add one under schedules:", file=sys.stderr)
            return None
        return config.schedules
    schedule = config.schedule(name)
    if schedule is not None:
        return [schedule]
    team = config.team(name)
    if team is not None:
        found = team_schedules(config, name)
        if not found:
            print(
                f"{path}: team {name!r} names no schedules; add `schedules: [...]` to it",
                file=sys.stderr,
            )
            return None
        print(f"team {team.id} ({team.name}): {', '.join(s.id for s in found)}")
        return found
    schedules = ", ".join(s.id for s in config.schedules) or "none"
    teams = ", ".join(t.id for t in config.teams) or "none"
    print(
        f"watchkeeper oncall: no schedule or team {name!r} in {path} "
        f"(schedules: {schedules}; teams: {teams})",
        file=sys.stderr,
    )
    return None


def _print_feed(
    config: ResponseConfig, name: str | None, at: datetime, weeks: int, path: Path
) -> int:
    schedule = config.schedule(name) if name else None
    if schedule is not None:
        sys.stdout.write(schedule_feed(config, schedule, at, weeks))
        return 0
    if name is not None and config.person(name) is not None:
        sys.stdout.write(person_feed(config, name, at, weeks))
        return 0
    print(f"watchkeeper oncall --ical: name a schedule or person of {path}", file=sys.stderr)
    return 1


def _load(path: Path) -> ResponseConfig | None:
    try:
        return load_response(path)
    except RuleLoadError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
    return None


def _merged(path: Path) -> tuple[ResponseConfig | None, Path]:
    """The collector's merged directory, and its response file's path (for messages)."""
    from collector.config import load_config
    from collector.response.roster import Roster
    from collector.store.database import open_database
    from collector.store.people import PeopleStore

    try:
        collector = load_config(path)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return None, path
    if collector.response is None:
        print(f"{path}: sets no `response:` file; nobody is on call", file=sys.stderr)
        return None, path
    seed = _load(collector.response)
    if seed is None:
        return None, collector.response
    from sqlalchemy.exc import SQLAlchemyError

    store = PeopleStore(open_database(collector.database))
    try:
        return Roster(seed, store, time.time).load(), collector.response
    except SQLAlchemyError as exc:  # the URL may hold a password: name the file, not the URL
        print(
            f"{path}: cannot read the people stored through the API from its database "
            f"({type(exc).__name__}); has this collector been started or migrated?",
            file=sys.stderr,
        )
        return None, collector.response


def _check_agent(path: Path) -> str:
    from agent.settings import load_settings

    load_settings(path)
    return "agent settings"


def _check_collector(path: Path) -> str:
    from collector.config import load_config

    load_config(path)
    return "collector config"


def _check_response(path: Path) -> str:
    config = load_response(path)
    counts = {
        "people": len(config.people),
        "teams": len(config.teams),
        "schedules": len(config.schedules),
        "policies": len(config.policies),
    }
    return ", ".join(f"{count} {noun}" for noun, count in counts.items())


CHECKERS: dict[str, Callable[[Path], str]] = {
    "agent": _check_agent,
    "collector": _check_collector,
    "response": _check_response,
}


def config_command(argv: Sequence[str]) -> int:
    """`watchkeeper config check KIND FILE...`: 0 when valid, 1 with `file:line: problem`."""
    parser = argparse.ArgumentParser(prog="watchkeeper config")
    sub = parser.add_subparsers(dest="action", required=True)
    check = sub.add_parser("check", help="validate a config file without starting anything")
    check.add_argument("kind", choices=sorted(CHECKERS), help="which kind of file")
    check.add_argument("paths", type=Path, nargs="+")
    args = parser.parse_args(list(argv))
    failed = False
    for path in args.paths:
        try:
            summary = CHECKERS[args.kind](path)
        except RuleLoadError as exc:
            failed = True
            for error in exc.errors:
                print(error, file=sys.stderr)
        except ConfigError as exc:
            failed = True
            print(exc, file=sys.stderr)
        else:
            print(f"OK: {path}: {summary}")
    return 1 if failed else 0


__all__ = ["config_command", "describe", "oncall_command"]

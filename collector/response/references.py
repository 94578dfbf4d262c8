"""Cross-reference checks of a response file: duplicate ids, unknown ids, missing calendars.

Each problem comes back as (key path, message) so the loader can name the line at fault.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from agent.configfile import KeyPath, format_path

if TYPE_CHECKING:
    from collector.response.model import ResponseConfig

Problem = tuple[KeyPath, str]
Where = Callable[[KeyPath], str]
_SHOWN_NAMES = 8


def reference_problems(config: ResponseConfig, where: Where = format_path) -> list[Problem]:
    """Every id the file uses that it does not define, and every id defined twice."""
    return [
        *_duplicates(config, where),
        *_people_problems(config),
        *_team_problems(config),
        *_schedule_problems(config),
        *_policy_problems(config),
        *_calendar_problems(config),
    ]


def _duplicates(config: ResponseConfig, where: Where) -> list[Problem]:
    problems: list[Problem] = []
    sections: list[tuple[str, str, Sequence[str]]] = [
        ("people", "person", [p.id for p in config.people]),
        ("teams", "team", [t.id for t in config.teams]),
        ("schedules", "schedule", [s.id for s in config.schedules]),
        ("policies", "policy", [p.id for p in config.policies]),
    ]
    for section, noun, ids in sections:
        first: dict[str, int] = {}
        for index, item_id in enumerate(ids):
            if item_id in first:
                earlier = where((section, first[item_id], "id"))
                problems.append(
                    (
                        (section, index, "id"),
                        f"{noun} id {item_id!r} is already used ({earlier}); "
                        f"give each {noun} its own id",
                    )
                )
            first.setdefault(item_id, index)
    return problems


def _people_problems(config: ResponseConfig) -> list[Problem]:
    problems: list[Problem] = []
    for i, person in enumerate(config.people):
        for j, rule in enumerate(person.notification_rules):
            for k, method in enumerate(rule.methods):
                if method not in person.contacts:
                    problems.append(
                        (
                            ("people", i, "notification_rules", j, "methods", k),
                            _unknown(f"contact of {person.id!r}", method, person.contacts)
                            + " (define it under the person's contacts:)",
                        )
                    )
            if rule.business_hours_only and not (person.calendar or config.sla.calendar):
                problems.append(
                    (
                        ("people", i, "notification_rules", j, "business_hours_only"),
                        "business_hours_only needs business hours: set `calendar:` on the "
                        "person or `sla.calendar`, naming one of `calendars:`",
                    )
                )
    return problems


def _team_problems(config: ResponseConfig) -> list[Problem]:
    people = [p.id for p in config.people]
    schedules = [s.id for s in config.schedules]
    problems: list[Problem] = []
    for i, team in enumerate(config.teams):
        problems += _each_known(("teams", i, "members"), team.members, "person", people)
        problems += _each_known(("teams", i, "schedules"), team.schedules, "schedule", schedules)
    return problems


def _schedule_problems(config: ResponseConfig) -> list[Problem]:
    people = [p.id for p in config.people]
    problems: list[Problem] = []
    for i, schedule in enumerate(config.schedules):
        for j, layer in enumerate(schedule.layers):
            where = ("schedules", i, "layers", j, "participants")
            problems += _each_known(where, layer.participants, "person", people)
        for j, override in enumerate(schedule.overrides):
            if override.person not in people:
                path = ("schedules", i, "overrides", j, "person")
                problems.append((path, _unknown("person", override.person, people)))
    return problems


def _policy_problems(config: ResponseConfig) -> list[Problem]:
    known = {
        "person": [p.id for p in config.people],
        "team": [t.id for t in config.teams],
        "schedule": [s.id for s in config.schedules],
    }
    policies = [p.id for p in config.policies]
    problems: list[Problem] = []
    for i, policy in enumerate(config.policies):
        for j, tier in enumerate(policy.tiers):
            for k, target in enumerate(tier.targets):
                if target.ref not in known[target.kind]:
                    where: KeyPath = ("policies", i, "tiers", j, "targets", k, target.kind)
                    problems.append((where, _unknown(target.kind, target.ref, known[target.kind])))
    for i, route in enumerate(config.routing.routes):
        if route.policy not in policies:
            problems.append(
                (("routing", "routes", i, "policy"), _unknown("policy", route.policy, policies))
            )
    default = config.routing.default
    if default is not None and default not in policies:
        problems.append((("routing", "default"), _unknown("policy", default, policies)))
    if default is None and len(policies) > 1:
        problems.append(
            (
                ("policies", 1, "id"),
                "with several policies, name the one for incidents no route matches: "
                f"routing: {{default: {policies[0]}}}",
            )
        )
    return problems


def _calendar_problems(config: ResponseConfig) -> list[Problem]:
    calendars = list(config.calendars)
    problems: list[Problem] = []
    if config.sla.calendar is not None and config.sla.calendar not in calendars:
        problems.append((("sla", "calendar"), _unknown("calendar", config.sla.calendar, calendars)))
    for i, person in enumerate(config.people):
        if person.calendar is not None and person.calendar not in calendars:
            path = ("people", i, "calendar")
            problems.append((path, _unknown("calendar", person.calendar, calendars)))
    return problems


def _each_known(
    path: KeyPath, used: Iterable[str], noun: str, known: Sequence[str]
) -> list[Problem]:
    return [
        ((*path, index), _unknown(noun, value, known))
        for index, value in enumerate(used)
        if value not in known
    ]


def _unknown(noun: str, value: str, known: Iterable[str]) -> str:
    names = list(known)
    if not names:
        return f"unknown {noun} {value!r}: none are defined yet"
    close = difflib.get_close_matches(value, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    shown = ", ".join(names[:_SHOWN_NAMES]) + (", ..." if len(names) > _SHOWN_NAMES else "")
    return f"unknown {noun} {value!r}{hint} (known: {shown})"

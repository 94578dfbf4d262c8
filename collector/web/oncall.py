"""The on-call page: each schedule's person now and next and its shifts for the coming week,
teams, escalation policies with whom each tier would page now, and people; all from the
merged directory (response.yaml with the people and teams managed through the API)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from collector.response.base import zone_aware
from collector.response.model import ResponseConfig
from collector.response.oncall import Shift, current_shift, next_shift, shifts, tier_people
from collector.response.policies import EscalationPolicy, Target
from collector.response.roster import Roster
from collector.response.schedules import Schedule
from collector.web.zones import UTC_TIMES, LocalTimes

WEEK = timedelta(days=7)
COLOURS = 8  # person colours of the week's bar (console.css .who-0 … .who-7)


def _name(config: ResponseConfig, person_id: str) -> str:
    person = config.person(person_id)
    return person.name if person else person_id


def _covers(schedule: Schedule) -> list[tuple[str, float, float]]:
    """Each override as (person id, start, end) in Unix seconds."""
    zone = schedule.zone
    return [
        (o.person, zone_aware(o.start, zone).timestamp(), zone_aware(o.end, zone).timestamp())
        for o in schedule.overrides
    ]


def _is_override(
    person: str, start: float, end: float, covers: list[tuple[str, float, float]]
) -> bool:
    """Whether a shift of `person` is (partly) an override's: marked so on the page."""
    return any(p == person and s < end and start < e for p, s, e in covers)


def _override_views(
    config: ResponseConfig, schedule: Schedule, at: datetime
) -> list[dict[str, Any]]:
    """The overrides running or to come, each with whom it covers for (the rotation's person
    at its start, as if there were no overrides)."""
    plain = schedule.model_copy(update={"overrides": []})
    views = []
    for person, start, end in _covers(schedule):
        if end <= at.timestamp():
            continue
        begin = datetime.fromtimestamp(max(start, at.timestamp()), UTC)
        instead = current_shift(plain, begin)
        views.append(
            {
                "who": _name(config, person),
                "start": start,
                "end": end,
                "instead_of": _name(config, instead.person) if instead else None,
            }
        )
    return sorted(views, key=lambda v: v["start"])


def _schedule_view(config: ResponseConfig, schedule: Schedule, at: datetime) -> dict[str, Any]:
    running, following = current_shift(schedule, at), next_shift(schedule, at)
    coming = shifts(schedule, at, at + WEEK)
    covers = _covers(schedule)

    def covering(shift: Shift) -> bool:
        return _is_override(shift.person, shift.start.timestamp(), shift.end.timestamp(), covers)

    return {
        "id": schedule.id,
        "title": schedule.title,
        "timezone": schedule.timezone,
        "bar": _bar(config, coming, at, covering),
        "now": (
            _name(config, running.person),
            running.start.timestamp(),
            running.end.timestamp(),
            covering(running),
        )
        if running
        else None,
        "next": (_name(config, following.person), following.start.timestamp())
        if following
        else None,
        "shifts": [
            (_name(config, s.person), s.start.timestamp(), s.end.timestamp(), covering(s))
            for s in coming
        ],
        "overrides": _override_views(config, schedule, at),
    }


def _bar(
    config: ResponseConfig, coming: list[Shift], at: datetime, covering: Callable[[Shift], bool]
) -> list[dict[str, Any]]:
    """The week's shifts as segments of a bar (percent of the week from now), each person in
    a colour of their own; gaps with nobody on call are left empty."""
    start, span = at.timestamp(), WEEK.total_seconds()
    order = {p.id: index for index, p in enumerate(config.people)}
    return [
        {
            "who": _name(config, s.person),
            "start": s.start.timestamp(),
            "end": s.end.timestamp(),
            "left": 100 * (s.start.timestamp() - start) / span,
            "width": 100 * (s.end.timestamp() - s.start.timestamp()) / span,
            "colour": order.get(s.person, len(order)) % COLOURS,
            "override": covering(s),
        }
        for s in coming
    ]


def day_marks(times: LocalTimes, now: float) -> list[tuple[float, str]]:
    """The reader's midnights over the coming week: (percent from now, month-day)."""
    span = WEEK.total_seconds()
    return [
        (100 * (t - now) / span, f"{times.local(t):%m-%d}")
        for t in times.marks(now, now + span, every_hours=24)
    ]


def _target_text(config: ResponseConfig, target: Target) -> str:
    if target.person is not None:
        return _name(config, target.person)
    kind = "schedule" if target.schedule is not None else "team"
    return f"{kind}:{target.ref}"


def _policy_view(config: ResponseConfig, at: datetime, policy: EscalationPolicy) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name or policy.id,
        "repeat": policy.repeat,
        "tiers": [
            {
                "targets": [_target_text(config, t) for t in tier.targets],
                "timeout": tier.timeout,
                "now": [_name(config, p) for p in tier_people(config, tier, at)],
            }
            for tier in policy.tiers
        ],
    }


def on_call_now(roster: Roster, now: float) -> list[dict[str, Any]]:
    """Who is on call in each schedule now, and until when (the overview's panel)."""
    config = roster.config()
    at = datetime.fromtimestamp(now, UTC)
    found = []
    for schedule in config.schedules:
        shift = current_shift(schedule, at)
        found.append(
            {
                "id": schedule.id,
                "title": schedule.title,
                "who": _name(config, shift.person) if shift else None,
                "until": shift.end.timestamp() if shift else None,
            }
        )
    return found


def oncall_context(roster: Roster, now: float, times: LocalTimes = UTC_TIMES) -> dict[str, Any]:
    """What the on-call page shows at `now` (the roster's cached merge: no database read),
    the week's bars marked at the reader's midnights (`times`)."""
    config = roster.config()
    at = datetime.fromtimestamp(now, UTC)
    return {
        "days": day_marks(times, now),
        "schedules": [_schedule_view(config, s, at) for s in config.schedules],
        "teams": [
            (t, [_name(config, m) for m in t.members]) for t in config.teams if not t.disabled
        ],
        "policies": [_policy_view(config, at, p) for p in config.policies],
        "people": [(p, roster.source("person", p.id)) for p in config.people],
    }

"""The on-call page: each schedule's person now and next and its shifts for the coming week,
teams, escalation policies with whom each tier would page now, and people; all from the
merged directory (response.yaml with the people and teams managed through the API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from collector.response.model import ResponseConfig
from collector.response.oncall import current_shift, next_shift, shifts, tier_people
from collector.response.policies import EscalationPolicy, Target
from collector.response.roster import Roster
from collector.response.schedules import Schedule

WEEK = timedelta(days=7)


def _name(config: ResponseConfig, person_id: str) -> str:
    person = config.person(person_id)
    return person.name if person else person_id


def _schedule_view(config: ResponseConfig, schedule: Schedule, at: datetime) -> dict[str, Any]:
    running, following = current_shift(schedule, at), next_shift(schedule, at)
    coming = shifts(schedule, at, at + WEEK)
    return {
        "id": schedule.id,
        "title": schedule.title,
        "timezone": schedule.timezone,
        "now": (_name(config, running.person), running.start.timestamp(), running.end.timestamp())
        if running
        else None,
        "next": (_name(config, following.person), following.start.timestamp())
        if following
        else None,
        "shifts": [
            (_name(config, s.person), s.start.timestamp(), s.end.timestamp()) for s in coming
        ],
    }


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


def oncall_context(roster: Roster, now: float) -> dict[str, Any]:
    """What the on-call page shows at `now` (the roster's cached merge: no database read)."""
    config = roster.config()
    at = datetime.fromtimestamp(now, UTC)
    return {
        "schedules": [_schedule_view(config, s, at) for s in config.schedules],
        "teams": [
            (t, [_name(config, m) for m in t.members]) for t in config.teams if not t.disabled
        ],
        "policies": [_policy_view(config, at, p) for p in config.policies],
        "people": [(p, roster.source("person", p.id)) for p in config.people],
    }

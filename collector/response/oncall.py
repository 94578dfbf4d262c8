"""Who is on call: rotations, layers and overrides evaluated at an instant, over a range.

Pure functions over the models. Every instant given must carry a UTC offset; every instant
returned is in UTC. Daily and weekly hand-offs are computed on the schedule's wall clock, so
a 09:00 Europe/Berlin hand-off stays at 09:00 local across the DST changes; a wall-clock time
that does not exist that day (inside the spring-forward gap) happens at the first instant after
the gap's start, as zoneinfo reads it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from collector.response.base import zone_aware
from collector.response.model import ResponseConfig
from collector.response.policies import Target, Tier
from collector.response.schedules import Layer, Override, Schedule

DEFAULT_WINDOW = timedelta(days=28)
LONGEST_LOOKUP = timedelta(days=448)


@dataclass(frozen=True)
class Shift:
    """One person on call from `start` (inclusive) to `end` (exclusive), both UTC."""

    person: str
    start: datetime
    end: datetime


class Rotation:
    """One layer's rotation made arithmetic: shift k starts at boundary(k)."""

    def __init__(self, layer: Layer, zone: ZoneInfo) -> None:
        self.participants = tuple(layer.participants)
        self.zone = zone
        self.start = zone_aware(layer.start, zone).astimezone(UTC)
        self.end = zone_aware(layer.end, zone).astimezone(UTC) if layer.end else None
        self.days = layer.days
        self.length = timedelta(seconds=layer.seconds)
        local_start = self.start.astimezone(zone).replace(tzinfo=None)
        anchor = datetime.combine(local_start.date(), layer.handoff_time(zone))
        # A start between hand-offs joins the shift already running (clipped to start).
        self.anchor = anchor - self.length if anchor > local_start else anchor

    def boundary(self, k: int) -> datetime:
        """The UTC start of shift k (shift 0 holds the rotation's start)."""
        if self.days is None:
            return self.start + k * self.length
        wall = self.anchor + timedelta(days=self.days * k)
        return wall.replace(tzinfo=self.zone).astimezone(UTC)

    def index(self, at: datetime) -> int:
        """The number of the shift running at `at`."""
        if self.days is None:
            return math.floor((at - self.start) / self.length)
        wall = at.astimezone(self.zone).replace(tzinfo=None)
        k = math.floor((wall - self.anchor) / self.length)
        # Wall-clock estimates can be an hour off around a DST change; settle on instants.
        while self.boundary(k) > at:
            k -= 1
        while self.boundary(k + 1) <= at:
            k += 1
        return k

    def active(self, at: datetime) -> bool:
        """True between the layer's start and end."""
        return self.start <= at and (self.end is None or at < self.end)

    def person(self, at: datetime) -> str | None:
        """Whose turn it is at `at`, or None outside the layer's time."""
        if not self.active(at):
            return None
        return self.participants[self.index(at) % len(self.participants)]

    def changes(self, start: datetime, end: datetime) -> list[datetime]:
        """Instants in (start, end) where this layer's person may change."""
        found = [t for t in (self.start, self.end) if t is not None and start < t < end]
        k = self.index(max(start, self.start)) + 1
        stop = end if self.end is None else min(end, self.end)
        while (moment := self.boundary(k)) < stop:
            if moment > start:
                found.append(moment)
            k += 1
        return found


class Timeline:
    """A schedule's layers and overrides, prepared once for many questions."""

    def __init__(self, schedule: Schedule) -> None:
        zone = schedule.zone
        self.rotations = [Rotation(layer, zone) for layer in schedule.layers]
        self.overrides = [_override_bounds(o, zone) for o in schedule.overrides]

    def person(self, at: datetime) -> str | None:
        """The last override covering `at`, else the last layer active at `at`."""
        for person, start, end in reversed(self.overrides):
            if start <= at < end:
                return person
        for rotation in reversed(self.rotations):
            turn = rotation.person(at)
            if turn is not None:
                return turn
        return None

    def shifts(self, start: datetime, end: datetime) -> list[Shift]:
        """The effective shifts over [start, end), clipped to it, same-person runs merged."""
        points = {start}
        for rotation in self.rotations:
            points.update(rotation.changes(start, end))
        for _person, o_start, o_end in self.overrides:
            points.update(t for t in (o_start, o_end) if start < t < end)
        ordered = sorted(points)
        found: list[Shift] = []
        for begin, finish in zip(ordered, [*ordered[1:], end], strict=True):
            person = self.person(begin)
            if person is None:
                continue
            if found and found[-1].person == person and found[-1].end == begin:
                found[-1] = Shift(person, found[-1].start, finish)
            else:
                found.append(Shift(person, begin, finish))
        return found


def _override_bounds(override: Override, zone: ZoneInfo) -> tuple[str, datetime, datetime]:
    start = zone_aware(override.start, zone).astimezone(UTC)
    return override.person, start, zone_aware(override.end, zone).astimezone(UTC)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{at.isoformat()} has no UTC offset; on-call questions need one")
    return at.astimezone(UTC)


def on_call(schedule: Schedule, at: datetime) -> str | None:
    """The id of the person on call at `at`, or None when no layer covers it."""
    return Timeline(schedule).person(_utc(at))


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Shifts over [start, end), clipped to it; gaps with nobody on call are left out."""
    return Timeline(schedule).shifts(_utc(start), _utc(end))


def current_shift(
    schedule: Schedule, at: datetime, window: timedelta = DEFAULT_WINDOW
) -> Shift | None:
    """The shift running at `at` with its real bounds when within LONGEST_LOOKUP either side.

    The search starts `window` either side and widens while the shift reaches its edge (a
    one-person rotation), so "since" and "until" are true rather than the window's.
    """
    moment = _utc(at)
    timeline = Timeline(schedule)
    while True:
        around = timeline.shifts(moment - window, moment + window)
        found = next((s for s in around if s.start <= moment < s.end), None)
        if found is None or window >= LONGEST_LOOKUP or not _at_edge(found, moment, window):
            return found
        window *= 4


def _at_edge(shift: Shift, moment: datetime, window: timedelta) -> bool:
    return shift.start == moment - window or shift.end == moment + window


def next_shift(
    schedule: Schedule, at: datetime, horizon: timedelta = DEFAULT_WINDOW
) -> Shift | None:
    """The first shift starting after `at` (its start is the next hand-off), within horizon.

    None when the same person stays on call (a one-person rotation) or nobody follows.
    """
    moment = _utc(at)
    return next((s for s in shifts(schedule, moment, moment + horizon) if s.start > moment), None)


def person_shifts(
    config: ResponseConfig, person_id: str, start: datetime, end: datetime
) -> list[tuple[Schedule, Shift]]:
    """Every shift of `person_id` over [start, end) across all schedules, by start time."""
    found = [
        (schedule, shift)
        for schedule in config.schedules
        for shift in shifts(schedule, start, end)
        if shift.person == person_id
    ]
    return sorted(found, key=lambda pair: (pair[1].start, pair[0].id))


def target_people(
    config: ResponseConfig, target: Target, at: datetime, everyone: bool
) -> list[str]:
    """Person ids a target stands for at `at`.

    A schedule: its on-call person. A person: that person. A team: with `everyone`, all its
    members; otherwise the on-call person of its first schedule that has one, else its first
    member.
    """
    if target.schedule is not None:
        schedule = config.schedule(target.schedule)
        person = on_call(schedule, at) if schedule else None
        return [person] if person else []
    if target.person is not None:
        return [target.person]
    team = config.team(target.ref)
    if team is None:
        return []
    if everyone:
        return list(team.members)
    for schedule_id in team.schedules:
        schedule = config.schedule(schedule_id)
        person = on_call(schedule, at) if schedule else None
        if person:
            return [person]
    return list(team.members[:1])


def tier_people(config: ResponseConfig, tier: Tier, at: datetime) -> tuple[str, ...]:
    """Person ids a tier pages at `at`, in target order without repeats.

    One person per target, or every person the targets stand for with notify_all.
    """
    found: list[str] = []
    for target in tier.targets:
        found += target_people(config, target, at, everyone=tier.notify_all)
    return tuple(_unique(found))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def team_schedules(config: ResponseConfig, team_id: str) -> Sequence[Schedule]:
    """The schedules a team staffs, in the order the team lists them."""
    team = config.team(team_id)
    if team is None:
        return []
    return [s for s in (config.schedule(i) for i in team.schedules) if s is not None]

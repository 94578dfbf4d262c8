"""iCalendar (RFC 5545) feeds of on-call shifts, per schedule and per person."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from collector.response.model import ResponseConfig
from collector.response.oncall import Shift, current_shift, person_shifts, shifts
from collector.response.schedules import Schedule

PRODUCT_ID = "-//Watchkeeper//On-call schedules//EN"


def schedule_feed(config: ResponseConfig, schedule: Schedule, now: datetime, weeks: int = 4) -> str:
    """Every shift of `schedule` from the one running at `now` until `weeks` later."""
    start, end = _range(schedule, now, weeks)
    events = [
        _event(schedule, shift, f"On call: {_name(config, shift.person)} ({schedule.title})", now)
        for shift in shifts(schedule, start, end)
    ]
    return _calendar(f"On call: {schedule.title}", events)


def person_feed(config: ResponseConfig, person_id: str, now: datetime, weeks: int = 4) -> str:
    """Every shift of one person across all schedules over the next `weeks` weeks."""
    end = now + timedelta(weeks=weeks)
    events = [
        _event(schedule, shift, f"On call: {schedule.title}", now)
        for schedule, shift in person_shifts(config, person_id, _earliest(config, now), end)
        if shift.end > now
    ]
    return _calendar(f"On call: {_name(config, person_id)}", events)


def _range(schedule: Schedule, now: datetime, weeks: int) -> tuple[datetime, datetime]:
    running = current_shift(schedule, now)
    return (running.start if running else now), now + timedelta(weeks=weeks)


def _earliest(config: ResponseConfig, now: datetime) -> datetime:
    # Start at the earliest running shift so an ongoing one shows its real start.
    starts = [_range(schedule, now, 0)[0] for schedule in config.schedules]
    return min(starts, default=now)


def _name(config: ResponseConfig, person_id: str) -> str:
    person = config.person(person_id)
    return person.name if person else person_id


def _event(schedule: Schedule, shift: Shift, summary: str, now: datetime) -> Event:
    event = Event()
    event.add("uid", f"{schedule.id}.{shift.person}.{shift.start:%Y%m%dT%H%M%SZ}@watchkeeper")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", shift.start.astimezone(UTC))
    event.add("dtend", shift.end.astimezone(UTC))
    event.add("summary", summary)
    event.add("transp", "TRANSPARENT")
    return event


def _calendar(name: str, events: Iterable[Event]) -> str:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for event in events:
        calendar.add_component(event)
    return str(calendar.to_ical(), "utf-8")

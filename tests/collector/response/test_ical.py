"""iCalendar feeds: parsed back with a real RFC 5545 parser, times in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from icalendar import Calendar

from collector.response.ical import person_feed, schedule_feed
from collector.response.model import ResponseConfig

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def config() -> ResponseConfig:
    """A daily Berlin rotation across the March DST change and a weekly one."""
    long_name = "Wang Wei 王伟, platform operations, second-level database escalations"
    return ResponseConfig.model_validate(
        {
            "people": [
                {"id": "alice", "name": "Alice Becker"},
                {"id": "wang", "name": long_name},
            ],
            "schedules": [
                {
                    "id": "primary",
                    "name": "Platform primary",
                    "timezone": "Europe/Berlin",
                    "layers": [
                        {
                            "participants": ["alice", "wang"],
                            "start": "2026-03-02T09:00",
                            "length": "daily",
                        }
                    ],
                },
                {
                    "id": "backup",
                    "timezone": "Asia/Shanghai",
                    "layers": [{"participants": ["wang"], "start": "2026-03-02T09:00"}],
                },
            ],
        }
    )


@dataclass(frozen=True)
class ParsedEvent:
    """What a calendar application reads from one VEVENT."""

    start: datetime
    end: datetime
    summary: str
    uid: str


def _events(text: str) -> list[ParsedEvent]:
    calendar = Calendar.from_ical(text)
    return [
        ParsedEvent(
            event.decoded("dtstart"),
            event.decoded("dtend"),
            str(event["summary"]),
            str(event["uid"]),
        )
        for event in calendar.walk("VEVENT")
    ]


def test_schedule_feed_lists_each_shift_in_utc(config: ResponseConfig) -> None:
    schedule = config.schedules[0]
    text = schedule_feed(config, schedule, NOW, weeks=1)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    events = _events(text)
    # The running shift from its real start (25 March 09:00 CET), then one per day.
    assert len(events) == 8
    first, after_change = events[0], events[4]
    assert first.start == datetime(2026, 3, 25, 8, 0, tzinfo=UTC)
    assert first.end == datetime(2026, 3, 26, 8, 0, tzinfo=UTC)
    assert after_change.start == datetime(2026, 3, 29, 7, 0, tzinfo=UTC), "09:00 CEST"
    assert events[-1].end == datetime(2026, 4, 1, 12, 0, tzinfo=UTC), "clipped to the feed"
    assert re.findall(r"^DTSTART:\d{8}T\d{6}Z\r$", text, re.MULTILINE)[:1] == [
        "DTSTART:20260325T080000Z\r"
    ]
    assert len(re.findall(r"^DTEND:\d{8}T\d{6}Z\r$", text, re.MULTILINE)) == 8
    assert (
        first.summary == "On call: Wang Wei 王伟, platform operations, second-level "
        "database escalations (Platform primary)"
    ), "folded long lines read back whole"
    assert len({e.uid for e in events}) == 8


def test_person_feed_gathers_shifts_from_every_schedule(config: ResponseConfig) -> None:
    events = _events(person_feed(config, "wang", NOW, weeks=1))
    summaries = [str(e.summary) for e in events]
    assert summaries.count("On call: backup") == 1, "the one-person rota: one long shift"
    assert summaries.count("On call: Platform primary") == 4
    assert all(e.end > NOW for e in events), "no shift that is already over"
    calendar = Calendar.from_ical(person_feed(config, "alice", NOW, weeks=1))
    assert str(calendar["x-wr-calname"]) == "On call: Alice Becker"
    assert len(calendar.walk("VEVENT")) == 4, "26, 28, 30 March and 1 April"


def test_uids_are_stable_between_refreshes(config: ResponseConfig) -> None:
    schedule = config.schedules[0]
    earlier = {e.uid for e in _events(schedule_feed(config, schedule, NOW, weeks=1))}
    later_now = NOW.replace(hour=20)
    later = {e.uid for e in _events(schedule_feed(config, schedule, later_now, weeks=1))}
    assert earlier == later

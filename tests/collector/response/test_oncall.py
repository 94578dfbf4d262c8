"""On call: rotations across DST changes and hand-offs, overrides, layers, tiers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from collector.response.model import ResponseConfig
from collector.response.oncall import (
    Shift,
    current_shift,
    next_shift,
    on_call,
    person_shifts,
    shifts,
    tier_people,
)
from collector.response.policies import Tier
from collector.response.schedules import Schedule

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

ScheduleFactory = Callable[..., Schedule]


@pytest.fixture
def make_schedule() -> ScheduleFactory:
    """Build a schedule from layer mappings; the time zone defaults to Europe/Berlin."""

    def build(
        *layers: dict[str, Any],
        timezone: str = "Europe/Berlin",
        overrides: tuple[dict[str, Any], ...] = (),
    ) -> Schedule:
        return Schedule.model_validate(
            {"id": "s", "timezone": timezone, "layers": layers, "overrides": overrides}
        )

    return build


def at(text: str, zone: ZoneInfo = BERLIN) -> datetime:
    """An aware instant from local wall-clock text."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def local(found: list[Shift], zone: ZoneInfo = BERLIN) -> list[tuple[str, str, float]]:
    """(person, local start with offset, hours) per shift: easy to read in a table."""
    return [
        (
            s.person,
            s.start.astimezone(zone).isoformat(timespec="minutes"),
            (s.end - s.start) / timedelta(hours=1),
        )
        for s in found
    ]


ROTATIONS = [
    pytest.param(
        {"participants": ["a", "b", "c"], "start": "2026-03-23T09:00", "length": "daily"},
        "Europe/Berlin",
        ("2026-03-27T09:00", "2026-03-31T09:00"),
        [
            ("b", "2026-03-27T09:00+01:00", 24.0),
            ("c", "2026-03-28T09:00+01:00", 23.0),  # the night clocks go forward
            ("a", "2026-03-29T09:00+02:00", 24.0),
            ("b", "2026-03-30T09:00+02:00", 24.0),
        ],
        id="daily-berlin-spring-forward",
    ),
    pytest.param(
        {"participants": ["a", "b"], "start": "2026-10-20T09:00", "length": "daily"},
        "Europe/Berlin",
        ("2026-10-24T09:00", "2026-10-27T09:00"),
        [
            ("a", "2026-10-24T09:00+02:00", 25.0),  # the night clocks go back
            ("b", "2026-10-25T09:00+01:00", 24.0),
            ("a", "2026-10-26T09:00+01:00", 24.0),
        ],
        id="daily-berlin-fall-back",
    ),
    pytest.param(
        {"participants": ["a", "b"], "start": "2026-02-23T09:00", "length": "weekly"},
        "America/New_York",
        ("2026-03-02T09:00", "2026-03-16T09:00"),
        [
            ("b", "2026-03-02T09:00-05:00", 167.0),  # US DST starts Sunday 8 March
            ("a", "2026-03-09T09:00-04:00", 168.0),
        ],
        id="weekly-new-york-monday-handoff",
    ),
    pytest.param(
        {"participants": ["a", "b"], "start": "2026-03-27T02:30", "length": "daily"},
        "Europe/Berlin",
        ("2026-03-28T02:30", "2026-03-30T02:30"),
        [
            ("b", "2026-03-28T02:30+01:00", 24.0),  # 02:30 does not exist on the 29th
            ("a", "2026-03-29T03:30+02:00", 23.0),
        ],
        id="handoff-inside-the-spring-gap",
    ),
    pytest.param(
        {"participants": ["a", "b"], "start": "2026-10-23T02:30", "length": "daily"},
        "Europe/Berlin",
        ("2026-10-24T02:30", "2026-10-26T02:30"),
        [
            ("b", "2026-10-24T02:30+02:00", 24.0),  # 02:30 happens twice: the first one
            ("a", "2026-10-25T02:30+02:00", 25.0),
        ],
        id="handoff-inside-the-autumn-fold",
    ),
    pytest.param(
        {"participants": ["day", "night"], "start": "2026-03-07T08:00", "length": "12h"},
        "America/New_York",
        ("2026-03-08T09:00", "2026-03-09T09:00"),
        [
            ("day", "2026-03-08T09:00-04:00", 12.0),  # elapsed time: 08:00 EST is 09:00 EDT
            ("night", "2026-03-08T21:00-04:00", 12.0),
        ],
        id="twelve-hours-elapsed-across-dst",
    ),
    pytest.param(
        {
            "participants": ["a", "b"],
            "start": "2026-03-02T14:00",
            "length": "daily",
            "handoff": "09:00",
        },
        "Europe/Berlin",
        ("2026-03-02T00:00", "2026-03-04T09:00"),
        [
            ("a", "2026-03-02T14:00+01:00", 19.0),  # a start between hand-offs: short shift
            ("b", "2026-03-03T09:00+01:00", 24.0),
        ],
        id="start-between-handoffs",
    ),
    pytest.param(
        {"participants": ["a", "b", "c"], "start": "2026-03-02T09:00", "length": "2d"},
        "Europe/Berlin",
        ("2026-03-26T09:00", "2026-04-01T09:00"),
        [
            ("a", "2026-03-26T09:00+01:00", 48.0),
            ("b", "2026-03-28T09:00+01:00", 47.0),
            ("c", "2026-03-30T09:00+02:00", 48.0),
        ],
        id="two-day-shifts-are-wall-clock-days",
    ),
    pytest.param(
        {"participants": ["solo"], "start": "2026-03-23T09:00", "length": "daily"},
        "Europe/Berlin",
        ("2026-03-27T09:00", "2026-03-31T09:00"),
        [("solo", "2026-03-27T09:00+01:00", 95.0)],
        id="one-participant-one-merged-shift",
    ),
    pytest.param(
        {"participants": ["a", "b"], "start": "2026-03-30T09:00", "length": "daily"},
        "Europe/Berlin",
        ("2026-03-29T09:00", "2026-03-31T12:00"),
        [("a", "2026-03-30T09:00+02:00", 24.0), ("b", "2026-03-31T09:00+02:00", 3.0)],
        id="nobody-before-the-start-clipped-at-the-end",
    ),
]


@pytest.mark.parametrize(("layer", "timezone", "window", "expected"), ROTATIONS)
def test_rotation_shifts(
    make_schedule: ScheduleFactory,
    layer: dict[str, Any],
    timezone: str,
    window: tuple[str, str],
    expected: list[tuple[str, str, float]],
) -> None:
    zone = ZoneInfo(timezone)
    schedule = make_schedule(layer, timezone=timezone)
    found = shifts(schedule, at(window[0], zone), at(window[1], zone))
    assert local(found, zone) == expected


def test_a_daily_berlin_handoff_stays_at_nine_local_all_year(
    make_schedule: ScheduleFactory,
) -> None:
    schedule = make_schedule(
        {"participants": ["a", "b", "c"], "start": "2026-01-01T09:00", "length": "daily"}
    )
    found = shifts(schedule, at("2026-01-01T09:00"), at("2027-01-01T09:00"))
    assert len(found) == 365
    assert {s.start.astimezone(BERLIN).strftime("%H:%M") for s in found} == {"09:00"}
    assert sorted({(s.end - s.start) / timedelta(hours=1) for s in found}) == [23, 24, 25]


def test_on_call_agrees_with_shifts_every_hour_across_both_changes(
    make_schedule: ScheduleFactory,
) -> None:
    schedule = make_schedule(
        {"participants": ["a", "b", "c"], "start": "2026-03-02T09:00", "length": "weekly"},
        {"participants": ["x", "y"], "start": "2026-10-01T20:00", "length": "daily"},
        overrides=({"person": "o", "start": "2026-03-29T01:00", "end": "2026-03-29T05:00"},),
    )
    for start in (at("2026-03-25T00:00"), at("2026-10-20T00:00")):
        found = shifts(schedule, start, start + timedelta(days=10))
        for hour in range(0, 240, 1):
            moment = start + timedelta(hours=hour, minutes=30)
            holder = next(s.person for s in found if s.start <= moment < s.end)
            assert on_call(schedule, moment) == holder, moment


def test_an_override_covers_part_of_a_shift(make_schedule: ScheduleFactory) -> None:
    schedule = make_schedule(
        {"participants": ["a", "b"], "start": "2026-03-02T09:00", "length": "daily"},
        overrides=(
            {"person": "c", "start": "2026-03-03T12:00", "end": "2026-03-04T12:00"},
            {"person": "d", "start": "2026-03-04T00:00+01:00", "end": "2026-03-04T02:00+01:00"},
        ),
    )
    found = shifts(schedule, at("2026-03-03T09:00"), at("2026-03-05T09:00"))
    assert local(found) == [
        ("b", "2026-03-03T09:00+01:00", 3.0),
        ("c", "2026-03-03T12:00+01:00", 12.0),
        ("d", "2026-03-04T00:00+01:00", 2.0),  # a later override wins over an earlier one
        ("c", "2026-03-04T02:00+01:00", 10.0),
        ("a", "2026-03-04T12:00+01:00", 21.0),
    ]
    assert on_call(schedule, at("2026-03-04T01:00")) == "d"


def test_a_later_layer_wins_from_its_start_until_its_end(make_schedule: ScheduleFactory) -> None:
    schedule = make_schedule(
        {"participants": ["a", "b"], "start": "2026-03-02T09:00", "length": "weekly"},
        {
            "participants": ["x"],
            "start": "2026-03-11T18:00",
            "end": "2026-03-12T09:00",
            "length": "daily",
        },
    )
    found = shifts(schedule, at("2026-03-09T09:00"), at("2026-03-16T09:00"))
    assert local(found) == [
        ("b", "2026-03-09T09:00+01:00", 57.0),
        ("x", "2026-03-11T18:00+01:00", 15.0),
        ("b", "2026-03-12T09:00+01:00", 96.0),
    ]


def test_current_and_next_shift(make_schedule: ScheduleFactory) -> None:
    schedule = make_schedule(
        {"participants": ["a", "b"], "start": "2026-03-23T09:00", "length": "daily"}
    )
    now = at("2026-03-28T23:00")
    running, following = current_shift(schedule, now), next_shift(schedule, now)
    assert running is not None and following is not None
    assert local([running, following]) == [
        ("b", "2026-03-28T09:00+01:00", 23.0),
        ("a", "2026-03-29T09:00+02:00", 24.0),
    ]
    assert next_shift(schedule, at("2026-03-29T09:00")) == Shift(
        "b", at("2026-03-30T09:00").astimezone(UTC), at("2026-03-31T09:00").astimezone(UTC)
    ), "a hand-off at exactly `at` is the current shift, not the next"


def test_one_participant_has_no_next_handoff(make_schedule: ScheduleFactory) -> None:
    schedule = make_schedule(
        {"participants": ["solo"], "start": "2026-03-23T09:00", "length": "weekly"}
    )
    assert on_call(schedule, at("2027-06-01T03:00")) == "solo"
    assert next_shift(schedule, at("2026-04-01T12:00")) is None
    running = current_shift(schedule, at("2026-06-01T12:00"))
    assert running is not None and running.start == at("2026-03-23T09:00"), "its real start"


def test_before_the_first_layer_starts_nobody_is_on_call(make_schedule: ScheduleFactory) -> None:
    schedule = make_schedule(
        {"participants": ["a"], "start": "2026-03-23T09:00+01:00", "length": "daily"}
    )
    assert on_call(schedule, at("2026-03-23T08:59")) is None
    following = next_shift(schedule, at("2026-03-20T00:00"))
    assert following is not None and following.start == at("2026-03-23T09:00")


def test_questions_need_an_aware_instant(make_schedule: ScheduleFactory) -> None:
    schedule = make_schedule({"participants": ["a"], "start": "2026-03-23T09:00"})
    with pytest.raises(ValueError, match="has no UTC offset"):
        on_call(schedule, datetime(2026, 3, 24, 12))


@pytest.fixture
def config() -> ResponseConfig:
    """Three people, a daily schedule, two teams (one with a schedule)."""
    return ResponseConfig.model_validate(
        {
            "people": [{"id": p, "name": p.title()} for p in ("ann", "ben", "cat")],
            "schedules": [
                {
                    "id": "primary",
                    "timezone": "Europe/Berlin",
                    "layers": [
                        {"participants": ["ann", "ben"], "start": "2026-03-02T09:00"},
                    ],
                },
                {
                    "id": "weekend",
                    "timezone": "Europe/Berlin",
                    "layers": [
                        {"participants": ["cat"], "start": "2026-03-07T09:00", "length": "2d"}
                    ],
                },
            ],
            "teams": [
                {"id": "ops", "name": "Ops", "members": ["cat", "ann", "ben"]},
                {"id": "web", "name": "Web", "members": ["ann", "ben"], "schedules": ["primary"]},
            ],
        }
    )


TIERS = [
    ({"targets": [{"schedule": "primary"}]}, ["ben"]),
    ({"targets": [{"person": "cat"}, {"schedule": "primary"}]}, ["cat", "ben"]),
    ({"targets": [{"team": "ops"}]}, ["cat"]),
    ({"targets": [{"team": "ops"}], "notify_all": True}, ["cat", "ann", "ben"]),
    ({"targets": [{"team": "web"}]}, ["ben"]),
    ({"targets": [{"person": "ben"}, {"team": "web"}], "notify_all": True}, ["ben", "ann"]),
]


@pytest.mark.parametrize(
    ("tier", "expected"),
    TIERS,
    ids=[
        "schedule",
        "person-and-schedule",
        "team-first-member",
        "team-everyone",
        "team-on-call",
        "no-repeats",
    ],
)
def test_tier_targets_resolve_to_people(
    config: ResponseConfig, tier: dict[str, Any], expected: list[str]
) -> None:
    # 2026-03-10: primary's second week (ben's).
    assert tier_people(config, Tier.model_validate(tier), at("2026-03-10T12:00")) == tuple(expected)


def test_a_persons_shifts_across_schedules(config: ResponseConfig) -> None:
    found = person_shifts(config, "ben", at("2026-03-02T00:00"), at("2026-03-23T00:00"))
    assert [(s.id, shift.start.astimezone(BERLIN).day) for s, shift in found] == [
        ("primary", 9),
    ]
    found = person_shifts(config, "cat", at("2026-03-08T00:00"), at("2026-03-10T00:00"))
    assert [(s.id, len([shift])) for s, shift in found] == [("weekend", 1)]

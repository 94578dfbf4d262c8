"""Business calendars and SLA clocks as tables: weekends, holidays, DST, split days, pauses."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from collector.response.calendar import ALWAYS, BusinessCalendar, Pause, SlaClock

HOUR = 3600.0
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def calendar(**fields: Any) -> BusinessCalendar:
    return BusinessCalendar.model_validate(fields)


OFFICE = calendar()  # UTC, mon-fri 09:00-18:00
SHANGHAI = calendar(time_zone="Asia/Shanghai", holiday_country="CN")
SHANGHAI_PLAIN_WEEK = calendar(
    time_zone="Asia/Shanghai", holiday_country="CN", country_working_days=False
)
BERLIN = calendar(time_zone="Europe/Berlin", holiday_country="DE")
BERLIN_ALL_DAY = calendar(time_zone="Europe/Berlin", hours={d: ["00:00-24:00"] for d in WEEK})
SPLIT = calendar(hours={d: ["09:00-12:00", "13:00-18:00"] for d in WEEK[:5]})
NEW_YORK = calendar(time_zone="America/New_York", holiday_country="US")
COMPANY = calendar(
    holiday_dates=["2026-11-23"], working_dates=["2026-11-28"], working_date_hours=["10:00-14:00"]
)


def at(local: str, cal: BusinessCalendar = OFFICE) -> float:
    """Unix seconds of a wall time in the calendar's zone."""
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(cal.time_zone)).timestamp()


# 2026-11-20 and 2026-11-27 are Fridays; 2025-10-01 is a Wednesday; Berlin changes to summer
# time on 2026-03-29 and back on 2026-10-25.
BUSINESS_SECONDS = [
    ("weekend", OFFICE, "2026-11-20 17:00", "2026-11-23 10:00", 2),
    ("night-across-midnight", OFFICE, "2026-11-24 20:00", "2026-11-25 08:00", 0),
    ("within-one-day", OFFICE, "2026-11-24 10:00", "2026-11-24 12:30", 2.5),
    ("whole-week", OFFICE, "2026-11-23 00:00", "2026-11-30 00:00", 45),
    ("end-before-start", OFFICE, "2026-11-24 12:00", "2026-11-24 10:00", 0),
    ("52-weeks-in-days-not-seconds", OFFICE, "2026-01-05 00:00", "2027-01-04 00:00", 52 * 45),
    ("cn-national-day-2025", SHANGHAI, "2025-09-30 17:00", "2025-10-09 10:00", 2),
    ("cn-adjusted-working-sunday-2025", SHANGHAI, "2025-09-27 12:00", "2025-09-29 09:00", 9),
    ("cn-adjusted-working-saturday-2025", SHANGHAI, "2025-10-10 18:00", "2025-10-13 09:00", 9),
    (
        "cn-adjusted-saturday-off-when-disabled",
        SHANGHAI_PLAIN_WEEK,
        "2025-10-10 18:00",
        "2025-10-13 09:00",
        0,
    ),
    ("cn-national-day-2026", SHANGHAI, "2026-09-30 17:00", "2026-10-08 10:00", 2),
    ("cn-adjusted-working-saturday-2026", SHANGHAI, "2026-10-09 18:00", "2026-10-12 09:00", 9),
    ("berlin-weekend-into-summer-time", BERLIN, "2026-03-27 17:00", "2026-03-30 10:00", 2),
    ("berlin-weekend-into-winter-time", BERLIN, "2026-10-23 17:00", "2026-10-26 10:00", 2),
    ("berlin-23-hour-day", BERLIN_ALL_DAY, "2026-03-29 00:00", "2026-03-30 00:00", 23),
    ("berlin-25-hour-day", BERLIN_ALL_DAY, "2026-10-25 00:00", "2026-10-26 00:00", 25),
    ("berlin-24x7-year", BERLIN_ALL_DAY, "2026-01-01 00:00", "2027-01-01 00:00", 365 * 24),
    ("de-unity-day", BERLIN, "2025-10-02 17:00", "2025-10-06 10:00", 2),
    ("split-over-lunch", SPLIT, "2026-11-24 11:00", "2026-11-24 14:00", 2),
    ("split-inside-lunch", SPLIT, "2026-11-24 12:10", "2026-11-24 12:50", 0),
    ("us-thanksgiving", NEW_YORK, "2026-11-25 17:00", "2026-11-27 10:00", 2),
    ("company-holiday", COMPANY, "2026-11-20 17:00", "2026-11-24 10:00", 2),
    ("company-working-saturday", COMPANY, "2026-11-27 18:00", "2026-11-30 09:00", 4),
    ("always-24x7", ALWAYS, "2026-11-20 17:00", "2026-11-23 10:00", 65),
]


@pytest.mark.parametrize(
    ("cal", "start", "end", "hours"),
    [case[1:] for case in BUSINESS_SECONDS],
    ids=[case[0] for case in BUSINESS_SECONDS],
)
def test_business_seconds(cal: BusinessCalendar, start: str, end: str, hours: float) -> None:
    assert cal.business_seconds(at(start, cal), at(end, cal)) == hours * HOUR


ADD_BUSINESS_SECONDS = [
    ("from-saturday", OFFICE, "2026-11-21 12:00", 1, "2026-11-23 10:00"),
    ("before-opening", OFFICE, "2026-11-24 07:00", 0.5, "2026-11-24 09:30"),
    ("due-at-close-not-next-opening", OFFICE, "2026-11-20 17:00", 1, "2026-11-20 18:00"),
    ("one-business-day", OFFICE, "2026-11-24 10:00", 9, "2026-11-25 10:00"),
    ("five-business-days", OFFICE, "2026-11-24 10:00", 45, "2026-12-01 10:00"),
    ("zero", OFFICE, "2026-11-22 03:00", 0, "2026-11-22 03:00"),
    ("berlin-weekend-into-summer-time", BERLIN, "2026-03-27 17:30", 1, "2026-03-30 09:30"),
    ("berlin-weekend-into-winter-time", BERLIN, "2026-10-23 17:30", 1, "2026-10-26 09:30"),
    ("cn-national-day-2025", SHANGHAI, "2025-09-30 17:30", 1, "2025-10-09 09:30"),
    ("cn-adjusted-working-saturday", SHANGHAI, "2025-10-10 17:00", 2, "2025-10-11 10:00"),
    ("split-over-lunch", SPLIT, "2026-11-24 11:30", 1, "2026-11-24 13:30"),
    ("company-working-saturday", COMPANY, "2026-11-27 17:00", 3, "2026-11-28 12:00"),
    ("always-24x7", ALWAYS, "2026-11-21 12:00", 30, "2026-11-22 18:00"),
]


@pytest.mark.parametrize(
    ("cal", "start", "hours", "expected"),
    [case[1:] for case in ADD_BUSINESS_SECONDS],
    ids=[case[0] for case in ADD_BUSINESS_SECONDS],
)
def test_add_business_seconds(
    cal: BusinessCalendar, start: str, hours: float, expected: str
) -> None:
    assert cal.add_business_seconds(at(start, cal), hours * HOUR) == at(expected, cal)


@pytest.mark.parametrize(
    "cal",
    [OFFICE, SHANGHAI, BERLIN, BERLIN_ALL_DAY, SPLIT, NEW_YORK, COMPANY, ALWAYS],
    ids=["office", "shanghai", "berlin", "berlin-24x7", "split", "new-york", "company", "always"],
)
@pytest.mark.parametrize(
    "start",
    ["2025-09-26 16:15", "2026-03-28 23:59", "2026-10-24 21:00", "2026-11-25 12:30"],
    ids=["cn-golden-week-eve", "berlin-spring-eve", "berlin-autumn-eve", "thanksgiving-eve"],
)
def test_add_then_count_round_trips(cal: BusinessCalendar, start: str) -> None:
    begin = at(start, cal)
    for seconds in (1.0, 0.5 * HOUR, 9 * HOUR, 50 * HOUR, 300 * HOUR):
        end = cal.add_business_seconds(begin, seconds)
        assert cal.business_seconds(begin, end) == pytest.approx(seconds, abs=1e-3)


def test_calendar_fields_round_trip_and_equality_ignores_caches() -> None:
    dumped = SHANGHAI.model_dump(mode="json")
    assert dumped["hours"]["mon"] == ["09:00-18:00"]
    SHANGHAI.business_seconds(at("2025-09-30 17:00", SHANGHAI), at("2025-10-09 10:00", SHANGHAI))
    assert BusinessCalendar.model_validate(dumped) == SHANGHAI


BAD_CALENDARS = [
    ("unknown-zone", {"time_zone": "Mars/Olympus"}, "not an IANA time zone"),
    ("night-shift", {"hours": {"mon": ["18:00-09:00"]}}, "split a night shift at midnight"),
    ("not-hh-mm", {"hours": {"mon": ["9-18"]}}, "is not HH:MM-HH:MM"),
    ("past-midnight", {"hours": {"mon": ["09:00-25:00"]}}, "past 24:00"),
    ("overlap", {"hours": {"mon": ["09:00-13:00", "12:00-18:00"]}}, "overlap; merge them"),
    ("no-hours", {"hours": {}}, "no working period on any weekday"),
    ("unknown-weekday", {"hours": {"monday": ["09:00-18:00"]}}, "'mon'"),
    ("unknown-country", {"holiday_country": "XX"}, "holiday_country 'XX'"),
    ("unknown-subdivision", {"holiday_country": "DE", "holiday_subdivision": "ZZ"}, "'ZZ'"),
    ("subdivision-alone", {"holiday_subdivision": "BY"}, "needs holiday_country"),
    ("unknown-key", {"holiday": "CN"}, "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(
    ("fields", "message"),
    [case[1:] for case in BAD_CALENDARS],
    ids=[case[0] for case in BAD_CALENDARS],
)
def test_bad_calendar_is_refused_with_the_fix(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        calendar(**fields)


T0 = at("2026-11-24 10:00")  # a Tuesday
P1_ACK = SlaClock(target_seconds=300, calendar=ALWAYS, started_at=T0)

ACK_STATES = [
    ("just-started", 0, None, "ok", 300),
    ("under-half", 149, None, "ok", 151),
    ("at-half", 150, None, "warning", 150),
    ("near-breach", 299, None, "warning", 1),
    ("at-target", 300, None, "breached", 0),
    ("past-target", 400, None, "breached", -100),
    ("acked-in-time", 400, 200, "met", 100),
    ("acked-at-target", 400, 300, "met", 0),
    ("acked-late", 500, 400, "breached", -100),
    ("ack-not-yet-happened", 150, 200, "warning", 150),
    ("before-start", -60, None, "ok", 300),
]


@pytest.mark.parametrize(
    ("offset", "stopped", "state", "remaining"),
    [case[1:] for case in ACK_STATES],
    ids=[case[0] for case in ACK_STATES],
)
def test_ack_clock_states(
    offset: float, stopped: float | None, state: str, remaining: float
) -> None:
    clock = SlaClock(
        target_seconds=300,
        calendar=ALWAYS,
        started_at=T0,
        stopped_at=None if stopped is None else T0 + stopped,
    )
    assert clock.state(T0 + offset) == state
    assert clock.remaining(T0 + offset) == remaining


def test_warnings_and_breach_fire_at_their_own_times() -> None:
    warn_half, warn_late = P1_ACK.warn_times()
    assert (warn_half, warn_late) == (T0 + 150, T0 + 240)
    assert P1_ACK.warn_times((0.25,)) == (T0 + 75,)
    due = P1_ACK.due_at(T0)
    assert due == T0 + 300
    assert [P1_ACK.state(t) for t in (warn_half - 1, warn_half, due - 1, due)] == [
        "ok",
        "warning",
        "warning",
        "breached",
    ]


WAITING = Pause(T0 + 1 * HOUR, T0 + 1.5 * HOUR, "waiting")

PAUSED_CLOCKS = [
    # id, pauses, now (hours after T0), elapsed, state, due, warnings at 50 % and 80 % (hours)
    ("paused-while-waiting", (WAITING,), 1.25, 1, "paused", 4.5, (2.5, 3.7)),
    ("resumed-after-waiting", (WAITING,), 2, 1.5, "ok", 4.5, (2.5, 3.7)),
    ("still-waiting-open-pause", (Pause(T0 + HOUR),), 2, 1, "paused", 5, (3, 4.2)),
    (
        "overlapping-waiting-and-maintenance-count-once",
        (Pause(T0 + 1 * HOUR, T0 + 2 * HOUR), Pause(T0 + 1.5 * HOUR, T0 + 2.5 * HOUR)),
        3,
        1.5,
        "ok",
        5.5,
        (3.5, 4.7),
    ),
    ("maintenance-window-ahead", (Pause(T0 + 3 * HOUR, T0 + 4 * HOUR),), 0, 0, "ok", 5, (2, 4.2)),
    ("pause-before-start-ignored", (Pause(T0 - 2 * HOUR, T0 - HOUR),), 1, 1, "ok", 4, (2, 3.2)),
    ("breach-outranks-pause", (Pause(T0 + 5 * HOUR),), 6, 5, "breached", 4, (2, 3.2)),
]


@pytest.mark.parametrize(
    ("pauses", "now", "elapsed", "state", "due", "warnings"),
    [case[1:] for case in PAUSED_CLOCKS],
    ids=[case[0] for case in PAUSED_CLOCKS],
)
def test_paused_clock(
    pauses: tuple[Pause, ...],
    now: float,
    elapsed: float,
    state: str,
    due: float,
    warnings: tuple[float, float],
) -> None:
    clock = SlaClock(target_seconds=4 * HOUR, calendar=ALWAYS, started_at=T0, pauses=pauses)
    moment = T0 + now * HOUR
    assert clock.elapsed(moment) == elapsed * HOUR
    assert clock.state(moment) == state
    assert clock.due_at(moment) == T0 + due * HOUR
    assert clock.warn_times(now=moment) == tuple(T0 + w * HOUR for w in warnings)


BUSINESS_CLOCKS = [
    # id, calendar, start, target hours, pauses (local), now, state, due, warnings 50 %/80 %
    (
        "p3-resolve-across-cn-national-day",
        SHANGHAI,
        "2025-09-30 16:00",
        9,
        (),
        "2025-10-05 12:00",
        "ok",
        "2025-10-09 16:00",
        ("2025-10-09 11:30", "2025-10-09 14:12"),
    ),
    (
        "p3-warning-after-the-holiday",
        SHANGHAI,
        "2025-09-30 16:00",
        9,
        (),
        "2025-10-09 12:00",
        "warning",
        "2025-10-09 16:00",
        ("2025-10-09 11:30", "2025-10-09 14:12"),
    ),
    (
        "waiting-overnight-on-office-hours",
        OFFICE,
        "2026-11-24 09:00",
        9,
        (("2026-11-24 11:00", "2026-11-25 10:00"),),
        "2026-11-25 09:30",
        "paused",
        "2026-11-25 17:00",
        ("2026-11-25 12:30", "2026-11-25 15:12"),
    ),
    (
        "berlin-clock-over-the-dst-weekend",
        BERLIN,
        "2026-03-27 17:00",
        2,
        (),
        "2026-03-29 12:00",
        "warning",
        "2026-03-30 10:00",
        ("2026-03-27 18:00", "2026-03-30 09:36"),
    ),
]


@pytest.mark.parametrize(
    ("cal", "start", "target", "pauses", "now", "state", "due", "warnings"),
    [case[1:] for case in BUSINESS_CLOCKS],
    ids=[case[0] for case in BUSINESS_CLOCKS],
)
def test_business_hours_clock(
    cal: BusinessCalendar,
    start: str,
    target: float,
    pauses: tuple[tuple[str, str], ...],
    now: str,
    state: str,
    due: str,
    warnings: tuple[str, str],
) -> None:
    clock = SlaClock(
        target_seconds=target * HOUR,
        calendar=cal,
        started_at=at(start, cal),
        pauses=tuple(Pause(at(a, cal), at(b, cal), "waiting") for a, b in pauses),
    )
    assert clock.state(at(now, cal)) == state
    assert clock.due_at(at(now, cal)) == at(due, cal)
    assert clock.warn_times() == tuple(at(w, cal) for w in warnings)
    assert clock.remaining(at(due, cal)) == pytest.approx(0, abs=1e-3)


BAD_CLOCKS = [
    ("zero-target", {"target_seconds": 0}, "must be positive"),
    ("pause-backwards", {"pauses": (Pause(T0 + 10, T0),)}, "ends before it starts"),
    ("warn-fraction-over-one", {"warn_fractions": (0.5, 1.5)}, "not between 0 and 1"),
]


@pytest.mark.parametrize(
    ("fields", "message"),
    [case[1:] for case in BAD_CLOCKS],
    ids=[case[0] for case in BAD_CLOCKS],
)
def test_bad_clock_is_refused(fields: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {"target_seconds": 300, "calendar": ALWAYS, "started_at": T0}
    with pytest.raises(ValueError, match=message):
        SlaClock(**(arguments | fields))

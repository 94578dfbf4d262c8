"""Working-time arithmetic for SLA clocks: business calendars and pausable clocks (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_serializer,
    model_validator,
)

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockState = Literal["ok", "warning", "breached", "met", "paused"]
Interval = tuple[float, float]

WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SECONDS = 86_400
# Float Unix seconds near 2e9 are exact to ~2e-7 s; a millisecond absorbs the rounding so a timer
# firing at due_at() sees the clock breached.
TOLERANCE_SECONDS = 1e-3
_SEARCH_DAYS = 366 * 10
_PERIOD = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _second_of_day(hour: int, minute: int, text: str) -> int:
    second = hour * 3600 + minute * 60
    if minute >= 60 or second > DAY_SECONDS:
        raise ValueError(f"working period {text!r} has a time past 24:00; use HH:MM from 00:00")
    return second


class Period(BaseModel):
    """One stretch of working time in a local day, written 09:00-12:00; 24:00 ends the day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(ge=0, le=DAY_SECONDS, description="Seconds after local midnight.")
    end: int = Field(
        ge=0, le=DAY_SECONDS, description="Seconds after local midnight (86400 = 24:00)."
    )

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        match = _PERIOD.match(value)
        if match is None:
            raise ValueError(f"working period {value!r} is not HH:MM-HH:MM, e.g. 09:00-18:00")
        start_h, start_m, end_h, end_m = (int(group) for group in match.groups())
        return {
            "start": _second_of_day(start_h, start_m, value),
            "end": _second_of_day(end_h, end_m, value),
        }

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.start >= self.end:
            raise ValueError(
                f"working period {self} does not end after it starts; split a night shift at "
                "midnight (22:00-24:00 on one day, 00:00-06:00 on the next)"
            )
        return self

    @model_serializer
    def _as_text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{self.start // 3600:02d}:{self.start % 3600 // 60:02d}-" + (
            f"{self.end // 3600:02d}:{self.end % 3600 // 60:02d}"
        )


class _Memo:
    """Derived per-day data of one calendar; equal to any other so that it never makes two
    calendars with the same fields compare unequal."""

    def __init__(self) -> None:
        self.days: dict[date, tuple[Interval, ...]] = {}
        self.years: dict[int, tuple[frozenset[date], frozenset[date]]] = {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Memo)

    __hash__ = None  # type: ignore[assignment]


def _office_hours() -> dict[Weekday, tuple[Period, ...]]:
    return {day: (Period(start=9 * 3600, end=18 * 3600),) for day in WEEKDAYS[:5]}


class BusinessCalendar(BaseModel):
    """When a clock runs: working periods per weekday in a time zone, less public holidays.

    Precedence for a local date: working_dates, then holiday_dates, then the country's adjusted
    working days (if country_working_days), then the country's holidays, then the weekly hours.
    The holidays package carries China's adjusted working days (HolidayBase.weekend_workdays)
    for each year whose State Council notice it knows; for a later year it has the statutory
    days only, so list that year's moved days in holiday_dates and working_dates until it does.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_zone: str = Field("UTC", description="IANA time zone of the hours, e.g. Asia/Shanghai.")
    hours: dict[Weekday, tuple[Period, ...]] = Field(
        default_factory=_office_hours,
        description="Working periods per weekday, e.g. mon: [09:00-12:00, 13:00-18:00]; "
        "a weekday left out has none. Default: mon-fri 09:00-18:00.",
    )
    holiday_country: str | None = Field(
        None, description="Country whose public holidays are days off, e.g. CN, DE, US."
    )
    holiday_subdivision: str | None = Field(
        None, description="State or province for regional holidays, e.g. BY with DE."
    )
    country_working_days: bool = Field(
        True,
        description="Work the weekend days the country moves into the week (China's adjusted "
        "working days, 调休), as the holidays package lists them.",
    )
    holiday_dates: frozenset[date] = Field(
        frozenset(), description="More days off, e.g. a company holiday (YYYY-MM-DD)."
    )
    working_dates: frozenset[date] = Field(
        frozenset(), description="Days worked whatever the week or holidays say (YYYY-MM-DD)."
    )
    working_date_hours: tuple[Period, ...] | None = Field(
        None,
        description="Hours on a worked date whose weekday has none (an adjusted Saturday); "
        "default: those of the first weekday that has any, usually Monday.",
    )

    _zone: ZoneInfo = PrivateAttr()
    _always: bool = PrivateAttr(False)
    _memo: _Memo = PrivateAttr(default_factory=_Memo)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"time_zone {value!r} is not an IANA time zone; use e.g. Asia/Shanghai, "
                "Europe/Berlin or UTC"
            ) from exc
        return value

    @field_validator("hours")
    @classmethod
    def _disjoint(
        cls, value: dict[Weekday, tuple[Period, ...]]
    ) -> dict[Weekday, tuple[Period, ...]]:
        for day, periods in value.items():
            ordered = sorted(periods, key=lambda period: period.start)
            for before, after in pairwise(ordered):
                if after.start < before.end:
                    raise ValueError(f"hours of {day}: {before} and {after} overlap; merge them")
        if not any(value.values()):
            raise ValueError(
                "hours has no working period on any weekday, so a clock would never run; give "
                "e.g. mon: [09:00-18:00], or use the 24x7 calendar ALWAYS"
            )
        return {
            day: tuple(sorted(periods, key=lambda p: p.start)) for day, periods in value.items()
        }

    @model_validator(mode="after")
    def _known_country(self) -> BusinessCalendar:
        if self.holiday_country is None:
            if self.holiday_subdivision is not None:
                raise ValueError("holiday_subdivision needs holiday_country, e.g. DE with BY")
            return self
        try:
            holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision)
        except NotImplementedError as exc:
            raise ValueError(
                f"holiday_country {self.holiday_country!r} / holiday_subdivision "
                f"{self.holiday_subdivision!r}: {exc}; use an ISO 3166 code such as CN, DE or US "
                "and a subdivision the holidays package lists for it"
            ) from exc
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._zone = ZoneInfo(self.time_zone)
        whole_day = (Period(start=0, end=DAY_SECONDS),)
        self._always = (
            all(self.hours.get(day) == whole_day for day in WEEKDAYS)
            and self.holiday_country is None
            and not self.holiday_dates
        )

    def business_seconds(self, start: float, end: float) -> float:
        """Working seconds between two Unix times (0 when end is not after start)."""
        if end <= start:
            return 0.0
        if self._always:
            return end - start
        total = 0.0
        day, last = self.local_date(start), self.local_date(end)
        while day <= last:
            for begin, finish in self.intervals(day):
                total += max(0.0, min(finish, end) - max(begin, start))
            day += timedelta(days=1)
        return total

    def add_business_seconds(self, start: float, seconds: float) -> float:
        """The Unix time when `seconds` of working time have passed after `start`.

        A target that ends exactly at the close of a working period is due at that close
        (Friday 18:00), not at the next opening.
        """
        if seconds <= 0:
            return start
        if self._always:
            return start + seconds
        left, day = seconds, self.local_date(start)
        for _ in range(_SEARCH_DAYS):
            for opens, finish in self.intervals(day):
                begin = max(opens, start)
                if finish <= begin:
                    continue
                if left <= finish - begin:
                    return begin + left
                left -= finish - begin
            day += timedelta(days=1)
        raise ValueError(
            f"{seconds:.0f} working seconds after {start:.0f} are not reached within ten years; "
            "check the calendar's hours and holiday_dates"
        )

    def local_date(self, moment: float) -> date:
        """The calendar date in this calendar's time zone at a Unix time."""
        return datetime.fromtimestamp(moment, self._zone).date()

    def intervals(self, day: date) -> tuple[Interval, ...]:
        """The working stretches of a local date as Unix (start, end) pairs, DST applied."""
        cached = self._memo.days.get(day)
        if cached is None:
            # Wall-clock addition on an aware datetime keeps the wall time, so 18:00 stays 18:00
            # on a 23- or 25-hour day; fold=0 maps a time in a DST gap just past the gap.
            midnight = datetime.combine(day, time.min, tzinfo=self._zone)
            spans = (
                (
                    (midnight + timedelta(seconds=period.start)).timestamp(),
                    (midnight + timedelta(seconds=period.end)).timestamp(),
                )
                for period in self.periods_on(day)
            )
            cached = tuple(span for span in spans if span[1] > span[0])
            if len(self._memo.days) > 4096:
                self._memo.days.clear()
            self._memo.days[day] = cached
        return cached

    def periods_on(self, day: date) -> tuple[Period, ...]:
        """The working periods of a local date, holidays and adjusted working days applied."""
        weekly = self.hours.get(WEEKDAYS[day.weekday()], ())
        if day in self.working_dates:
            return weekly or self._worked_date_hours()
        if day in self.holiday_dates:
            return ()
        days_off, days_worked = self._country_days(day.year)
        if self.country_working_days and day in days_worked:
            return weekly or self._worked_date_hours()
        return () if day in days_off else weekly

    def _worked_date_hours(self) -> tuple[Period, ...]:
        if self.working_date_hours is not None:
            return self.working_date_hours
        return next(self.hours[day] for day in WEEKDAYS if self.hours.get(day))

    def _country_days(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        """(days off, weekend days worked) that the holidays package lists for a year."""
        cached = self._memo.years.get(year)
        if cached is None:
            cached = (frozenset(), frozenset())
            if self.holiday_country is not None:
                # Neighbouring years too: a notice may move a day across New Year.
                table = holidays.country_holidays(
                    self.holiday_country,
                    subdiv=self.holiday_subdivision,
                    years=range(year - 1, year + 2),
                )
                cached = (
                    frozenset(day for day in table if day.year == year),
                    frozenset(day for day in table.weekend_workdays if day.year == year),
                )
            self._memo.years[year] = cached
        return cached


ALWAYS = BusinessCalendar(
    time_zone="UTC", hours={day: (Period(start=0, end=DAY_SECONDS),) for day in WEEKDAYS}
)


@dataclass(frozen=True, slots=True)
class Pause:
    """A stretch the clock stands still: waiting on the customer, a maintenance window."""

    start: float
    end: float | None = None  # None while it lasts
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SlaClock:
    """One incident clock: a target in working seconds of its calendar, started, maybe paused.

    An open pause (end None) counts as ending at `now`. stopped_at is when the clock's goal was
    reached (acknowledged, updated, resolved); the clock is then met or breached for good.
    """

    target_seconds: float
    calendar: BusinessCalendar
    started_at: float
    pauses: tuple[Pause, ...] = ()
    stopped_at: float | None = None
    warn_fractions: tuple[float, ...] = (0.5, 0.8)

    def __post_init__(self) -> None:
        if not self.target_seconds > 0:
            raise ValueError(f"SLA target_seconds must be positive, got {self.target_seconds}")
        for pause in self.pauses:
            if pause.end is not None and pause.end < pause.start:
                raise ValueError(f"pause {pause} ends before it starts")
        for fraction in self.warn_fractions:
            if not 0 < fraction < 1:
                raise ValueError(f"warn fraction {fraction} is not between 0 and 1, e.g. 0.8")

    def elapsed(self, now: float) -> float:
        """Working seconds the clock has run by `now` (up to stopped_at)."""
        end = now if self.stopped_at is None else min(now, self.stopped_at)
        return sum(self.calendar.business_seconds(a, b) for a, b in self._running(now, end))

    def remaining(self, now: float) -> float:
        """Working seconds left before breach; negative once breached."""
        return self.target_seconds - self.elapsed(now)

    def due_at(self, now: float) -> float:
        """Unix time the target is reached, given the known pauses and no others."""
        return self._time_at(self.target_seconds, now)

    def warn_times(
        self, fractions: Sequence[float] | None = None, now: float | None = None
    ) -> tuple[float, ...]:
        """Unix times the clock reaches each fraction of its target (default: warn_fractions).

        Pass `now` while a pause is open so that the pause so far counts; without it an open
        pause counts as ending where it started.
        """
        moment = -math.inf if now is None else now
        chosen = self.warn_fractions if fractions is None else fractions
        return tuple(self._time_at(f * self.target_seconds, moment) for f in chosen)

    def paused(self, now: float) -> bool:
        """Whether a pause holds the clock at `now`."""
        return any(p.start <= now and (p.end is None or now < p.end) for p in self.pauses)

    def state(self, now: float) -> ClockState:
        """ok, warning (past the first warn fraction), breached, met, or paused."""
        spent = self.elapsed(now)
        if self.stopped_at is not None and self.stopped_at <= now:
            return "met" if spent <= self.target_seconds + TOLERANCE_SECONDS else "breached"
        if spent >= self.target_seconds - TOLERANCE_SECONDS:
            return "breached"
        if self.paused(now):
            return "paused"
        first_warning = min(self.warn_fractions, default=math.inf) * self.target_seconds
        return "warning" if spent >= first_warning - TOLERANCE_SECONDS else "ok"

    def _time_at(self, seconds: float, now: float) -> float:
        left = seconds
        for begin, end in self._running(now, math.inf):
            span = math.inf if end == math.inf else self.calendar.business_seconds(begin, end)
            if left <= span:
                return self.calendar.add_business_seconds(begin, left)
            left -= span
        raise AssertionError("the last running stretch is unbounded")

    def _running(self, now: float, until: float) -> Iterator[Interval]:
        """Stretches between started_at and until that no pause covers."""
        cursor = self.started_at
        for begin, end in _merged(self.pauses, now):
            if begin >= until:
                break
            if begin > cursor:
                yield cursor, begin
            cursor = max(cursor, end)
        if cursor < until:
            yield cursor, until


def _merged(pauses: Sequence[Pause], now: float) -> list[Interval]:
    spans = sorted((p.start, max(now, p.start) if p.end is None else p.end) for p in pauses)
    merged: list[Interval] = []
    for begin, end in spans:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged

"""SLA targets per priority and the business calendars business-time clocks run on.

The calendar arithmetic lives in collector/response/calendar.py; this module only describes.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator

from agent.configfile import parse_duration
from collector.response.base import Duration, Identifier, ResponseModel, TimeZoneName
from rules.priority import Priority

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_BUSINESS = re.compile(r"^(\d+(?:\.\d+)?)\s*business\s+(day|hour|minute)s?$")
_WINDOW = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_COUNTRY = r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"


class SlaTime(ResponseModel):
    """How long a clock may run: wall-clock seconds, business seconds or business days."""

    seconds: float = Field(0.0, ge=0, description="Length in seconds (of business time if set).")
    business_days: int = Field(
        0,
        ge=0,
        description="Whole business days (until the same business time that many "
        "business days later).",
    )
    business: bool = Field(False, description="Counted only inside the SLA calendar's hours.")


def _sla_time(value: Any) -> Any:
    if isinstance(value, str) and (found := _BUSINESS.match(value.strip())):
        amount, unit = float(found[1]), found[2]
        if unit == "day":
            if not amount.is_integer():
                raise ValueError(f"business days are whole days, got {value!r}")
            return {"business_days": int(amount), "business": True}
        return {"seconds": amount * (3600 if unit == "hour" else 60), "business": True}
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        try:
            return {"seconds": parse_duration(value)}
        except ValueError:
            raise ValueError(
                f"expected a duration like 15m or 4h, or business time like "
                f"'8 business hours' or '1 business day', got {value!r}"
            ) from None
    return value


ClockTarget = Annotated[SlaTime, BeforeValidator(_sla_time)]


class SlaTargets(ResponseModel):
    """The clocks of one priority; omitted keys keep that priority's default."""

    ack: ClockTarget = Field(description="Time to acknowledge (first response).")
    update: ClockTarget | None = Field(
        None, description="Longest time between progress updates while open (null: none)."
    )
    resolve: ClockTarget = Field(description="Time to resolve.")


DEFAULT_TARGETS: dict[Priority, dict[str, str | None]] = {
    Priority.P1: {"ack": "5m", "update": "15m", "resolve": "1h"},
    Priority.P2: {"ack": "15m", "update": "15m", "resolve": "4h"},
    Priority.P3: {"ack": "1h", "update": None, "resolve": "1 business day"},
    Priority.P4: {"ack": "4h", "update": None, "resolve": "5 business days"},
}


class SlaConfig(ResponseModel):
    """Targets per priority, when to warn, and the calendar business-time clocks use."""

    targets: dict[Priority, SlaTargets] = Field(
        default_factory=dict,
        validate_default=True,
        description="Per priority {ack, update, resolve}; unnamed priorities and omitted keys "
        "keep the defaults (P1 5m/15m/1h, P2 15m/15m/4h, P3 1h/-/1 business day, "
        "P4 4h/-/5 business days).",
    )
    warn_at: list[float] = Field(
        default_factory=lambda: [0.5, 0.8],
        description="Warn when this fraction of a target has elapsed (each between 0 and 1).",
    )
    calendar: Identifier | None = Field(
        None,
        description="Name in `calendars` that business time follows; none: business time "
        "runs around the clock (a business day is 24 hours).",
    )
    update_reminder: Duration = Field(
        300.0,
        description="Remind the responder this long before a P1/P2 progress update is due "
        "when nobody has written a note since the last one (0: no reminder).",
    )

    @field_validator("targets", mode="before")
    @classmethod
    def _with_defaults(cls, given: Any) -> Any:
        if not isinstance(given, dict):
            return given
        merged: dict[Any, Any] = {p: dict(d) for p, d in DEFAULT_TARGETS.items()}
        for priority, targets in given.items():
            base = merged.get(priority, {})
            merged[priority] = {**base, **targets} if isinstance(targets, dict) else targets
        return merged

    @field_validator("warn_at")
    @classmethod
    def _fractions(cls, warn_at: list[float]) -> list[float]:
        if any(not 0 < f < 1 for f in warn_at) or warn_at != sorted(set(warn_at)):
            raise ValueError(
                f"warn_at is increasing fractions between 0 and 1 like [0.5, 0.8], got {warn_at}"
            )
        return warn_at

    def for_priority(self, priority: Priority) -> SlaTargets:
        """The targets of `priority` (the defaults unless configured)."""
        return self.targets[priority]


class BusinessCalendar(ResponseModel):
    """Business hours per weekday in a time zone, minus public and extra holidays."""

    timezone: TimeZoneName = Field(description="IANA zone the hours are in.")
    hours: dict[Weekday, str] = Field(
        default_factory=lambda: {day: "09:00-18:00" for day in WEEKDAYS[:5]},
        description='Open hours per weekday, "09:00-18:00" or "09:00-12:00,13:00-18:00"; '
        "a day not listed is closed (default mon-fri 09:00-18:00).",
    )
    holidays: list[Annotated[str, Field(pattern=_COUNTRY)]] = Field(
        default_factory=list,
        description="Countries (optionally subdivisions) whose public holidays are closed, "
        "e.g. CN, DE-BY.",
    )
    extra_holidays: list[date] = Field(
        default_factory=list, description="More closed dates, e.g. a company day off."
    )

    @field_validator("hours")
    @classmethod
    def _windows_parse(cls, hours: dict[Weekday, str]) -> dict[Weekday, str]:
        for day, text in hours.items():
            parse_windows(text, day)
        return hours

    def windows(self, day: Weekday) -> tuple[tuple[time, time | None], ...]:
        """Open (start, end) pairs of `day`; an end of None means midnight (24:00)."""
        text = self.hours.get(day)
        return parse_windows(text, day) if text else ()


def parse_windows(text: str, day: str) -> tuple[tuple[time, time | None], ...]:
    """ "09:00-12:00,13:00-18:00" -> ((09:00, 12:00), (13:00, 18:00)); 24:00 -> None."""
    windows: list[tuple[time, time | None]] = []
    for part in text.split(","):
        found = _WINDOW.match(part.strip())
        if not found:
            raise ValueError(f'{day}: expected hours like "09:00-18:00", got {part.strip()!r}')
        start = time(int(found[1]), int(found[2]))
        end = None if found[3] == "24" else time(int(found[3]), int(found[4]))
        if (end is not None and end <= start) or (found[3] == "24" and found[4] != "00"):
            raise ValueError(f"{day}: {part.strip()!r} ends before it starts")
        previous_end = windows[-1][1] if windows else start
        if previous_end is None or start < previous_end:
            raise ValueError(f"{day}: windows must be in order without overlapping")
        windows.append((start, end))
    return tuple(windows)

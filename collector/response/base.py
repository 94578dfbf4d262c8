"""Pieces every response model shares: the frozen base, ids, time zones, times of day."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints

from rules.model import Duration

MINUTES_PER_DAY = 24 * 60


class ResponseModel(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$", max_length=100),
]


def check_timezone(name: str) -> str:
    """`name` if it is an IANA time zone this machine knows, else a ValueError saying so."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name like Europe/Berlin, Asia/Shanghai or UTC"
        ) from exc
    return name


TimeZoneName = Annotated[str, AfterValidator(check_timezone)]


def _time_of_day(value: object) -> object:
    # YAML 1.1 reads an unquoted 9:30 as the base-60 integer 570 (minutes).
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value < MINUTES_PER_DAY:
            raise ValueError(f'expected a time of day like "09:00", got {value!r}')
        return time(value // 60, value % 60)
    return value


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]


def _date_to_datetime(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


LocalDateTime = Annotated[datetime, BeforeValidator(_date_to_datetime)]
"""An ISO date-time; without a UTC offset it is read in the schedule's time zone."""


def zone_aware(moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` as given if it carries an offset, else read as wall-clock time in `zone`."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


__all__ = [
    "Duration",
    "Identifier",
    "LocalDateTime",
    "ResponseModel",
    "TimeOfDay",
    "TimeZoneName",
    "check_timezone",
    "zone_aware",
]

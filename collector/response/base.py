"""Pieces every response model shares: the frozen base, ids, time zones, times of day."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from rules.model import Duration

MINUTES_PER_DAY = 24 * 60


class ResponseModel(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")


def check_identifier(value: str) -> str:
    """`value` if it can be an id (alice, wang.wei, db-oncall), else a ValueError saying why."""
    if not _IDENTIFIER.match(value):
        raise ValueError(
            f"an id is up to 100 letters, digits and . _ - @, starting with a letter or digit "
            f"(e.g. alice, wang.wei, db-oncall), got {value!r}"
        )
    return value


Identifier = Annotated[str, AfterValidator(check_identifier)]


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


_TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _time_of_day(value: object) -> object:
    # YAML 1.1 reads an unquoted 9:30 as the base-60 integer 570 (minutes).
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MINUTES_PER_DAY:
        return time(value // 60, value % 60)
    if isinstance(value, str) and (found := _TIME_OF_DAY.match(value.strip())):
        return time(int(found[1]), int(found[2]))
    if isinstance(value, time):
        return value
    raise ValueError(f'expected a time of day like "09:00" (quoted), got {value!r}')


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

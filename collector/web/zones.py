"""Times in the reader's time zone: the zone of a request, and times written in it with the
zone shown ("2026-11-28 07:30 UTC+8"), so a time read at 3 a.m. needs no arithmetic.

A user's zone is stored with the user (the /me page, PATCH /api/v1/whoami); without one the
browser's zone (the `tz` cookie set by static/zone.js), else UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from urllib.parse import unquote
from zoneinfo import ZoneInfo, available_timezones

from starlette.requests import Request

from collector.auth.roles import Principal

ZONE_COOKIE = "tz"
DEFAULT_ZONE = "UTC"


@lru_cache(maxsize=1)
def known_zones() -> tuple[str, ...]:
    """Every IANA zone name this system knows, sorted (UTC included)."""
    return tuple(sorted(available_timezones() | {DEFAULT_ZONE}))


def zone_named(name: str | None) -> ZoneInfo | None:
    """The zone called `name`, or None when it is empty or unknown (never a file path)."""
    if not name or name not in _known_set():
        return None
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def _known_set() -> frozenset[str]:
    return frozenset(known_zones())


def choose_zone(request: Request, me: Principal | None) -> ZoneInfo:
    """The user's stored zone, else the browser's (cookie), else UTC."""
    stored = zone_named(me.time_zone) if me is not None else None
    browser = zone_named(unquote(request.cookies.get(ZONE_COOKIE, "")))  # Asia%2FShanghai too
    return stored or browser or ZoneInfo(DEFAULT_ZONE)


def offset_text(offset_seconds: float) -> str:
    """UTC, UTC+8, UTC+5:30, UTC-3:30."""
    minutes = round(offset_seconds / 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


@dataclass(frozen=True)
class LocalTimes:
    """Times written in one zone."""

    zone: tzinfo

    @property
    def name(self) -> str:
        """The zone's IANA name (UTC for UTC)."""
        return str(getattr(self.zone, "key", self.zone))

    def local(self, unix_seconds: float) -> datetime:
        """The moment as a wall-clock time of the zone."""
        return datetime.fromtimestamp(unix_seconds, UTC).astimezone(self.zone)

    def at(self, unix_seconds: float | None) -> str:
        """Date, time and the zone's offset then: 2026-11-28 07:30 UTC+8 ("" when unknown)."""
        if unix_seconds is None:
            return ""
        moment = self.local(unix_seconds)
        offset = moment.utcoffset()
        shift = offset.total_seconds() if offset is not None else 0.0
        return f"{moment:%Y-%m-%d %H:%M} {offset_text(shift)}"

    def clock(self, unix_seconds: float) -> str:
        """The wall-clock time alone: 07:30."""
        return f"{self.local(unix_seconds):%H:%M}"

    def marks(self, start: float, end: float, every_hours: int = 6) -> list[float]:
        """The moments in [start, end] when the zone's clocks show a whole multiple of
        `every_hours` (00:00, 06:00, …): chart ticks that line up with the reader's day."""
        step = 900.0  # quarter hours catch every zone's whole hours (UTC+5:45 included)
        at = start - start % step + step
        found = []
        while at <= end:
            moment = self.local(at)
            if moment.minute == 0 and moment.hour % every_hours == 0:
                found.append(at)
            at += step
        return found


UTC_TIMES = LocalTimes(ZoneInfo(DEFAULT_ZONE))

"""Silences and maintenance windows: when an incident's messages are held back, and until when.

A silence matches incidents by the rule language's label matchers (on the incident's labels
plus host, rule, priority and source) for a fixed time; a maintenance window is a silence that
recurs (a cron expression in a time zone, each time for a duration). Silenced incidents are
still opened and recorded; only the telling waits, and an incident still open when the
silence ends is told then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from croniter import croniter

from rules.matcher import compile_matcher


@dataclass(frozen=True)
class Recurrence:
    """`cron` (5 fields, in `timezone`) starts a window of `duration` seconds."""

    cron: str
    duration: float
    timezone: str = "UTC"

    def window_at(self, now: float) -> tuple[float, float] | None:
        """The window (start, end) that covers `now`, if any."""
        zone = ZoneInfo(self.timezone)
        local = dt.datetime.fromtimestamp(now, zone)
        # The latest start at or before now; croniter steps in local wall time (DST-aware).
        previous = croniter(self.cron, local + dt.timedelta(seconds=1)).get_prev(dt.datetime)
        start = previous.timestamp()
        end = start + self.duration
        return (start, end) if start <= now < end else None

    def next_start(self, now: float) -> float:
        """When the next window starts after `now`."""
        local = dt.datetime.fromtimestamp(now, ZoneInfo(self.timezone))
        return float(croniter(self.cron, local).get_next(dt.datetime).timestamp())


def check_recurrence(cron: str, timezone: str) -> None:
    """Raise ValueError with the fix when the cron expression or the time zone is not valid."""
    if not croniter.is_valid(cron) or len(cron.split()) != 5:
        raise ValueError(
            f"cron must have 5 fields (minute hour day month weekday), e.g. '0 2 * * SUN'; "
            f"got {cron!r}"
        )
    check_zone(timezone)


def check_zone(timezone: str) -> None:
    """Raise ValueError when `timezone` is no IANA time zone name."""
    try:
        ZoneInfo(timezone)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r}; use an IANA name") from exc


@dataclass(frozen=True)
class NoticePlan:
    """When a maintenance window's customer is told: `before` its start (leads in seconds, one
    notice each per occurrence) and at its `end`; times shown in `timezone`."""

    before: tuple[float, ...] = ()
    end: bool = True
    timezone: str = "UTC"

    def as_json(self) -> dict[str, object]:
        """The stored (and API) form."""
        return {"before": list(self.before), "end": self.end, "timezone": self.timezone}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> NoticePlan:
        """Back from the stored form."""
        before = data.get("before") or []
        assert isinstance(before, list)
        leads = tuple(float(b) for b in before)
        return cls(leads, bool(data.get("end", True)), str(data.get("timezone") or "UTC"))


@dataclass(frozen=True)
class Silence:
    """Hold back messages of matching incidents between `starts_at` and `ends_at`."""

    matchers: dict[str, str]
    starts_at: float
    ends_at: float | None
    author: str
    reason: str
    kind: str = "silence"  # silence | maintenance
    recurrence: Recurrence | None = None
    expired_at: float | None = None
    id: int | None = None
    customer: str | None = None  # a maintenance window's customer, whose contacts are told
    notices: NoticePlan | None = None

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether an incident with `labels` falls under this silence."""
        return compile_matcher(self.matchers).matches(labels, labels.get("host", ""))

    def active_until(self, now: float) -> float | None:
        """The end of the stretch that covers `now`, or None when not in force at `now`."""
        if self.expired_at is not None and now >= self.expired_at:
            return None
        if now < self.starts_at or (self.ends_at is not None and now >= self.ends_at):
            return None
        if self.recurrence is None:
            return self.ends_at
        window = self.recurrence.window_at(now)
        if window is None:
            return None
        ends = [window[1], *(t for t in (self.ends_at, self.expired_at) if t is not None)]
        return min(ends)


def silencing(
    silences: list[Silence], labels: dict[str, str], now: float
) -> tuple[Silence, float] | None:
    """The silence holding back an incident with `labels` at `now` (the one ending last)."""
    found: tuple[Silence, float] | None = None
    for silence in silences:
        until = silence.active_until(now)
        if until is not None and silence.matches(labels) and (found is None or until > found[1]):
            found = (silence, until)
    return found

"""Maintenance windows as concrete intervals: one-off and recurring (cron in a time zone)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from croniter import croniter

from collector.noise.silences import Silence
from collector.reports.intervals import clipped
from collector.reports.records import Interval


def window_intervals(silence: Silence, period: Interval) -> list[Interval]:
    """The stretches of `period` during which `silence` is in force."""
    bound_end = min(t for t in (silence.ends_at, silence.expired_at, period[1]) if t is not None)
    bounds = (max(silence.starts_at, period[0]), bound_end)
    if bounds[1] <= bounds[0]:
        return []
    if silence.recurrence is None:
        return [bounds]
    recurrence = silence.recurrence
    zone = ZoneInfo(recurrence.timezone)
    # A window that started before the period may still be running when it begins.
    first = dt.datetime.fromtimestamp(bounds[0] - recurrence.duration, zone)
    starts = croniter(recurrence.cron, first)
    found: list[Interval] = []
    while (start := float(starts.get_next(dt.datetime).timestamp())) < bounds[1]:
        found.append((start, start + recurrence.duration))
    return clipped(found, bounds)

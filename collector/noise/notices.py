"""Which maintenance notices are due: a window's occurrences, and the notices each one gets.

A window with a customer and a notice plan tells that customer's contacts `before` each
occurrence starts (one notice per lead; when several leads are due at once, as for a window
planned at short notice, only the shortest is sent) and when it ends. Notices are only for
occurrences the window was planned for (starting at or after it was made) and, for the end,
only shortly after (a collector that was down for a week does not send last week's ends).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from croniter import croniter

from collector.noise.silences import Silence

END_GRACE = 6 * 3600.0  # an end notice is sent at most this long after the end
MAX_LEAD = 7 * 86400.0  # the earliest a notice may go out before the start
END = "end"


@dataclass(frozen=True)
class Occurrence:
    """One stretch of a window: [start, end)."""

    start: float
    end: float


@dataclass(frozen=True)
class DueNotice:
    """A notice to send now: its window, occurrence and phase ("before:<lead s>" or "end")."""

    window: Silence
    occurrence: Occurrence
    phase: str

    @property
    def ending(self) -> bool:
        """Whether this is the notice that the occurrence is over."""
        return self.phase == END


def before_phase(lead: float) -> str:
    """The phase name of a notice `lead` seconds before the start."""
    return f"before:{lead:g}"


def occurrences(window: Silence, after: float, until: float) -> list[Occurrence]:
    """The window's occurrences starting in [after, until), as planned (cut short by an early
    end or expiry; one expired before it starts is gone)."""
    if window.recurrence is None:
        starts = [window.starts_at] if window.ends_at is not None else []
        length = (window.ends_at or window.starts_at) - window.starts_at
    else:
        starts = _cron_starts(window, after, until)
        length = window.recurrence.duration
    found = []
    for start in starts:
        if not (after <= start < until) or start < window.starts_at:
            continue
        ends = [start + length, *(t for t in (window.ends_at, window.expired_at) if t is not None)]
        end = min(ends)
        if end > start:
            found.append(Occurrence(start, end))
    return found


def _cron_starts(window: Silence, after: float, until: float) -> list[float]:
    recurrence = window.recurrence
    assert recurrence is not None
    zone = ZoneInfo(recurrence.timezone)
    # Step in local wall time from just before `after` (croniter is DST-aware there).
    cursor = croniter(recurrence.cron, dt.datetime.fromtimestamp(after - 1, zone))
    starts: list[float] = []
    while len(starts) < 1000:
        start = float(cursor.get_next(dt.datetime).timestamp())
        if start >= until:
            break
        starts.append(start)
    return starts


def due_notices(window: Silence, now: float) -> list[DueNotice]:
    """The notices of `window` due at `now` (whether already sent is the caller's question)."""
    plan = window.notices
    if plan is None or window.customer is None:
        return []
    due: list[DueNotice] = []
    if plan.before:
        for occurrence in occurrences(window, now, now + max(plan.before) + 1):
            leads = [lead for lead in plan.before if now >= occurrence.start - lead]
            if leads and now < occurrence.start:
                due.append(DueNotice(window, occurrence, before_phase(min(leads))))
    if plan.end:
        longest = window.recurrence.duration if window.recurrence else now - window.starts_at
        for occurrence in occurrences(window, now - END_GRACE - longest, now):
            if occurrence.end <= now < occurrence.end + END_GRACE:
                due.append(DueNotice(window, occurrence, END))
    return due

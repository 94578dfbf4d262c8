"""Time is the collector's: is a report fresh or a replay, and how far off is the agent's clock.

The agent stamps each post with its own send time (X-Watchkeeper-Sent-At). The report's age
is then measured on the agent's clock alone (send time - report time), so a skewed clock
cannot make a fresh report look old or an old one fresh; skew is send time - arrival time.
Without the header (older agents) the last known skew of the host stands in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from agent.report import Report


@dataclass(frozen=True)
class Timing:
    """How a report's time relates to the collector's."""

    fresh: bool
    skew: float | None  # agent clock - collector clock, seconds; None if not measured
    at: float  # when the report's values were true, on the collector's clock


def parse_sent_at(header: str | None) -> float | None:
    """The X-Watchkeeper-Sent-At header as Unix seconds (None if absent or not a number)."""
    if not header:
        return None
    try:
        value = float(header)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def classify(
    report: Report, now: float, sent_at: float | None, known_skew: float, replay_after: float
) -> Timing:
    """Fresh (judge it now) or a replay (history only); `replay_after` is the age limit."""
    skew = sent_at - now if sent_at is not None else None
    offset = skew if skew is not None else known_skew
    age = (sent_at if sent_at is not None else now + offset) - report.time
    limit = max(replay_after, 2 * report.interval_seconds)
    return Timing(fresh=age <= limit, skew=skew, at=min(now, report.time - offset))

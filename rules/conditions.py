"""Pure rule arithmetic: is a value in breach, and what value does a rule look at."""

from __future__ import annotations

import bisect
from collections import deque
from dataclasses import dataclass, field

from rules.model import Rule


def is_breach(rule: Rule, value: float | str, firing: bool) -> bool:
    """Whether `value` breaches `rule`; a firing series clears only past the clear_* level."""
    if rule.equals is not None or rule.in_ is not None or rule.not_in is not None:
        return _state_matches(rule, str(value))
    if isinstance(value, str):
        return False
    # Hysteresis: a firing series holds while at or past its clear_* level; without one it
    # holds exactly as long as the breach itself.
    if rule.above is not None:
        hold = firing and rule.clear_below is not None
        return value >= rule.clear_below if hold else value > rule.above  # type: ignore[operator]
    if rule.below is not None:
        hold = firing and rule.clear_above is not None
        return value <= rule.clear_above if hold else value < rule.below  # type: ignore[operator]
    return False


def _state_matches(rule: Rule, state: str) -> bool:
    if rule.equals is not None:
        return state == rule.equals
    if rule.in_ is not None:
        return state in rule.in_
    return rule.not_in is not None and state not in rule.not_in


# Resolution of a history: points two apart are at least window/MAX_POINTS apart, so a series
# holds at most 2 * MAX_POINTS points whatever the report interval (a 24 h forecast over 10 s
# reports would otherwise hold 8,640 per series).
MAX_POINTS = 720


@dataclass
class SeriesHistory:
    """The recent points of one series that `rate`, `delta`, `increase` and `predict` need.

    Bounded and O(1) per report: a point closer than window/MAX_POINTS to its predecessor
    replaces the newest one; each point carries the series' cumulative rise (for `increase`);
    the least-squares sums are kept running (for `predict`) and rebuilt now and then so float
    error cannot accumulate.
    """

    window: float
    points: deque[tuple[float, float, float]] = field(default_factory=deque)
    _origin: float = 0.0
    _sums: list[float] = field(default_factory=lambda: [0.0] * 5)  # n, Σt, Σv, Σt², Σtv
    _removals: int = 0

    def add(self, time: float, value: float) -> None:
        """Append a point and forget those older than the window (always keep two)."""
        points = self.points
        if points and time <= points[-1][0]:
            return  # a replayed or out-of-order report adds nothing
        if not points:
            self._origin = time
        elif len(points) >= 2 and time - points[-2][0] < self.window / MAX_POINTS:
            self._count(points.pop(), -1.0)
        previous = points[-1] if points else None
        rise = max(0.0, value - previous[1]) if previous else 0.0
        point = (time, value, (previous[2] if previous else 0.0) + rise)
        points.append(point)
        self._count(point, 1.0)
        while len(points) > 2 and points[0][0] < time - self.window:
            self._count(points.popleft(), -1.0)

    def insert(self, time: float, value: float) -> None:
        """Add a point that may be older than the newest (a replayed report), keeping order.

        Rare (spool replays after an outage), so it simply rebuilds the bounded history.
        """
        points = self.points
        if not points or time > points[-1][0]:
            self.add(time, value)
            return
        if any(t == time for t, _v, _r in points) or time < points[-1][0] - self.window:
            return
        merged = sorted([(t, v) for t, v, _r in points] + [(time, value)])
        self.points = deque()
        self._sums = [0.0] * 5
        for t, v in merged:
            self.add(t, v)

    def values(self) -> list[tuple[float, float]]:
        """The (time, value) points, oldest first (what a checkpoint keeps)."""
        return [(t, v) for t, v, _r in self.points]

    def _count(self, point: tuple[float, float, float], sign: float) -> None:
        t, v = point[0] - self._origin, point[1]
        sums = self._sums
        sums[0] += sign
        sums[1] += sign * t
        sums[2] += sign * v
        sums[3] += sign * t * t
        sums[4] += sign * t * v
        if sign < 0:
            self._removals += 1
            if self._removals >= 4 * MAX_POINTS:
                self._rebuild()

    def _rebuild(self) -> None:
        self._removals = 0
        self._origin = self.points[0][0] if self.points else 0.0
        self._sums = [0.0] * 5
        for point in self.points:
            self._count(point, 1.0)

    def rate(self) -> float | None:
        """Per-second increase between the last two points; None after a counter reset."""
        if len(self.points) < 2:
            return None
        (t0, v0, _), (t1, v1, _) = self.points[-2], self.points[-1]
        if v1 < v0 or t1 <= t0:
            return None
        return (v1 - v0) / (t1 - t0)

    def delta(self) -> float | None:
        """Increase between the last two points (may be negative for gauges)."""
        if len(self.points) < 2:
            return None
        return self.points[-1][1] - self.points[-2][1]

    def increase(self, since: float) -> float:
        """Growth since `since`, counting only rises (a reset or a fall adds nothing).

        Rises into the first point at or after `since` count from the point before it.
        """
        first_inside = bisect.bisect_left(self.points, (since,))
        baseline = self.points[max(first_inside - 1, 0)]
        return self.points[-1][2] - baseline[2]

    def predict(self, at: float, min_span: float) -> float | None:
        """Least-squares line through the window evaluated at `at` (like predict_linear)."""
        n, sum_t, sum_v, sum_tt, sum_tv = self._sums
        if n < 3 or self.points[-1][0] - self.points[0][0] < min_span:
            return None
        var_t = sum_tt - sum_t * sum_t / n
        if var_t <= 0:
            return None
        slope = (sum_tv - sum_t * sum_v / n) / var_t
        return sum_v / n + slope * (at - self._origin - sum_t / n)


def history_window(rule: Rule) -> float:
    """How much history a rule needs kept per series (0: none)."""
    if rule.predict is not None:
        return rule.predict.window
    if rule.window is not None:
        return rule.window
    return 1.0 if rule.function != "value" else 0.0


def observed_value(
    rule: Rule, raw: float | str, history: SeriesHistory | None, now: float
) -> float | str | None:
    """The value the rule compares: raw, a rate, a delta or a forecast; None if not yet known."""
    if history is None or isinstance(raw, str):
        return raw
    if rule.predict is not None:
        return history.predict(now + rule.predict.horizon, min_span=rule.predict.window * 0.1)
    if rule.function == "rate":
        return history.rate()
    if rule.function == "delta":
        return history.delta()
    if rule.function == "increase" and rule.window is not None:
        return history.increase(now - rule.window)
    return raw

"""Pure rule arithmetic: is a value in breach, and what value does a rule look at."""

from __future__ import annotations

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


@dataclass
class SeriesHistory:
    """The recent points of one series that `rate`, `delta` and `predict` rules need."""

    window: float
    points: deque[tuple[float, float]] = field(default_factory=deque)

    def add(self, time: float, value: float) -> None:
        """Append a point and forget those older than the window (always keep two)."""
        if self.points and time <= self.points[-1][0]:
            return  # a replayed or out-of-order report adds nothing
        self.points.append((time, value))
        while len(self.points) > 2 and self.points[0][0] < time - self.window:
            self.points.popleft()

    def rate(self) -> float | None:
        """Per-second increase between the last two points; None after a counter reset."""
        if len(self.points) < 2:
            return None
        (t0, v0), (t1, v1) = self.points[-2], self.points[-1]
        if v1 < v0 or t1 <= t0:
            return None
        return (v1 - v0) / (t1 - t0)

    def delta(self) -> float | None:
        """Increase between the last two points (may be negative for gauges)."""
        if len(self.points) < 2:
            return None
        return self.points[-1][1] - self.points[-2][1]

    def increase(self, since: float) -> float:
        """Growth since `since`, counting only rises (a reset or a fall adds nothing)."""
        grown = 0.0
        previous: float | None = None
        for time, value in self.points:
            if time < since:
                previous = value
                continue
            if previous is not None and value > previous:
                grown += value - previous
            previous = value
        return grown

    def predict(self, at: float, min_span: float) -> float | None:
        """Least-squares line through the window evaluated at `at` (like predict_linear)."""
        if len(self.points) < 3 or self.points[-1][0] - self.points[0][0] < min_span:
            return None
        n = len(self.points)
        mean_t = sum(t for t, _ in self.points) / n
        mean_v = sum(v for _, v in self.points) / n
        var_t = sum((t - mean_t) ** 2 for t, _ in self.points)
        if var_t == 0:
            return None
        slope = sum((t - mean_t) * (v - mean_v) for t, v in self.points) / var_t
        return mean_v + slope * (at - mean_t)


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
        # Fit on the rule's function of the series? Keep it simple: forecast the raw series.
        return history.predict(now + rule.predict.horizon, min_span=rule.predict.window * 0.1)
    if rule.function == "rate":
        return history.rate()
    if rule.function == "delta":
        return history.delta()
    if rule.function == "increase" and rule.window is not None:
        return history.increase(now - rule.window)
    return raw

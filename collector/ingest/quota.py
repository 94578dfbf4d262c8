"""What one agent token may use: a report rate (token buckets) and a number of hosts."""

from __future__ import annotations

import threading
from collections.abc import Callable

BURST_SECONDS = 5.0  # a token may send this many seconds' worth of reports at once


class RateLimiter:
    """A token bucket per agent token: `rate` reports a second, bursts of BURST_SECONDS."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str, rate: float) -> float:
        """0 when one more report may pass now (and count it), else seconds until one may."""
        if rate <= 0:
            return 0.0
        burst = max(1.0, rate * BURST_SECONDS)
        now = self._clock()
        with self._lock:
            level, then = self._buckets.get(key, (burst, now))
            level = min(burst, level + max(0.0, now - then) * rate)
            if level >= 1.0:
                self._buckets[key] = (level - 1.0, now)
                return 0.0
            self._buckets[key] = (level, now)
        return (1.0 - level) / rate

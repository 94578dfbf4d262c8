"""Sliding-window counters of failed sign-ins, per user name and per client address."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoginLimits:
    """At most `per_user` failures for one name and `per_address` from one address per window."""

    per_user: int = 5
    per_address: int = 20
    window_seconds: float = 900.0


class LoginThrottle:
    """Remembers recent failures; `wait()` says how long a sign-in must wait (0: go ahead)."""

    def __init__(self, limits: LoginLimits, clock: Callable[[], float]) -> None:
        self._limits = limits
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, user: str, address: str) -> tuple[float, str]:
        """Seconds to wait and which limit applies ("user"/"address"), or (0, "")."""
        now = self._clock()
        with self._lock:
            for key, limit, what in (
                (f"u:{user.lower()}", self._limits.per_user, "user"),
                (f"a:{address}", self._limits.per_address, "address"),
            ):
                times = self._recent(key, now)
                if len(times) >= limit:
                    return times[0] + self._limits.window_seconds - now, what
        return 0.0, ""

    def failed(self, user: str, address: str) -> None:
        """Count one failed sign-in."""
        now = self._clock()
        with self._lock:
            for key in (f"u:{user.lower()}", f"a:{address}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, user: str) -> None:
        """Forget the user's failures (the address keeps its count)."""
        with self._lock:
            self._failures.pop(f"u:{user.lower()}", None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self._limits.window_seconds:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

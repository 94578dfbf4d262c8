"""Maintenance windows and host silence: a host that goes quiet inside its window is expected.

While a maintenance window covers a host, the rules that say a whole host is gone (AgentSilent
and the other `absent:` rules) do not fire for it: no incident opens. The series stays pending
in the engine, so if the host is still silent when the window ends, the next tick fires it and
the incident opens and pages then.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable, Sequence

from collector.incidents.customers import Customer
from collector.noise.silences import Silence
from rules.engine import AlertSignal, SignalKind

log = logging.getLogger(__name__)

MAINTENANCE = "maintenance"

# now -> the silences and windows in force (the store's `in_force`, bound to an engine).
WindowSource = Callable[[float], Sequence[Silence]]


def customer_scope(customer: Customer) -> dict[str, str]:
    """Matchers for a customer's hosts (its host patterns); ValueError if it has none."""
    if not customer.hosts:
        raise ValueError(
            f"customer {customer.name!r} has no host patterns in the customers file; "
            "give the window matchers, e.g. host=~acme-.*"
        )
    # fnmatch's regexes are anchored and fullmatch-safe; one alternative per pattern.
    return {"host": "~" + "|".join(fnmatch.translate(p) for p in customer.hosts)}


def signal_labels(signal: AlertSignal) -> dict[str, str]:
    """What a silence would match the signal's incident on (as Incident.match_labels)."""
    rule = signal.rule.rule
    return {
        **signal.labels,
        **rule.labels,
        "host": signal.host,
        "rule": signal.rule.name,
        "priority": rule.priority.value,
        "source": "rule",
    }


def covering_window(
    windows: Sequence[Silence], labels: dict[str, str], now: float
) -> Silence | None:
    """The maintenance window in force at `now` that matches `labels`, if any."""
    for window in windows:
        in_force = window.kind == MAINTENANCE and window.active_until(now) is not None
        if in_force and window.matches(labels):
            return window
    return None


class MaintenanceGate:
    """Keeps host-level FIRE signals back while a maintenance window covers their host."""

    def __init__(self, host_level_rules: frozenset[str], windows: WindowSource) -> None:
        self._rules = host_level_rules
        self._windows = windows
        self._logged: set[tuple[str, int | None]] = set()

    def deferred(self, signals: Sequence[AlertSignal], now: float) -> list[AlertSignal]:
        """The signals that must wait for the end of a maintenance window."""
        candidates = [
            s for s in signals if s.kind is SignalKind.FIRE and s.rule.name in self._rules
        ]
        if not candidates:
            return []
        windows = self._windows(now)  # only read when a host-level rule is about to fire
        waiting = []
        for signal in candidates:
            window = covering_window(windows, signal_labels(signal), now)
            if window is not None:
                waiting.append(signal)
                self._note(signal, window)
        return waiting

    def _note(self, signal: AlertSignal, window: Silence) -> None:
        """Log once per host and window, not on every tick."""
        seen = (signal.key, window.id)
        if seen not in self._logged:
            self._logged.add(seen)
            log.info(
                "%s on %s not fired: maintenance window #%s (%s) covers the host",
                signal.rule.name,
                signal.host,
                window.id,
                window.reason,
            )

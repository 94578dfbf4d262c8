"""Which maintenance window covers an incident now, as the event that pauses its SLA clocks.

A maintenance window is a silence of kind "maintenance" (collector/noise/silences.py); it
covers an incident when its matchers match the incident's labels (its host among them).
"""

from __future__ import annotations

from collector.incidents.events import MaintenanceSeen
from collector.incidents.model import Incident
from collector.noise.silences import Silence, silencing

MAINTENANCE_KIND = "maintenance"


def windows_of(silences: list[Silence]) -> list[Silence]:
    """The maintenance windows among `silences`."""
    return [s for s in silences if s.kind == MAINTENANCE_KIND]


def maintenance_seen(windows: list[Silence], incident: Incident, now: float) -> MaintenanceSeen:
    """The window covering `incident` at `now` (the one ending last), or none."""
    found = silencing(windows_of(windows), incident.match_labels(), now)
    if found is None:
        return MaintenanceSeen(None)
    window, until = found
    return MaintenanceSeen(until, f"#{window.id} ({window.author}: {window.reason})")


def windows_in_force(windows: list[Silence], now: float) -> frozenset[tuple[int | None, float]]:
    """(id, end) of each maintenance window in force at `now`: when this set changes, the
    open incidents are checked again."""
    found = set()
    for window in windows_of(windows):
        until = window.active_until(now)
        if until is not None:
            found.add((window.id, until))
    return frozenset(found)

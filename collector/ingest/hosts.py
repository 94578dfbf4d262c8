"""The latest state of every host, kept in memory and written to the database behind ingest."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from agent.report import ProbeResult, Report
from collector.store.repository import HostRecord


@dataclass
class HostState:
    """What the collector knows of one host right now."""

    name: str
    first_seen: float
    last_seen: float
    reported_by: str
    agent_version: str = ""
    last_sequence: int = 0
    report_time: float = 0.0
    instance: str = ""
    clock_skew: float = 0.0
    probes: dict[str, ProbeResult] = field(default_factory=dict)

    def record(self) -> HostRecord:
        """The part of the state that is stored."""
        return HostRecord(
            self.name,
            self.first_seen,
            self.last_seen,
            self.agent_version,
            self.reported_by,
            self.last_sequence,
            self.instance,
            self.clock_skew,
        )

    def is_older(self, report: Report) -> bool:
        """True when `report` is not newer than what this host last applied.

        Order is the agent's: its sequence within one agent process (`instance`); across a
        restart of the agent, its own clock.
        """
        if report.instance and report.instance == self.instance:
            return report.sequence <= self.last_sequence
        if not report.instance and not self.instance and report.sequence > self.last_sequence:
            return False
        return report.time <= self.report_time


class HostRegistry:
    """All hosts by name; a report updates its own host and every probe target in it."""

    def __init__(self) -> None:
        self._hosts: dict[str, HostState] = {}
        self._dirty: set[str] = set()
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[HostState]:
        return iter(list(self._hosts.values()))

    def __len__(self) -> int:
        return len(self._hosts)

    def get(self, name: str) -> HostState | None:
        """One host's state, if known."""
        return self._hosts.get(name)

    def load(self, records: list[HostRecord]) -> None:
        """Seed from the database after a restart (no samples until hosts report again)."""
        for r in records:
            self._hosts[r.name] = HostState(
                r.name,
                r.first_seen,
                r.last_seen,
                r.reported_by,
                r.agent_version,
                r.last_sequence,
                instance=r.agent_instance,
                clock_skew=r.clock_skew_seconds,
            )

    def apply(self, report: Report, now: float, skew: float | None) -> bool:
        """Note a report; make it the latest state only if it is newer. True if it was."""
        with self._lock:
            own = self._state(report.host, report.host, now)
            own.last_seen = now
            if skew is not None:
                own.clock_skew = skew
            if own.is_older(report):
                return False
            own.report_time, own.instance = report.time, report.instance
            own.agent_version, own.last_sequence = report.agent_version, report.sequence
            for result in report.probes:
                state = self._state(result.target or report.host, report.host, now)
                state.probes[result.probe] = result
                state.last_seen = now
                state.report_time = report.time
            return True

    def remove(self, name: str) -> HostState | None:
        """Forget a host (retired): no longer listed, exported or written; a report under
        its name later makes it a new host."""
        with self._lock:
            self._dirty.discard(name)
            return self._hosts.pop(name, None)

    def take_dirty(self) -> list[HostRecord]:
        """Records changed since the last call (for the write-behind flush)."""
        with self._lock:
            records = [self._hosts[name].record() for name in self._dirty]
            self._dirty.clear()
        return records

    def mark_dirty(self, names: list[str]) -> None:
        """Write these hosts again at the next flush (their save failed)."""
        with self._lock:
            self._dirty.update(n for n in names if n in self._hosts)

    def _state(self, name: str, reported_by: str, now: float) -> HostState:
        state = self._hosts.get(name)
        if state is None:
            state = self._hosts[name] = HostState(name, now, now, reported_by)
        self._dirty.add(name)
        return state

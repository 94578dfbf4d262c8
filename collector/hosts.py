"""The latest state of every host, kept in memory and written to the database behind ingest."""

from __future__ import annotations

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
        )


class HostRegistry:
    """All hosts by name; a report updates its own host and every probe target in it."""

    def __init__(self) -> None:
        self._hosts: dict[str, HostState] = {}
        self._dirty: set[str] = set()

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
                r.name, r.first_seen, r.last_seen, r.reported_by, r.agent_version, r.last_sequence
            )

    def is_late(self, report: Report) -> bool:
        """True when a newer report from this host was already applied (spool replays)."""
        state = self._hosts.get(report.host)
        return state is not None and report.time < state.report_time

    def apply(self, report: Report, now: float) -> None:
        """Make `report` the latest state of its host and of each probe target."""
        for result in report.probes:
            state = self._state(result.target or report.host, report.host, now)
            state.probes[result.probe] = result
            state.last_seen = now
            state.report_time = report.time
        own = self._state(report.host, report.host, now)
        own.last_seen, own.report_time = now, report.time
        own.agent_version, own.last_sequence = report.agent_version, report.sequence

    def take_dirty(self) -> list[HostRecord]:
        """Records changed since the last call (for the write-behind flush)."""
        records = [self._hosts[name].record() for name in self._dirty]
        self._dirty.clear()
        return records

    def _state(self, name: str, reported_by: str, now: float) -> HostState:
        state = self._hosts.get(name)
        if state is None:
            state = self._hosts[name] = HostState(name, now, now, reported_by)
        self._dirty.add(name)
        return state

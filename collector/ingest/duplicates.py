"""Two agents reporting under one host name: noticed within two report intervals, kept apart.

Each agent stamps its reports with its `instance` id, kept across restarts in its state
directory (agent/identity.py), so a restart is the same instance; an agent without one gets a
new id at each start, and then its old instance simply falls silent. One host name reported by
two instances that both keep reporting (each at least twice within two intervals) is a
duplicate: the later
instance's reports are filed under a host name of their own, so the two never merge into one
set of series (which made incidents open and resolve every few seconds), and the original
host carries a `host_agent_instances` series (rules.engine.AGENT_INSTANCES) naming both, for
the HostDuplicateAgents rule.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from agent.report import Report


@dataclass
class _Instance:
    first_seen: float
    version: str
    peer: str
    seen: deque[float] = field(default_factory=lambda: deque(maxlen=3))


@dataclass(frozen=True)
class Verdict:
    """Where a report is filed, and what the original host's series should say."""

    host: str  # the host name to file the report under
    instances: int  # instances reporting as this name now (1: no duplicate)
    detail: str  # "3f2a91c0 (0.1.0 from 10.0.0.5), 77be02d1 (0.1.0 from 10.0.0.9)"


class DuplicateWatch:
    """Tracks which agent instances report under each host name."""

    def __init__(self) -> None:
        self._hosts: dict[str, dict[str, _Instance]] = {}
        self._lock = threading.Lock()

    def observe(self, report: Report, now: float, peer: str = "") -> Verdict:
        """Note `report` (arriving at `now` from `peer`) and say where it belongs."""
        if not report.instance:
            return Verdict(report.host, 1, "")
        window = 2 * max(report.interval_seconds, 1.0) + 1.0
        with self._lock:
            known = self._hosts.setdefault(report.host, {})
            mine = known.get(report.instance)
            if mine is None:
                mine = known[report.instance] = _Instance(now, report.agent_version, peer)
            mine.seen.append(now)
            for name in [n for n, i in known.items() if now - i.seen[-1] > window]:
                del known[name]  # fell silent: a restarted agent's old self
            live = sorted(
                (i for i in known.items() if sum(now - t <= window for t in i[1].seen) >= 2),
                key=lambda item: item[1].first_seen,
            )
        if len(live) < 2 or report.instance not in dict(live):
            return Verdict(report.host, 1, _described([(report.instance, mine)]))
        detail = _described(live)
        if live[0][0] == report.instance:
            return Verdict(report.host, len(live), detail)
        return Verdict(f"{report.host}#dup-{report.instance[:8]}", len(live), detail)

    def forget(self, host: str) -> None:
        """Drop what is known of a retired host's agents."""
        with self._lock:
            self._hosts.pop(host, None)


def _described(instances: list[tuple[str, _Instance]]) -> str:
    return ", ".join(f"{n[:8]} ({i.version} from {i.peer or '?'})" for n, i in instances)

"""After the storm: what the collector recorded, read back through its HTTP API (best effort).

Counts the storm rule's incidents by state and, where the API shows a timeline, the OPEN,
RESOLVE and REOPEN entries on them, so the storm's transitions/s can be checked against what was
actually stored. An API that answers differently gives "n/a" with the reason, never a crash.
"""

from __future__ import annotations

import http.client
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.collector_process import STORM_RULE, CollectorProcess

TRANSITIONS = frozenset({"OPEN", "RESOLVE", "REOPEN"})
MAX_DETAILS = 200  # timelines read at most


@dataclass
class StormRecord:
    """The storm rule's incidents by state, and the transitions on their timelines."""

    incidents: int = 0
    states: Counter[str] = field(default_factory=Counter)
    transitions: Counter[str] = field(default_factory=Counter)
    timelines_read: int = 0
    failure: str = ""

    def describe(self) -> str:
        """One line for the progress output."""
        if self.failure:
            return f"n/a ({self.failure})"
        states = ", ".join(f"{n} {k}" for k, n in sorted(self.states.items()))
        line = f"{self.incidents} incidents ({states})"
        if self.timelines_read:
            named = ", ".join(f"{n} {k}" for k, n in sorted(self.transitions.items()))
            line += f"; {self.timelines_read} timelines hold {sum(self.transitions.values())} "
            line += f"transitions ({named})"
        return line


def read_json(collector: CollectorProcess, path: str) -> Any:
    """GET `path` and decode it; ValueError on a non-200 answer."""
    status, body = collector.get(path)
    if status != 200:
        raise ValueError(f"GET {path} answered {status}")
    return json.loads(body)


def storm_record(collector: CollectorProcess) -> StormRecord:
    """Read the storm rule's incidents and their timelines from the API."""
    record = StormRecord()
    try:
        listed = read_json(collector, "/api/v1/incidents?state=all&limit=10000")
        incidents = [i for i in listed if i.get("rule") == STORM_RULE]
        record.incidents = len(incidents)
        record.states.update(str(i.get("state")) for i in incidents)
        for incident in incidents[:MAX_DETAILS]:
            timeline = read_json(collector, f"/api/v1/incidents/{incident['id']}").get("timeline")
            if not isinstance(timeline, list):
                break
            record.timelines_read += 1
            names = (str(entry.get("name")) for entry in timeline)
            record.transitions.update(name for name in names if name in TRANSITIONS)
    except (OSError, http.client.HTTPException, ValueError, AttributeError, KeyError) as exc:
        record.failure = f"{type(exc).__name__}: {exc}"
    return record

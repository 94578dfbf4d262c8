"""How incidents and hosts look in JSON (ISO 8601 UTC times, no secrets, no internals)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from collector.hosts import HostState
from collector.incidents.model import Incident


def iso(unix_seconds: float | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC string."""
    if unix_seconds is None:
        return None
    return datetime.fromtimestamp(unix_seconds, UTC).isoformat().replace("+00:00", "Z")


def incident_view(incident: Incident) -> dict[str, Any]:
    """The public JSON form of an incident."""
    return {
        "id": incident.id,
        "rule": incident.rule,
        "host": incident.host,
        "priority": incident.priority.value,
        "state": incident.state.value,
        "summary": incident.summary,
        "labels": incident.labels,
        "value": incident.value,
        "opened_at": iso(incident.opened_at),
        "resolved_at": iso(incident.resolved_at),
        "description": incident.annotations.get("description", ""),
    }


def host_view(state: HostState, open_count: int, silent_after: float, now: float) -> dict[str, Any]:
    """The public JSON form of a host's latest state and health."""
    silent = now - state.last_seen > silent_after
    health = "silent" if silent else ("failing" if open_count else "ok")
    return {
        "name": state.name,
        "health": health,
        "last_seen": iso(state.last_seen),
        "first_seen": iso(state.first_seen),
        "seconds_since_report": round(now - state.last_seen, 3),
        "reported_by": state.reported_by,
        "agent_version": state.agent_version,
        "open_incidents": open_count,
        "probes": {
            name: {"status": r.status, "error": r.error, "samples": len(r.samples)}
            for name, r in state.probes.items()
        },
    }

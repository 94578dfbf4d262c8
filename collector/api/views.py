"""How incidents and hosts look in JSON (ISO 8601 UTC times, no secrets, no internals)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from collector.incidents.model import Incident
from collector.ingest.hosts import HostState


def iso(unix_seconds: float | None) -> str | None:
    """Unix seconds as an ISO 8601 UTC string."""
    if unix_seconds is None:
        return None
    return datetime.fromtimestamp(unix_seconds, UTC).isoformat().replace("+00:00", "Z")


def json_value(value: float | str | None) -> float | str | None:
    """A value JSON can carry: infinities and NaN become strings instead of a 500."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def incident_view(incident: Incident) -> dict[str, Any]:
    """The public JSON form of an incident."""
    return {
        "id": incident.id,
        "number": incident.number,
        "source": incident.source.value,
        "state": incident.state.value,
        "priority": incident.priority.value,
        "summary": incident.summary,
        "description": incident.description,
        "rule": incident.rule or None,
        "host": incident.host or None,
        "hosts": list(incident.hosts),
        "labels": incident.labels,
        "value": json_value(incident.value),
        "condition": incident.annotations.get("condition"),
        "auto_resolve": incident.auto_resolve,
        "assignee": incident.assignee,
        "reporter": incident.reporter,
        "contact": incident.contact,
        "reopen_count": incident.reopen_count,
        "opened_at": iso(incident.opened_at),
        "acknowledged_at": iso(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": iso(incident.resolved_at),
        "closed_at": iso(incident.closed_at),
        "updated_at": iso(incident.updated_at),
    }


def timeline_view(entry: dict[str, Any]) -> dict[str, Any]:
    """One timeline entry in JSON."""
    return {
        "at": iso(entry["at"]),
        "kind": entry["kind"],
        "name": entry["name"],
        "actor": entry["actor"],
        "detail": entry["detail"],
        "data": entry.get("data"),
    }


def delivery_view(row: dict[str, Any]) -> dict[str, Any]:
    """One outbox message of an incident in JSON."""
    return {
        "channel": row["channel"],
        "event": row["event"],
        "status": row["status"],
        "attempts": row["attempts"],
        "last_error": row["last_error"],
        "created_at": iso(row["created_at"]),
        "sent_at": iso(row["sent_at"]),
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
        "clock_skew_seconds": round(state.clock_skew, 3),
        "open_incidents": open_count,
        "probes": {
            name: {"status": r.status, "error": r.error, "samples": len(r.samples)}
            for name, r in list(state.probes.items())
        },
    }


def event_view(row: dict[str, Any]) -> dict[str, Any]:
    """One stored host event (SEL entry, SNMP trap) in JSON."""
    return {
        "kind": row["kind"],
        "time": iso(row["time"]),
        "received_at": iso(row["received_at"]),
        "message": row["message"],
        "labels": row["labels"],
    }

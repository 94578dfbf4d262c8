"""How incidents and hosts look in JSON (ISO 8601 UTC times, no secrets, no internals)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from collector.auth.roles import Principal
from collector.incidents.model import Incident
from collector.ingest.hosts import HostState
from collector.store.access import AuditEntry, TokenRecord, UserRecord


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


def clock_stops(incident: Incident) -> dict[str, float | None]:
    """When each SLA clock stopped: ack at the acknowledgement (or resolution), resolve at
    the resolution; None while running."""
    acked = incident.acknowledged_at or incident.resolved_at
    return {"ack": acked, "resolve": incident.resolved_at}


def sla_view(incident: Incident, now: float) -> list[dict[str, Any]]:
    """Each SLA clock with its state and time left."""
    if incident.plan is None:
        return []
    return [
        {
            "clock": c.name,
            "state": c.state,
            "due_at": iso(c.due_at),
            "seconds_left": None if c.remaining is None else round(c.remaining),
        }
        for c in incident.plan.clock_states(clock_stops(incident), now)
    ]


def incident_view(incident: Incident, now: float | None = None) -> dict[str, Any]:
    """The public JSON form of an incident (with its SLA clocks when `now` is given)."""
    view: dict[str, Any] = {
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
        "eta": iso(incident.eta_at),  # expected resolution, as the customer is told
        "eta_reason": incident.eta_reason,
        "policy": incident.plan.policy if incident.plan else None,
        "escalation_tier": _tier(incident),
    }
    if now is not None:
        view["sla"] = sla_view(incident, now)
    return view


# Fields of an incident that say how we work it (who, which policy and tier, our labels):
# left out of what a customer reads.
STAFF_ONLY = ("assignee", "policy", "escalation_tier", "labels")


def customer_view(view: dict[str, Any]) -> dict[str, Any]:
    """An incident view as a customer reads it: without the STAFF_ONLY fields."""
    return {k: v for k, v in view.items() if k not in STAFF_ONLY}


def _tier(incident: Incident) -> int | None:
    plan = incident.plan
    if plan is None or not plan.tiers or incident.escalation_step < 0:
        return None
    return incident.escalation_step % len(plan.tiers) + 1


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


def principal_view(principal: Principal) -> dict[str, Any]:
    """Who a request acts as."""
    return {
        "name": principal.name,
        "role": principal.role.value,
        "kind": principal.kind.value,
        "customer": principal.customer,
        "language": principal.language,
        "time_zone": principal.time_zone,
    }


def user_view(user: UserRecord) -> dict[str, Any]:
    """A user without its password hash."""
    return {
        "name": user.name,
        "role": user.role,
        "customer": user.customer,
        "disabled": user.disabled,
        "created_at": iso(user.created_at),
        "password_changed_at": iso(user.password_changed_at),
    }


def token_view(token: TokenRecord, now: float) -> dict[str, Any]:
    """An API token's record: its prefix, never the token or its digest."""
    expired = token.expires_at is not None and token.expires_at <= now
    state = "revoked" if token.revoked_at else ("expired" if expired else "active")
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "role": token.role,
        "customer": token.customer,
        "state": state,
        "created_by": token.created_by,
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
    }


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    """One audit entry."""
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor": entry.actor,
        "actor_kind": entry.actor_kind,
        "address": entry.address,
        "action": entry.action,
        "status": entry.status,
        "detail": entry.detail,
    }


def sla_tally(incidents: list[Incident], now: float) -> dict[tuple[str, str], int]:
    """Active incidents' SLA clocks counted by (clock, state), for /metrics."""
    counts: dict[tuple[str, str], int] = {}
    for incident in incidents:
        if incident.plan is not None:
            for clock in incident.plan.clock_states(clock_stops(incident), now):
                counts[clock.name, clock.state] = counts.get((clock.name, clock.state), 0) + 1
    return counts

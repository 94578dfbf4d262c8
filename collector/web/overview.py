"""The overview page: active incidents by priority with their SLA clocks, hosts by health,
who is on call, active silences, what changed in the last hour; its live part is a fragment
the page polls."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from collector.api.context import ApiContext
from collector.auth.roles import Principal
from collector.incidents.model import Incident
from collector.ingest.hosts import HostState
from collector.response.roster import Roster
from collector.web.incidents import shown
from collector.web.oncall import on_call_now
from rules.priority import Priority

# Worst first: a host is shown under the worst thing that is true of it.
HEALTH_ORDER = ("critical", "probe-failing", "silent", "warning", "ok")
SEVERE = (Priority.P1, Priority.P2)
CHANGES_SECONDS = 3600.0  # "what changed in the last hour"
CHANGES_SHOWN = 15


@dataclass(frozen=True)
class HostHealth:
    """One host as the overview shows it."""

    name: str
    health: str
    last_seen: float
    open_incidents: int
    failing_probes: tuple[str, ...]
    agent_version: str


def host_health(
    state: HostState, incidents: list[Incident], silent_after: float, now: float
) -> HostHealth:
    """A host's health: critical (a P1/P2 open), probe failing, silent, warning (P3/P4 open),
    or ok. A failing probe never shows as ok: the host may be broken in the part not probed."""
    failing = tuple(sorted(n for n, r in state.probes.items() if r.status != "ok"))
    if any(i.priority in SEVERE for i in incidents):
        health = "critical"
    elif failing:
        health = "probe-failing"
    elif now - state.last_seen > silent_after:
        health = "silent"
    elif incidents:
        health = "warning"
    else:
        health = "ok"
    return HostHealth(
        state.name, health, state.last_seen, len(incidents), failing, state.agent_version
    )


def overview_context(
    ctx: ApiContext, me: Principal, roster: Roster | None = None
) -> dict[str, Any]:
    """What the overview's live part shows to `me`, read in one go (call it off the event
    loop). A customer sees its own incidents, hosts and their changes, and no silences (their
    matchers name other customers' hosts) nor who is on call."""
    now = ctx.clock()
    staff = ctx.scopes.scope(me) is None
    reading = ctx.scopes.incidents(me)
    active = reading.active()
    active.sort(key=lambda i: (i.priority.rank, -i.opened_at))
    by_priority: dict[str, list[dict[str, Any]]] = {p.value: [] for p in Priority}
    by_host: dict[str, list[Incident]] = defaultdict(list)
    for incident in active:
        by_priority[incident.priority.value].append(shown(incident, now))
        for name in {incident.host, *incident.hosts} - {""}:
            by_host[name].append(incident)
    hosts = [
        host_health(state, by_host[state.name], ctx.silent_after, now)
        for state in ctx.scopes.hosts(me)
    ]
    hosts.sort(key=lambda h: HEALTH_ORDER.index(h.health))
    tally = {health: 0 for health in HEALTH_ORDER}
    for host in hosts:
        tally[host.health] += 1
    return {
        "by_priority": {p: views for p, views in by_priority.items() if views},
        "active_count": len(active),
        # Healthy hosts are counted, not listed (the host list has them): the fragment is
        # polled every few seconds and a thousand ok rows would be most of its weight.
        "hosts": [h for h in hosts if h.health != "ok"],
        "host_count": len(hosts),
        "tally": tally,
        "silences": [s for s in ctx.silences.search(now) if s.active_until(now) is not None]
        if staff
        else [],
        "on_call": on_call_now(roster, now) if staff and roster is not None else [],
        "changes": reading.changes(now - CHANGES_SECONDS, CHANGES_SHOWN),
    }

"""The host list and the host page: state, open and past incidents, probes, inventory, recent
events and the 24 h charts from the short-term history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from collector.api.context import ApiContext
from collector.api.inventory import inventory_view
from collector.api.views import event_view
from collector.auth.roles import Principal
from collector.history.recent import RecentHistory
from collector.incidents.customers import Customer, CustomerBook
from collector.incidents.model import ACTIVE_STATES, Incident
from collector.ingest.hosts import HostState
from collector.notify.units import format_quantity
from collector.web.charts import host_charts
from collector.web.incidents import shown
from collector.web.overview import HEALTH_ORDER, host_health
from collector.web.zones import LocalTimes

PAST_INCIDENTS = 20
EVENTS = 50
OPEN_VALUES = 40  # a probe with at most this many values is shown unfolded


def current_values(state: HostState) -> list[dict[str, Any]]:
    """Each probe's latest values in human units (disks' SMART state, arrays, BMC sensors,
    SNMP counters...), series sorted by name and labels."""
    shown = []
    for probe, result in sorted(state.probes.items()):
        rows = sorted(
            (
                sample.metric,
                ", ".join(f"{k}={v}" for k, v in sorted(sample.labels.items())),
                format_quantity(sample.value, sample.metric),
            )
            for sample in result.samples
        )
        shown.append({"probe": probe, "rows": rows, "open": len(rows) <= OPEN_VALUES})
    return shown


def devices_of(ctx: ApiContext, me: Principal, state: HostState) -> list[HostState]:
    """The devices this host's agent reports for (SNMP devices, servers seen through their
    BMC): each is a host of its own."""
    return sorted(
        (h for h in ctx.scopes.hosts(me) if h.reported_by == state.name and h.name != state.name),
        key=lambda h: h.name,
    )


def hosts_context(ctx: ApiContext, me: Principal, customer: str = "") -> dict[str, Any]:
    """Every host open to `me` with its health, worst first, and for staff its customer (only
    one customer's with `customer`); call it off the event loop."""
    now = ctx.clock()
    by_host: dict[str, list[Incident]] = defaultdict(list)
    for incident in ctx.scopes.incidents(me).active():
        for name in {incident.host, *incident.hosts} - {""}:
            by_host[name].append(incident)
    hosts = [
        host_health(state, by_host[state.name], ctx.silent_after, now)
        for state in ctx.scopes.hosts(me)
    ]
    hosts.sort(key=lambda h: (HEALTH_ORDER.index(h.health), h.name))
    book = ctx.scopes.book if ctx.scopes.scope(me) is None else None
    owners = {h.name: owner.name for h in hosts if book and (owner := _owner(book, h.name))}
    if customer and book is not None:
        hosts = [h for h in hosts if owners.get(h.name) == customer]
    return {
        "hosts": hosts,
        "owners": owners,  # staff only: which customer each host is (by the customers file)
        "customers": [c.name for c in book.customers] if book else [],
        "customer": customer,
    }


def _owner(book: CustomerBook, host: str) -> Customer | None:
    """The first customer whose host patterns match `host` (as incidents are attributed)."""
    return next((c for c in book.customers if c.owns(host)), None)


def host_context(
    ctx: ApiContext,
    me: Principal,
    state: HostState,
    recent: RecentHistory | None,
    times: LocalTimes,
    gettext: Callable[[str], str],
) -> dict[str, Any]:
    """Everything the host page shows, charts in the reader's zone and language (call it off
    the event loop)."""
    now = ctx.clock()
    reading = ctx.scopes.incidents(me)
    found = reading.search(None, PAST_INCIDENTS + 50, state.name)
    active = [i for i in found if i.state in ACTIVE_STATES]
    past = [i for i in found if i.state not in ACTIVE_STATES][:PAST_INCIDENTS]
    series = recent.series(state.name, now) if recent is not None else []
    return {
        "host": state,
        "health": host_health(state, active, ctx.silent_after, now),
        "open": [shown(i, now) for i in active],
        "past": [shown(i, now) for i in past],
        "probes": sorted(state.probes.items()),
        "inventory": inventory_view(state)["items"],
        "events": [event_view(row) for row in ctx.repository.list_events(state.name, EVENTS)],
        "charts": host_charts(series, now, times, gettext),
        "values": current_values(state),
        "devices": devices_of(ctx, me, state),
    }

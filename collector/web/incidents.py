"""The incident list (filtered, paged), the incident page, and its action forms.

Every action is a plain form POSTed to /incidents/{number}/{action}: checked for the session's
CSRF token, applied as the signed-in person, then redirected back to the page (POST-redirect-
GET), so it works without JavaScript. A refused action re-renders the page with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from agent.configfile import parse_duration
from collector.api.context import ApiContext
from collector.api.knowledge import kb_matches
from collector.api.scoping import IncidentReading
from collector.api.views import customer_view, incident_view, timeline_view
from collector.incidents.eta import expected_resolution
from collector.incidents.events import (
    Acknowledge,
    AddNote,
    Assign,
    Close,
    PersonAction,
    Regrade,
    Reopen,
    Resolve,
    Resume,
    SetEta,
    Wait,
)
from collector.incidents.model import ACTIVE_STATES, Incident, IncidentState
from collector.incidents.rootcause import Category
from collector.incidents.transitions import allowed_actions
from collector.notify.units import format_quantity
from collector.store.knowledge import root_cause_of
from collector.store.snapshots import of_incident as snapshots_of
from collector.web.i18n import N_
from collector.web.silences import similar_matchers
from collector.web.zones import zone_named
from rules.priority import Priority

PAGE_SIZE = 50
MAX_TEXT = 20_000


class FormError(ValueError):
    """A form field is missing or wrong; the message names it."""


def form_text(
    form: dict[str, str], name: str, required: bool = False, limit: int = MAX_TEXT
) -> str:
    """A form's text field, trimmed; FormError when required and empty, or over `limit`."""
    value = form.get(name, "").strip()
    if required and not value:
        raise FormError(f"{name} is required")
    if len(value) > limit:
        raise FormError(f"{name} is longer than {limit} characters")
    return value


def _regrade(form: dict[str, str], actor: str) -> PersonAction:
    try:
        priority = Priority(form.get("priority", ""))
    except ValueError as exc:
        raise FormError("priority must be one of P1, P2, P3, P4") from exc
    return Regrade(actor, priority, form_text(form, "reason", required=True))


def _eta(form: dict[str, str], actor: str) -> PersonAction:
    """The ETA form: a wall-clock time (datetime-local) in the zone the page was shown in (its
    hidden `zone` field; UTC without one) or a duration from now, with a reason; the clear
    button clears it."""
    reason = form_text(form, "reason")
    if form.get("clear"):
        return SetEta(actor, reason)
    at_text, after_text = form.get("eta_at", "").strip(), form.get("eta_in", "").strip()
    if at_text and after_text:
        raise FormError("give the expected time or a duration from now, not both")
    if after_text:
        try:
            return SetEta(actor, reason, after=parse_duration(after_text))
        except ValueError as exc:
            raise FormError(f"in: expected a duration like 4h or 2d, got {after_text!r}") from exc
    if not at_text:
        raise FormError("give the expected time or a duration from now, e.g. 4h")
    try:
        at = datetime.fromisoformat(at_text)
    except ValueError as exc:
        raise FormError(f"expected time: like 2026-11-28T16:00, not {at_text!r}") from exc
    zone = zone_named(form.get("zone")) or UTC
    return SetEta(actor, reason, at=(at if at.tzinfo else at.replace(tzinfo=zone)).timestamp())


# Each form's verb and how its fields and the actor become the event (the API's verbs).
ACTIONS: dict[str, Callable[[dict[str, str], str], PersonAction]] = {
    "ack": lambda f, a: Acknowledge(a, form_text(f, "note")),
    "assign": lambda f, a: Assign(a, form_text(f, "assignee", required=True)),
    "note": lambda f, a: AddNote(a, form_text(f, "text", required=True)),
    "regrade": _regrade,
    "resolve": lambda f, a: Resolve(a, form_text(f, "note")),
    "reopen": lambda f, a: Reopen(a, form_text(f, "reason")),
    "close": lambda f, a: Close(a, form_text(f, "note")),
    "wait": lambda f, a: Wait(a, form_text(f, "note")),
    "resume": lambda f, a: Resume(a, form_text(f, "note")),
    "eta": _eta,
}

STATE_CHOICES = (
    "active",
    "triggered",
    "acknowledged",
    "waiting",
    "resolved",
    "verifying",
    "closed",
    "all",
)
SINCE_CHOICES = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
ORDER_CHOICES = ("newest", "oldest", "priority")


@dataclass(frozen=True)
class IncidentFilter:
    """The incident list's query string, read leniently: an unknown value is no filter."""

    state: str = "active"
    priority: str = ""
    host: str = ""
    rule: str = ""
    number: str = ""
    since: str = ""
    order: str = "newest"
    page: int = 1
    team: str = ""  # routed to the team (label) or paging it in a tier
    customer: str = ""  # staff only: one customer's tickets, as it sees them

    @staticmethod
    def parse(query: dict[str, str]) -> IncidentFilter:
        """The filter a query string asks for."""
        state = query.get("state", "active")
        priority = query.get("priority", "")
        page = query.get("page", "1")
        since, order = query.get("since", ""), query.get("order", "newest")
        return IncidentFilter(
            state=state if state in STATE_CHOICES else "active",
            priority=priority if priority in {p.value for p in Priority} else "",
            host=query.get("host", "").strip()[:255],
            rule=query.get("rule", "").strip()[:255],
            number=query.get("number", "").strip()[:64],
            since=since if since in SINCE_CHOICES else "",
            order=order if order in ORDER_CHOICES else "newest",
            page=min(int(page), 10_000) if page.isdecimal() and int(page) > 0 else 1,
            team=query.get("team", "").strip()[:255],
            customer=query.get("customer", "").strip()[:255],
        )

    def states(self) -> list[IncidentState] | None:
        """The states asked for (None: all)."""
        if self.state == "all":
            return None
        if self.state == "active":
            return list(ACTIVE_STATES)
        return [IncidentState(self.state)]

    def url(self, page: int) -> str:
        """The list's URL with this filter at `page`."""
        fields = {
            "state": self.state,
            "priority": self.priority,
            "host": self.host,
            "rule": self.rule,
            "number": self.number,
            "team": self.team,
            "customer": self.customer,
            "since": self.since,
            "order": "" if self.order == "newest" else self.order,
            "page": str(page),
        }
        return "/incidents?" + urlencode({k: v for k, v in fields.items() if v})


def shown(incident: Incident, now: float) -> dict[str, Any]:
    """The API's view of an incident with its SLA clocks, plus its opening and last update
    times as numbers (for durations) and when to expect the fix."""
    return {
        **incident_view(incident, now),
        "opened_ts": incident.opened_at,
        "updated_ts": incident.updated_at,
        "expected": expected_resolution(incident, now),
    }


def list_context(
    ctx: ApiContext, chosen: IncidentFilter, reading: IncidentReading, staff: bool = True
) -> dict[str, Any]:
    """One page of the incident list from `reading` (call it off the event loop); staff may
    narrow it to one customer's tickets."""
    if chosen.customer and staff:
        reading = ctx.scopes.customer_incidents(chosen.customer)
    found = reading.search(
        chosen.states(),
        PAGE_SIZE + 1,
        chosen.host or None,
        priorities=[Priority(chosen.priority)] if chosen.priority else None,
        rule=chosen.rule or None,
        number=chosen.number or None,
        offset=(chosen.page - 1) * PAGE_SIZE,
        opened_after=ctx.clock() - SINCE_CHOICES[chosen.since] if chosen.since else None,
        order=chosen.order,
        team=chosen.team or None,
    )
    now = ctx.clock()
    book = ctx.scopes.book
    customers = [c.name for c in book.customers] if staff and book is not None else []
    return {
        "incidents": [shown(i, now) for i in found[:PAGE_SIZE]],
        "filter": chosen,
        "states": STATE_CHOICES,
        "since_choices": list(SINCE_CHOICES),
        "orders": ORDER_CHOICES,
        "priorities": [p.value for p in Priority],
        "previous": chosen.url(chosen.page - 1) if chosen.page > 1 else None,
        "next": chosen.url(chosen.page + 1) if len(found) > PAGE_SIZE else None,
        "plain_states": PLAIN_STATES,
        "customers": customers,
    }


def page_context(
    ctx: ApiContext, incident: Incident, reading: IncidentReading, customer: bool = False
) -> dict[str, Any]:
    """Everything the incident page shows (call it off the event loop); a customer's page
    leaves out how we work it (assignee, policy, tier, labels, our root-cause notes)."""
    assert incident.id is not None
    view = incident_view(incident, ctx.clock())
    plan = incident.plan
    tier = view["escalation_tier"]
    with ctx.repository.engine.connect() as conn:
        root_cause = None if customer else root_cause_of(conn, incident.id)
        # What the agent saw when it opened: our internals (process lists, kernel messages),
        # staff only as in the API.
        snapshots = [] if customer else snapshots_of(conn, incident.id)
    return {
        "i": customer_view(view) if customer else view,
        "customer": customer,
        "root_cause": root_cause,
        "snapshots": snapshots,
        # Other incidents' fixes may be other customers': staff only, as in the API.
        "kb": [] if customer else kb_matches(ctx, incident),
        "needs_root_cause": incident.priority in (Priority.P1, Priority.P2),
        "categories": [c.value for c in Category],
        "value": format_quantity(incident.value, incident.annotations.get("metric", "")),
        "timeline": [{**timeline_view(e), "ts": e["at"]} for e in reading.timeline(incident.id)],
        "raw": incident,
        "tiers": len(plan.tiers) if plan else 0,
        "tier_targets": plan.tiers[tier - 1].targets if plan and tier and not customer else (),
        "allowed": [a for a in allowed_actions(incident.state) if a in ACTIONS],
        "priorities": [p.value for p in Priority],
        "similar": "/silences?"
        + urlencode({"matchers": similar_matchers(incident.host, incident.rule)}),
        "message": "",
        **ticket_context(ctx, incident, customer),
    }


# What a ticket's state means, in the words a customer reads on its page and list.
PLAIN_STATES = {
    "triggered": N_("Received: we will start on it shortly"),
    "acknowledged": N_("We are working on it"),
    "waiting": N_("Waiting for your answer"),
    "resolved": N_("Fixed: we are checking it stays fixed"),
    "verifying": N_("Fixed: please confirm it works for you"),
    "closed": N_("Closed"),
}


def ticket_context(ctx: ApiContext, incident: Incident, customer: bool) -> dict[str, Any]:
    """The ticket side of the page: when to expect the fix, the customer's verification answer
    (and form), and for staff the linked and suggested incidents."""
    details = ctx.ticket_details(incident, not customer) if ctx.ticket_details else {}
    return {
        "expected": expected_resolution(incident, ctx.clock()),
        "plain_states": PLAIN_STATES,
        "satisfaction": details.get("satisfaction"),
        "links": details.get("links", []),
        "suggested_links": details.get("suggested_links", []),
        "can_answer": customer and incident.state is IncidentState.VERIFYING,
    }

"""The console's ticket form (/tickets/new): a customer opens a ticket for itself, staff for a
customer or for nobody. Impact and urgency choose P2 to P4 (P1 only by a staff re-grade, as
Zammad and PagerDuty do); hosts are ticked from the ones the person may see; the ticket is
labelled `via: console` and opened through the same confinement as the API's."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.context import ApiContext
from collector.api.errors import see_other
from collector.api.opening import confined_opening
from collector.auth.roles import Principal
from collector.incidents.customers import CUSTOMER_LABEL
from collector.incidents.events import PersonOpened
from collector.store.feedback import Satisfaction
from collector.verification.links import VERDICTS
from collector.web.i18n import N_
from collector.web.incidents import FormError, form_text
from collector.web.pages import Pages, expired_form, form_csrf_ok, read_form
from rules.priority import Priority

VIA_LABEL = "via"
HOST_FIELD = "host:"  # one checkbox per host: host:NAME=on (the form reader keeps one value)
LEVELS = {"high": 3, "medium": 2, "low": 1}
LEVEL_WORDS = (N_("high"), N_("medium"), N_("low"))
# A verification's verdict and how it came (the incident page shows them).
ANSWER_WORDS = (N_("fixed"), N_("broken"), N_("timeout"), N_("link"), N_("reply"), N_("timer"))
ANSWER_WAYS = (N_("staff"), N_("console"))
MAX_TITLE = 300
MAX_FIELD = 20_000
MAX_FORM_FIELDS = 1_000  # the text fields, and one checkbox per host
ANSWER = "answer"  # the incident page's verification form: /incidents/{number}/answer
LINK = "link"  # staff link a ticket to an incident: /incidents/{number}/link


def ticket_routes(ctx: ApiContext, pages: Pages) -> list[Route]:
    """GET /tickets/new shows the form; POST opens the ticket and goes to its page."""

    async def ticket_form(request: Request) -> Response:
        shown = await run_in_threadpool(form_context, ctx, principal_of(request))
        return pages.render(request, "ticket_new.html", **shown)

    async def open_ticket(request: Request) -> Response:
        me = principal_of(request)
        form = await read_form(request, MAX_FORM_FIELDS)
        if not form_csrf_ok(me, form):
            return expired_form(pages, request)
        try:
            event = opening_from_form(ctx, me, form)
        except ValueError as exc:  # FormError, OpeningRefusedError: the page says what
            shown = await run_in_threadpool(form_context, ctx, me)
            shown.update(form=form, message=str(exc))
            return pages.render(request, "ticket_new.html", 400, **shown)
        opened = await run_in_threadpool(ctx.incidents.open, event)
        return see_other(f"/incidents/{opened.number}")

    return [
        Route("/tickets/new", ticket_form, methods=["GET"]),
        Route("/tickets/new", open_ticket, methods=["POST"]),
    ]


def priority_of(impact: str, urgency: str) -> Priority:
    """Impact and urgency (high, medium, low) as a priority from P2 (both high, or one high
    and one medium) to P4 (both low, or one low and one medium); never P1."""
    score = LEVELS[impact] + LEVELS[urgency]
    return Priority.P2 if score >= 5 else Priority.P3 if score == 4 else Priority.P4


def form_context(ctx: ApiContext, me: Principal) -> dict[str, Any]:
    """What the form offers `me`: the hosts it may name, and (staff) the customers."""
    staff = ctx.scopes.scope(me) is None
    book = ctx.scopes.book
    return {
        "hosts": [h.name for h in ctx.scopes.hosts(me)],
        "customers": [c.name for c in book.customers] if staff and book else [],
        "levels": list(LEVELS),
        "form": {"impact": "medium", "urgency": "medium"},
        "message": "",
    }


def opening_from_form(ctx: ApiContext, me: Principal, form: dict[str, str]) -> PersonOpened:
    """The ticket the form asks for, as `me` may open it; FormError (or OpeningRefusedError,
    a ValueError too) names what to change."""
    title = form_text(form, "title", True, MAX_TITLE)
    impact, urgency = form.get("impact", ""), form.get("urgency", "")
    if impact not in LEVELS or urgency not in LEVELS:
        raise FormError("impact and urgency must each be high, medium or low")
    hosts = tuple(sorted(k[len(HOST_FIELD) :] for k in form if k.startswith(HOST_FIELD)))
    labels = {VIA_LABEL: "console"}
    customer = form.get("customer", "").strip()
    if customer and ctx.scopes.scope(me) is None:  # staff, on a customer's behalf
        if ctx.scopes.book is None or ctx.scopes.book.named(customer) is None:
            raise FormError(f"customer {customer!r} is not in the customers file")
        labels[CUSTOMER_LABEL] = customer
    known = {h.name for h in ctx.scopes.hosts(me)}
    unknown = [h for h in hosts if h not in known]
    if unknown and ctx.scopes.scope(me) is None:
        raise FormError(f"no host {', '.join(unknown)} reports to this collector")
    event = PersonOpened(
        actor=me.name,
        title=title,
        priority=priority_of(impact, urgency),
        description=form_text(form, "description", limit=MAX_FIELD),
        hosts=hosts,
        reporter=me.name,
        contact=form_text(form, "contact", limit=255) or None,
        labels=labels,
    )
    return confined_opening(ctx.scopes, me, event)  # a customer: its own label and hosts


def answer_from_form(form: dict[str, str], by: str, now: float) -> Satisfaction:
    """The verification form: which button (fixed, broken), an optional rating 1-5 and
    comment, as the signed links' page takes them."""
    verdict = form.get("verdict", "")
    if verdict not in VERDICTS:
        raise FormError("answer with one of the two buttons: fixed, or still broken")
    rating = form.get("rating", "").strip()
    if rating and rating not in {"1", "2", "3", "4", "5"}:
        raise FormError("rating must be 1 to 5")
    comment = form_text(form, "comment", limit=2000) or None
    return Satisfaction(verdict, "console", int(rating) if rating else None, comment, by, now)

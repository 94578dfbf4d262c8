"""Incident endpoints: list, show with timeline, open by a person, and every person action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.context import ApiContext
from collector.api.errors import bad_request, incident_missing, not_found, refused
from collector.api.knowledge import kb_matches
from collector.api.opening import OpeningRefusedError, confined_opening
from collector.api.requests import (
    AssignBody,
    EtaBody,
    NoteBody,
    OpenBody,
    RegradeBody,
    ReopenBody,
    TextBody,
    parse_body,
)
from collector.api.views import customer_view, delivery_view, incident_view, timeline_view
from collector.auth.roles import Principal, Role
from collector.incidents.events import (
    Acknowledge,
    AddNote,
    Assign,
    Close,
    PersonAction,
    PersonOpened,
    Regrade,
    Reopen,
    RequestVerification,
    Resolve,
    Resume,
    Wait,
)
from collector.incidents.model import ACTIVE_STATES, IncidentState
from collector.incidents.service import IncidentNotFoundError
from collector.incidents.transitions import TransitionRefusedError

# Each action verb: its body model, and how body + actor become the event.
ACTIONS: dict[str, tuple[type[BaseModel], Callable[[Any, str], PersonAction]]] = {
    "ack": (NoteBody, lambda b, a: Acknowledge(a, b.note)),
    "assign": (AssignBody, lambda b, a: Assign(a, b.assignee)),
    "notes": (TextBody, lambda b, a: AddNote(a, b.text)),
    "regrade": (RegradeBody, lambda b, a: Regrade(a, b.priority, b.reason)),
    "resolve": (NoteBody, lambda b, a: Resolve(a, b.note)),
    "reopen": (ReopenBody, lambda b, a: Reopen(a, b.reason)),
    "verify": (NoteBody, lambda b, a: RequestVerification(a, b.note)),
    "close": (NoteBody, lambda b, a: Close(a, b.note)),
    "wait": (NoteBody, lambda b, a: Wait(a, b.note)),
    "resume": (NoteBody, lambda b, a: Resume(a, b.note)),
    "eta": (EtaBody, lambda b, a: b.event(a)),
}

STATE_FILTERS = {"active": list(ACTIVE_STATES), "open": list(ACTIVE_STATES), "all": None} | {
    s.value: [s] for s in IncidentState
}


def answered(action: PersonAction, principal: Principal) -> PersonAction:
    """A customer's note is the answer a waiting ticket waits for (API and console alike)."""
    if isinstance(action, AddNote) and principal.role is Role.CUSTOMER:
        return replace(action, from_customer=True)
    return action


def incident_routes(ctx: ApiContext) -> list[Route]:
    """The incident API bound to `ctx`."""

    async def list_incidents(request: Request) -> Response:
        names = request.query_params.get("state", "active").split(",")
        unknown = [n for n in names if n not in STATE_FILTERS]
        if unknown:
            return bad_request(
                f"state must be one or more of {', '.join(STATE_FILTERS)}, not {unknown[0]!r}"
            )
        states = None if "all" in names else [s for n in names for s in STATE_FILTERS[n] or []]
        limit_text = request.query_params.get("limit", "500")
        if not limit_text.isdecimal() or not 0 < int(limit_text) <= 10_000:
            return bad_request("limit must be a number from 1 to 10000")
        found = await run_in_threadpool(
            ctx.scopes.incidents(principal_of(request)).search,
            states,
            int(limit_text),
            request.query_params.get("host"),
        )
        now = ctx.clock()
        return JSONResponse([_as_seen(ctx, request, incident_view(i, now)) for i in found])

    async def get_incident(request: Request) -> Response:
        reference = request.path_params["reference"]
        view = await run_in_threadpool(_detail, ctx, principal_of(request), reference)
        if view is None:
            return not_found(f"no incident {reference}")
        return JSONResponse(view)

    async def open_incident(request: Request) -> Response:
        me = principal_of(request)
        body = await parse_body(request, OpenBody)
        if isinstance(body, Response):
            return body
        event = PersonOpened(
            actor=me.name,
            title=body.title,
            priority=body.priority,
            description=body.description,
            hosts=tuple(body.hosts),
            reporter=body.reporter,
            contact=body.contact,
        )
        try:  # a customer opens for itself only
            event = confined_opening(ctx.scopes, me, event)
        except OpeningRefusedError as exc:
            return bad_request(str(exc))
        opened = await run_in_threadpool(ctx.incidents.open, event)
        return JSONResponse(_as_seen(ctx, request, incident_view(opened, ctx.clock())), 201)

    async def act(request: Request) -> Response:
        actor = principal_of(request).name
        verb = request.path_params["action"]
        if verb not in ACTIONS:
            return not_found(f"no action {verb!r}; actions: {', '.join(ACTIONS)}")
        model, make = ACTIONS[verb]
        body = await parse_body(request, model)
        if isinstance(body, Response):
            return body
        action = answered(make(body, actor), principal_of(request))
        try:
            changed = await run_in_threadpool(
                ctx.incidents.act, request.path_params["reference"], action
            )
        except IncidentNotFoundError as exc:
            return incident_missing(exc)
        except TransitionRefusedError as exc:
            return refused(exc)
        return JSONResponse(_as_seen(ctx, request, incident_view(changed, ctx.clock())))

    return [
        Route("/api/v1/incidents", list_incidents, methods=["GET"]),
        Route("/api/v1/incidents", open_incident, methods=["POST"]),
        Route("/api/v1/incidents/{reference}", get_incident, methods=["GET"]),
        Route("/api/v1/incidents/{reference}/{action}", act, methods=["POST"]),
    ]


def _as_seen(ctx: ApiContext, request: Request, view: dict[str, Any]) -> dict[str, Any]:
    """`view` as the caller may read it (a customer: without the staff-only fields)."""
    return view if ctx.scopes.scope(principal_of(request)) is None else customer_view(view)


def _detail(ctx: ApiContext, me: Principal, reference: str) -> dict[str, Any] | None:
    """An incident with its timeline; staff also see its deliveries and knowledge-base
    matches (our channels, and other customers' fixes: never shown to a customer)."""
    reading = ctx.scopes.incidents(me)
    incident = reading.get(reference)
    if incident is None or incident.id is None:
        return None
    view = incident_view(incident, ctx.clock())
    view["timeline"] = [timeline_view(e) for e in reading.timeline(incident.id)]
    if ctx.ticket_details is not None:  # satisfaction; staff: links, suggestions
        view.update(ctx.ticket_details(incident, ctx.scopes.scope(me) is None))
    if ctx.scopes.scope(me) is not None:
        return customer_view(view)
    view["deliveries"] = [delivery_view(d) for d in ctx.outbox.for_incident(incident.id)]
    view["kb_matches"] = kb_matches(ctx, incident)
    return view

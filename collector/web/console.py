"""The console pages: the overview, and one page per incident (the link in every message)."""

from __future__ import annotations

from collections import Counter as Tally
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.context import ApiContext
from collector.api.views import host_view, incident_view, timeline_view
from collector.auth.roles import Principal
from collector.incidents.model import IncidentState
from collector.notify.units import format_quantity

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def console_routes(ctx: ApiContext) -> list[Route]:
    """The console's routes bound to `ctx`."""

    async def index(request: Request) -> Response:
        page = await run_in_threadpool(_overview, ctx, principal_of(request))
        return HTMLResponse(page)

    async def incident(request: Request) -> Response:
        reference = request.path_params["reference"]
        page = await run_in_threadpool(_incident_page, ctx, reference, principal_of(request))
        if page is None:
            return HTMLResponse(f"<h1>No incident {reference}</h1>", 404)
        return HTMLResponse(page)

    return [
        Route("/", index, methods=["GET"]),
        Route("/incidents/{reference}", incident, methods=["GET"]),
    ]


def _overview(ctx: ApiContext, me: Principal) -> str:
    active = sorted(ctx.reader.active(), key=lambda i: (i.priority.rank, -i.opened_at))
    open_by_host = Tally(i.host for i in active)
    now = ctx.clock()
    hosts = [
        host_view(s, open_by_host[s.name], ctx.silent_after, now)
        for s in sorted(ctx.hosts, key=lambda s: s.name)
    ]
    resolved = ctx.reader.search([IncidentState.RESOLVED, IncidentState.CLOSED], limit=20)
    return _TEMPLATES.get_template("index.html").render(
        hosts=hosts,
        incidents=[incident_view(i) for i in active],
        resolved=[incident_view(i) for i in resolved],
        me=me,
    )


def _incident_page(ctx: ApiContext, reference: str, me: Principal) -> str | None:
    found = ctx.reader.get(reference)
    if found is None or found.id is None:
        return None
    view: dict[str, Any] = incident_view(found)
    return _TEMPLATES.get_template("incident.html").render(
        i=view,
        value=format_quantity(found.value, found.annotations.get("metric", "")),
        timeline=[timeline_view(e) for e in ctx.reader.timeline(found.id)],
        me=me,
    )

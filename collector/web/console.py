"""The console page: hosts and their health, open incidents, recent resolutions."""

from __future__ import annotations

from collections import Counter as Tally
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from collector.api.routes import ApiContext
from collector.api.views import host_view, incident_view
from collector.incidents.model import IncidentState

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def console_routes(ctx: ApiContext) -> list[Route]:
    """The console's routes bound to `ctx`."""

    async def index(request: Request) -> Response:
        open_incidents = sorted(
            ctx.incidents.open.values(), key=lambda i: (i.priority.rank, -i.opened_at)
        )
        open_by_host = Tally(i.host for i in open_incidents)
        now = ctx.clock()
        hosts = [
            host_view(s, open_by_host[s.name], ctx.silent_after, now)
            for s in sorted(ctx.hosts, key=lambda s: s.name)
        ]
        resolved = ctx.repository.list_incidents(IncidentState.RESOLVED, limit=20)
        page = _TEMPLATES.get_template("index.html").render(
            hosts=hosts,
            incidents=[incident_view(i) for i in open_incidents],
            resolved=[incident_view(i) for i in resolved],
        )
        return HTMLResponse(page)

    return [Route("/", index, methods=["GET"])]

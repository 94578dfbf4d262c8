"""API endpoints: report ingest, hosts, incidents, health and /metrics."""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.api.errors import STATUS_OF_REJECTION, error_response
from collector.api.views import host_view, incident_view
from collector.hosts import HostRegistry
from collector.incidents.model import IncidentState
from collector.incidents.service import IncidentService
from collector.ingest import Ingest, IngestError
from collector.metrics import CollectorMetrics
from collector.store.repository import Repository

STATES = {"open": IncidentState.OPEN, "resolved": IncidentState.RESOLVED, "all": None}


@dataclass(frozen=True)
class ApiContext:
    """What the endpoints need, wired by collector.app."""

    ingest: Ingest
    hosts: HostRegistry
    incidents: IncidentService
    repository: Repository
    metrics: CollectorMetrics
    max_body_bytes: int
    silent_after: float
    clock: Callable[[], float]


def api_routes(ctx: ApiContext) -> list[Route]:
    """The API's routes bound to `ctx`."""

    async def post_report(request: Request) -> Response:
        started = time.perf_counter()
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > ctx.max_body_bytes:
            ctx.metrics.reports.labels("too_large").inc()
            return error_response(
                413, "too_large", f"body exceeds the limit of {ctx.max_body_bytes} bytes"
            )
        body = await request.body()
        try:
            accepted = ctx.ingest.accept(
                request.headers.get("authorization"), request.headers.get("content-encoding"), body
            )
        except IngestError as exc:
            ctx.metrics.reports.labels(exc.reason.value).inc()
            return error_response(STATUS_OF_REJECTION[exc.reason], exc.reason.value, exc.message)
        ctx.metrics.reports.labels("accepted" if accepted.evaluated else "late").inc()
        ctx.metrics.ingest_seconds.observe(time.perf_counter() - started)
        return JSONResponse(
            {
                "accepted": True,
                "host": accepted.host,
                "sequence": accepted.sequence,
                "evaluated": accepted.evaluated,
            },
            202,
        )

    async def list_hosts(request: Request) -> Response:
        open_by_host = Tally(i.host for i in ctx.incidents.open.values())
        now = ctx.clock()
        views = [
            host_view(state, open_by_host[state.name], ctx.silent_after, now)
            for state in sorted(ctx.hosts, key=lambda s: s.name)
        ]
        return JSONResponse(views)

    async def list_incidents(request: Request) -> Response:
        state_name = request.query_params.get("state", "open")
        if state_name not in STATES:
            return error_response(
                400, "bad_request", f"state must be open, resolved or all, not {state_name!r}"
            )
        limit_text = request.query_params.get("limit", "500")
        if not limit_text.isdigit() or not 0 < int(limit_text) <= 10_000:
            return error_response(400, "bad_request", "limit must be a number from 1 to 10000")
        found = ctx.repository.list_incidents(
            STATES[state_name], int(limit_text), request.query_params.get("host")
        )
        return JSONResponse([incident_view(i) for i in found])

    async def get_incident(request: Request) -> Response:
        incident_id = int(request.path_params["incident_id"])
        found = ctx.repository.get_incident(incident_id)
        if found is None:
            return error_response(404, "not_found", f"no incident with id {incident_id}")
        view = incident_view(found)
        view["events"] = ctx.repository.incident_events(incident_id)
        view["deliveries"] = ctx.repository.deliveries(incident_id)
        return JSONResponse(view)

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def healthy(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return [
        Route("/api/v1/reports", post_report, methods=["POST"]),
        Route("/api/v1/hosts", list_hosts, methods=["GET"]),
        Route("/api/v1/incidents", list_incidents, methods=["GET"]),
        Route("/api/v1/incidents/{incident_id:int}", get_incident, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/-/healthy", healthy, methods=["GET"]),
    ]

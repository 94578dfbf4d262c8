"""API endpoints: report ingest, hosts, health and /metrics (incidents: api/incidents.py)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter as Tally
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.context import ApiContext
from collector.api.errors import (
    STATUS_OF_REJECTION,
    error_response,
    not_found,
    request_timeout,
    too_many_requests,
)
from collector.api.incidents import incident_routes
from collector.api.requests import BodyTooLargeError, read_body
from collector.api.views import event_view, host_view
from collector.auth import AgentIdentity
from collector.ingest.receive import STORE_WAIT_SECONDS, IngestError
from collector.snapshots.service import SnapshotService

__all__ = ["ApiContext", "api_routes"]

# Reports up to this size (gzip) are judged on the event loop; bigger ones in a worker thread.
INLINE_BODY_BYTES = 64 * 1024


def api_routes(ctx: ApiContext, snapshots: SnapshotService | None = None) -> list[Route]:
    """The API's routes bound to `ctx`; `snapshots` names the diagnostic snapshots a report's
    answer asks its agent for."""

    # The two outcomes nearly every report has: their counters looked up once.
    counted_accepted = ctx.metrics.reports.labels("accepted")
    counted_replay = ctx.metrics.reports.labels("replay")

    async def post_report(request: Request) -> Response:
        started = time.perf_counter()
        # Who sends it and whether they may, from the headers alone: no body byte is read
        # for a sender without a token, over its rate, or announcing too large a body.
        admitted = _admit(ctx, request)
        if isinstance(admitted, Response):
            return _closing(admitted)
        try:
            body = await read_body(request, ctx.max_body_bytes, ctx.body_timeout)
        except BodyTooLargeError as exc:
            ctx.metrics.reports.labels("too_large").inc()
            return _closing(error_response(413, "too_large", str(exc)))
        except TimeoutError:
            message = f"the body did not arrive within {ctx.body_timeout:g} s"
            return _closing(request_timeout(message))
        headers = request.headers
        arguments = (
            admitted,
            headers.get("content-encoding"),
            body,
            headers.get("x-watchkeeper-sent-at"),
            False,
            request.client.host if request.client else "",
        )
        try:
            if len(body) <= INLINE_BODY_BYTES:
                # A usual report costs a few hundred microseconds of CPU: cheaper here than
                # the two thread hand-offs a worker thread would cost under the GIL.
                accepted = ctx.ingest.accept_from(*arguments)
            else:
                accepted = await run_in_threadpool(ctx.ingest.accept_from, *arguments)
            if accepted.storing is not None:  # incident changes: wait without blocking
                await asyncio.wait_for(asyncio.wrap_future(accepted.storing), STORE_WAIT_SECONDS)
        except IngestError as exc:
            ctx.metrics.reports.labels(exc.reason.value).inc()
            return error_response(STATUS_OF_REJECTION[exc.reason], exc.reason.value, exc.message)
        except TimeoutError:
            pass  # stored or reverted later by the writer; the report itself is applied
        (counted_accepted if accepted.evaluated else counted_replay).inc()
        ctx.metrics.ingest_seconds.observe(time.perf_counter() - started)
        answer: dict[str, Any] = {
            "accepted": True,
            "host": accepted.host,
            "sequence": accepted.sequence,
            "evaluated": accepted.evaluated,
            "replay": accepted.replay,
        }
        if snapshots is not None and snapshots.pending(accepted.host):
            # An incident opened on this host: its agent collects the evidence now.
            wanted = await run_in_threadpool(snapshots.requests_for, accepted.host)
            if wanted:
                answer["snapshots"] = wanted
        return Response(msgspec.json.encode(answer), 202, media_type="application/json")

    async def list_hosts(request: Request) -> Response:
        me = principal_of(request)
        active = await run_in_threadpool(ctx.scopes.incidents(me).active)
        open_by_host = Tally(i.host for i in active)
        now = ctx.clock()
        views = [
            host_view(state, open_by_host[state.name], ctx.silent_after, now)
            for state in ctx.scopes.hosts(me)
        ]
        return JSONResponse(views)

    async def host_events(request: Request) -> Response:
        name = request.path_params["name"]
        if ctx.hosts.get(name) is None:
            return not_found(f"no host {name!r}")
        rows = await run_in_threadpool(ctx.repository.list_events, name, 200)
        return JSONResponse([event_view(row) for row in rows])

    async def metrics(request: Request) -> Response:
        pieces = await ctx.metrics.scrape()

        async def sent() -> AsyncIterator[bytes]:
            for piece in pieces:  # each its own body message: redacted and written apart
                yield piece

        return StreamingResponse(sent(), media_type=CONTENT_TYPE_LATEST)

    async def healthy(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return [
        Route("/api/v1/reports", post_report, methods=["POST"]),
        Route("/api/v1/hosts", list_hosts, methods=["GET"]),
        Route("/api/v1/hosts/{name}/events", host_events, methods=["GET"]),
        *incident_routes(ctx),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/-/healthy", healthy, methods=["GET"]),
    ]


def _admit(ctx: ApiContext, request: Request) -> AgentIdentity | Response:
    """The sender's identity, or the answer refusing it before its body is read."""
    try:
        identity = ctx.ingest.identify(request.headers.get("authorization"))
    except IngestError as exc:
        ctx.metrics.reports.labels(exc.reason.value).inc()
        return error_response(STATUS_OF_REJECTION[exc.reason], exc.reason.value, exc.message)
    wait = ctx.ingest.admit(identity)
    if wait > 0:
        ctx.metrics.reports.labels("rate_limited").inc()
        return too_many_requests(
            f"token {identity.name!r} is over its report rate; retry after the Retry-After "
            "seconds (limits.reports_per_second_per_token)",
            wait,
        )
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > ctx.max_body_bytes:
        ctx.metrics.reports.labels("too_large").inc()
        return error_response(
            413, "too_large", f"body exceeds the limit of {ctx.max_body_bytes} bytes"
        )
    return identity


def _closing(response: Response) -> Response:
    """`response`, closing the connection after it: the rest of an unread body is never
    read (uvicorn would otherwise read and discard it to keep the connection alive)."""
    response.headers["Connection"] = "close"
    return response

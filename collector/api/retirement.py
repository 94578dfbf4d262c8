"""DELETE /api/v1/hosts/{name}?reason=...: an admin retires a host (collector.retirement).

The reason is a query parameter, not a body: many HTTP clients and proxies drop the body of a
DELETE. The answer is 200 with what was done; 404 for a host that is not known.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.api.access import client_address, principal_of
from collector.api.context import ApiContext
from collector.api.errors import not_found
from collector.api.views import iso
from collector.retirement import Actor, Retirement, UnknownHostError

HOST_PATH = "/api/v1/hosts/{name}"


def retirement_view(done: Retirement) -> dict[str, Any]:
    """The answer to a retirement."""
    return {
        "host": done.host,
        "retired_at": iso(done.retired_at),
        "retired_by": done.retired_by,
        "reason": done.reason,
        "rule_series_dropped": done.series_dropped,
        "incidents_resolved": len(done.resolved),
        "resolved": list(done.resolved),
        "left_open": list(done.left_open),
    }


def actor_of(request: Request) -> Actor:
    """The signed-in principal as the retirement's actor."""
    me = principal_of(request)
    return Actor(me.name, me.kind.value, client_address(request.scope))


def retirement_routes(ctx: ApiContext) -> list[Route]:
    """The retire endpoint (none without a retirement service)."""
    retirement = ctx.retirement
    if retirement is None:
        return []

    async def retire(request: Request) -> Response:
        name = request.path_params["name"]
        reason = request.query_params.get("reason", "")
        try:
            done = await run_in_threadpool(retirement.retire, name, actor_of(request), reason)
        except UnknownHostError as exc:
            return not_found(exc.message)
        return JSONResponse(retirement_view(done))

    return [Route(HOST_PATH, retire, methods=["DELETE"])]

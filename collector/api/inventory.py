"""GET /api/v1/hosts/{name}/inventory: the hardware a host's agent last identified.

The latest inventory is each probe's latest result, which the host registry keeps: the agent
resends its inventory probe's kept result in every report, so after a collector restart a
host's hardware is known again at its next report. Nothing is written to the database.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.api.errors import not_found
from collector.api.views import iso
from collector.ingest.hosts import HostRegistry, HostState

INVENTORY_PATH = "/api/v1/hosts/{name}/inventory"


def inventory_view(state: HostState) -> dict[str, Any]:
    """The host's items, each with the probe that reported it, in probe order."""
    items = [
        {
            "probe": probe,
            "kind": item.kind,
            "name": item.name,
            "vendor": item.vendor,
            "model": item.model,
            "serial": item.serial,
            "firmware": item.firmware,
            "unreadable": dict(item.unreadable),
        }
        for probe, result in sorted(state.probes.items())
        for item in result.inventory
    ]
    return {"host": state.name, "reported_at": iso(state.last_seen), "items": items}


def inventory_routes(hosts: HostRegistry) -> list[Route]:
    """The inventory endpoint, reading the live host registry."""

    async def host_inventory(request: Request) -> Response:
        name = request.path_params["name"]
        state = hosts.get(name)
        if state is None:
            return not_found(f"no host {name!r}")
        return JSONResponse(inventory_view(state))

    return [Route(INVENTORY_PATH, host_inventory, methods=["GET"])]

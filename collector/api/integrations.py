"""POST /api/v1/integrations/<kind>: other monitors' alerts (Alertmanager, Zabbix, Checkmk).

Each kind has its own payload model; the integration's token (integrations: in the config)
says who is posting and how its alerts are routed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.api.errors import bad_request, error_response, request_timeout, unauthorized
from collector.api.requests import BodyTooLargeError, read_body
from collector.integrations import alertmanager, checkmk, zabbix
from collector.integrations.alerts import ExternalAlert
from collector.integrations.intake import AlertIntake, Taken

Parser = tuple[type[BaseModel], Callable[[Any], list[ExternalAlert]]]

# Each kind: the payload model, and how a valid payload becomes alerts.
PARSERS: dict[str, Parser] = {
    "alertmanager": (alertmanager.AlertmanagerPayload, alertmanager.alerts_of),
    "zabbix": (zabbix.ZabbixPayload, zabbix.alerts_of),
    "checkmk": (checkmk.CheckmkPayload, checkmk.alerts_of),
}


def integration_path(kind: str) -> str:
    """The endpoint a kind of monitor posts to."""
    return f"/api/v1/integrations/{kind}"


def integration_routes(intake: AlertIntake, max_body: int, body_timeout: float) -> list[Route]:
    """One POST route per kind of monitor."""

    def receiver(kind: str) -> Callable[[Request], Any]:
        async def receive(request: Request) -> Response:
            integration = intake.book.identify(request.headers.get("authorization"), kind)
            if integration is None:
                return unauthorized(
                    f"this needs the bearer token of a {kind} integration "
                    "(integrations: in the collector's config)"
                )
            try:
                raw = await read_body(request, max_body, body_timeout)
            except BodyTooLargeError as exc:
                return error_response(413, "too_large", str(exc))
            except TimeoutError:
                return request_timeout(f"the body did not arrive within {body_timeout:g} s")
            alerts = _parse(kind, raw)
            if isinstance(alerts, Response):
                return alerts
            taken = await asyncio.wrap_future(intake.submit(integration, alerts))
            return JSONResponse({"integration": integration.name, "alerts": _views(taken)})

        return receive

    return [Route(integration_path(k), receiver(k), methods=["POST"]) for k in PARSERS]


def _parse(kind: str, raw: bytes) -> list[ExternalAlert] | Response:
    model, alerts_of = PARSERS[kind]
    try:
        return alerts_of(model.model_validate_json(raw or b"{}"))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:10]
        )
        return bad_request(f"not a {kind} payload: {problems}")


def _views(taken: list[Taken]) -> list[dict[str, Any]]:
    return [
        {
            "fingerprint": t.fingerprint,
            "status": "firing" if t.firing else "resolved",
            "incident": t.incident.number if t.incident else None,
            "state": t.incident.state.value if t.incident else "unchanged",
        }
        for t in taken
    ]

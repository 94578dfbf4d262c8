"""The one place that knows HTTP status codes, and the one JSON error envelope:
{"error": {"code", "message"}} — for API errors, 404 and 405 alike.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from collector.incidents.service import IncidentNotFoundError
from collector.incidents.transitions import TransitionRefusedError
from collector.ingest.receive import Rejection

log = logging.getLogger(__name__)

STATUS_OF_REJECTION = {
    Rejection.UNAUTHORIZED: 401,
    Rejection.FORBIDDEN: 403,
    Rejection.TOO_LARGE: 413,
    Rejection.MALFORMED: 400,
    Rejection.UNSUPPORTED_ENCODING: 415,
    Rejection.TOO_MANY_HOSTS: 403,
}

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
}


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    """A JSON error with a machine code and a message for the person reading it."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body: dict[str, Any] = {"code": code, "message": message, **extra}
    return JSONResponse({"error": body}, status, headers)


def bad_request(message: str) -> JSONResponse:
    """400 with `message`."""
    return error_response(400, "bad_request", message)


def unauthorized(message: str) -> JSONResponse:
    """401 asking for a bearer token."""
    return error_response(401, "unauthorized", message)


def forbidden(message: str) -> JSONResponse:
    """403: known credentials, but not allowed to do this."""
    return error_response(403, "forbidden", message)


def conflict(message: str) -> JSONResponse:
    """409 with `message`."""
    return error_response(409, "conflict", message)


def created(body: Any) -> JSONResponse:
    """201 with `body`."""
    return JSONResponse(body, 201)


def request_timeout(message: str) -> JSONResponse:
    """408: the client was too slow to send its request."""
    return error_response(408, "request_timeout", message)


def too_many_requests(message: str, retry_after: float) -> JSONResponse:
    """429 with Retry-After in whole seconds (at least 1)."""
    response = error_response(429, "too_many_requests", message)
    response.headers["Retry-After"] = str(max(1, int(retry_after + 0.999)))
    return response


def see_other(location: str, headers: dict[str, str] | None = None) -> RedirectResponse:
    """303 to `location` (after a form, or to the sign-in page)."""
    return RedirectResponse(location, 303, headers)


def not_found(message: str) -> JSONResponse:
    """404 with `message`."""
    return error_response(404, "not_found", message)


def refused(exc: TransitionRefusedError) -> JSONResponse:
    """409 naming the state and the actions it allows."""
    return error_response(409, "conflict", exc.message, state=exc.state.value, allowed=exc.allowed)


def incident_missing(exc: IncidentNotFoundError) -> JSONResponse:
    """404 for an unknown incident reference."""
    return not_found(str(exc))


Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def error_handlers() -> dict[Any, Handler]:
    """Starlette exception handlers: every HTTP error in the envelope, never HTML."""

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = _CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 404:
            message = f"no such path: {request.url.path}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        response = error_response(exc.status_code, code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def client_gone(request: Request, exc: Exception) -> Response:
        # Routine on a busy network (an agent timing out, a scraper cancelled): not an error.
        client = request.client.host if request.client else "?"
        log.debug("%s went away during %s %s", client, request.method, request.url.path)
        return Response(status_code=400)

    async def out_of_range(request: Request, exc: Exception) -> Response:
        # A number from the request too large for the database (an id like 2**70).
        return bad_request("a number in the request is out of range")

    async def server_error(request: Request, exc: Exception) -> Response:
        return error_response(500, "internal_error", "internal error; see the collector's log")

    return {
        HTTPException: http_error,
        ClientDisconnect: client_gone,
        OverflowError: out_of_range,
        Exception: server_error,
    }

"""The one JSON error envelope every API error uses: {"error": {"code", "message"}}."""

from __future__ import annotations

from starlette.responses import JSONResponse

from collector.ingest import Rejection

STATUS_OF_REJECTION = {
    Rejection.UNAUTHORIZED: 401,
    Rejection.FORBIDDEN: 403,
    Rejection.TOO_LARGE: 413,
    Rejection.MALFORMED: 400,
    Rejection.UNSUPPORTED_ENCODING: 415,
}


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """A JSON error with a machine code and a message for the person reading it."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers)

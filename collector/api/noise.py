"""GET /api/v1/rules/noise: each rule's noise figure over a period, noisiest first."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent.configfile import parse_duration
from collector.api.errors import bad_request
from collector.api.views import iso
from collector.noise.figures import RuleNoise

NOISE_PATH = "/api/v1/rules/noise"
DEFAULT_PERIOD = 7 * 86400.0

# (start, end) -> the figures of every rule active in [start, end).
NoiseSource = Callable[[float, float], list[RuleNoise]]


def moment(text: str, now: float, name: str) -> float:
    """An ISO 8601 time (2026-03-01, 2026-03-01T08:00:00Z) or a duration back from now (7d)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"{name}={text!r} is neither an ISO 8601 time (2026-03-01T00:00:00Z) "
            "nor a duration back from now (7d, 24h)"
        ) from exc
    if parsed.tzinfo is None:  # a date or time without a zone is UTC
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def noise_routes(clock: Callable[[], float], source: NoiseSource) -> list[Route]:
    """The noise endpoint, reading through `source`."""

    async def rule_noise(request: Request) -> Response:
        now = clock()
        query = request.query_params
        try:
            start = moment(query.get("since", "7d"), now, "since")
            end = moment(query["until"], now, "until") if "until" in query else now
        except ValueError as exc:
            return bad_request(str(exc))
        if start >= end:
            return bad_request(f"since ({iso(start)}) must be before until ({iso(end)})")
        figures = await run_in_threadpool(source, start, end)
        return JSONResponse(
            {"since": iso(start), "until": iso(end), "rules": [f.as_json() for f in figures]}
        )

    return [Route(NOISE_PATH, rule_noise, methods=["GET"])]

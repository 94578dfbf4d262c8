"""Diagnostic snapshot endpoints: the agent posts one (its report token), people read an
incident's snapshots (the incident API's scope: a customer sees only their own)."""

from __future__ import annotations

import zlib
from dataclasses import asdict
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.context import ApiContext
from collector.api.errors import (
    STATUS_OF_REJECTION,
    bad_request,
    conflict,
    error_response,
    not_found,
    request_timeout,
)
from collector.api.requests import BodyTooLargeError, read_body
from collector.ingest.receive import IngestError
from collector.snapshots.model import SnapshotBody
from collector.snapshots.service import SnapshotRefusedError, SnapshotService

MAX_SNAPSHOT_BYTES = 1024 * 1024  # one snapshot's JSON, after gzip is undone


def snapshot_routes(ctx: ApiContext, snapshots: SnapshotService) -> list[Route]:
    """POST /api/v1/snapshots and GET /api/v1/incidents/{reference}/snapshots."""

    async def post_snapshot(request: Request) -> Response:
        try:
            identity = ctx.ingest.identify(request.headers.get("authorization"))
        except IngestError as exc:
            return error_response(STATUS_OF_REJECTION[exc.reason], exc.reason.value, exc.message)
        snapshot = await _snapshot_body(request, ctx.body_timeout)
        if isinstance(snapshot, Response):
            return snapshot
        try:
            incident_id = await run_in_threadpool(
                snapshots.receive, snapshot, identity.may_report_for
            )
        except SnapshotRefusedError as exc:
            return conflict(str(exc))
        return JSONResponse({"accepted": True, "incident_id": incident_id}, 202)

    async def incident_snapshots(request: Request) -> Response:
        reading = ctx.scopes.incidents(principal_of(request))
        reference = request.path_params["reference"]
        incident = await run_in_threadpool(reading.get, reference)
        if incident is None or incident.id is None:
            return not_found(f"no incident {reference}")
        found = await run_in_threadpool(snapshots.of_incident, incident.id)
        return JSONResponse([snapshot_view(asdict(s)) for s in found])

    return [
        Route("/api/v1/snapshots", post_snapshot, methods=["POST"]),
        Route("/api/v1/incidents/{reference}/snapshots", incident_snapshots, methods=["GET"]),
    ]


async def _snapshot_body(request: Request, timeout: float) -> SnapshotBody | Response:
    """The posted snapshot, or the answer refusing it (too large, too slow, not valid)."""
    try:
        raw = _decoded(
            request.headers.get("content-encoding"),
            await read_body(request, MAX_SNAPSHOT_BYTES, timeout),
        )
    except BodyTooLargeError as exc:
        return error_response(413, "too_large", str(exc))
    except TimeoutError:
        return request_timeout(f"the body did not arrive within {timeout:g} s")
    except ValueError as exc:
        return bad_request(str(exc))
    try:
        return SnapshotBody.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return bad_request(f"invalid snapshot: {where}: {first['msg']}")


def snapshot_view(record: dict[str, Any]) -> dict[str, Any]:
    """A stored snapshot for the API: asked, answered, and each diagnostic's outcome."""
    return {
        "id": record["id"],
        "host": record["host"],
        "requested": record["requested"],
        "requested_at": record["requested_at"],
        "delivered_at": record["delivered_at"],
        "received_at": record["received_at"],
        "taken_at": record["taken_at"],
        "seconds": record["seconds"],
        "size_bytes": record["size_bytes"],
        "diagnostics": record["result"],
    }


def _decoded(encoding: str | None, body: bytes) -> bytes:
    """The body with gzip undone, never past MAX_SNAPSHOT_BYTES."""
    if encoding in (None, "", "identity"):
        return body
    if encoding != "gzip":
        raise ValueError(f"Content-Encoding {encoding!r} is not supported; send gzip or identity")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(body, MAX_SNAPSHOT_BYTES + 1)
    except zlib.error as exc:
        raise ValueError(f"the body is not valid gzip: {exc}") from exc
    if len(raw) > MAX_SNAPSHOT_BYTES:
        raise BodyTooLargeError(f"the snapshot exceeds {MAX_SNAPSHOT_BYTES} bytes uncompressed")
    return raw

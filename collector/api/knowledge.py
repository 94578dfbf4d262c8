"""Root-cause, fault-report and knowledge-base endpoints."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.context import ApiContext
from collector.api.errors import bad_request, created, incident_missing, not_found
from collector.api.requests import parse_body
from collector.api.views import iso
from collector.incidents.model import Incident
from collector.incidents.rootcause import Category, FollowUp, RootCause
from collector.incidents.service import IncidentNotFoundError
from collector.knowledge.kb import KbEntry, Match
from collector.knowledge.report import FORMATS, render
from collector.knowledge.service import KnowledgeService


class ActionBody(BaseModel):
    """One follow-up action."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    action: str = Field(min_length=1, max_length=2_000)
    owner: str = Field(min_length=1, max_length=255)
    due: date = Field(description="YYYY-MM-DD")


class RootCauseBody(BaseModel):
    """POST /api/v1/incidents/{reference}/root-cause."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    cause: str = Field(min_length=1, max_length=20_000)
    fix: str = Field(min_length=1, max_length=20_000)
    category: Category
    actions: list[ActionBody] = Field(min_length=1, max_length=100)


class EntryBody(BaseModel):
    """POST /api/v1/kb: an entry written by hand."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    cause: str = Field(min_length=1, max_length=20_000)
    fix: str = Field(min_length=1, max_length=20_000)
    rule: str = Field("", max_length=255)
    labels: dict[str, str] = Field(default_factory=dict, max_length=50)
    tags: list[str] = Field(default_factory=list, max_length=50)


def root_cause_view(root_cause: RootCause) -> dict[str, Any]:
    """A root-cause record in JSON."""
    return {
        "cause": root_cause.cause,
        "fix": root_cause.fix,
        "category": root_cause.category.value,
        "actions": [a.to_json() for a in root_cause.actions],
        "author": root_cause.author,
        "recorded_at": iso(root_cause.recorded_at),
    }


def entry_view(entry: KbEntry) -> dict[str, Any]:
    """A knowledge-base entry in JSON."""
    return {
        "id": entry.id,
        "title": entry.title,
        "cause": entry.cause,
        "fix": entry.fix,
        "rule": entry.rule or None,
        "labels": entry.labels,
        "tags": list(entry.tags),
        "source_incident": entry.source_number,
        "author": entry.author,
        "updated_at": iso(entry.updated_at),
    }


def match_view(match: Match) -> dict[str, Any]:
    """An entry with its matching score."""
    return {**entry_view(match.entry), "score": match.score}


def kb_matches(ctx: ApiContext, incident: Incident) -> list[dict[str, Any]]:
    """The knowledge-base entries that best fit `incident` (computed on read)."""
    return [
        match_view(m)
        for m in KnowledgeService(ctx.repository.engine, ctx.clock).matches_for(incident)
    ]


def knowledge_routes(ctx: ApiContext) -> list[Route]:
    """The routes bound to `ctx` (listed before the incident actions' /{action} route)."""
    service = KnowledgeService(ctx.repository.engine, ctx.clock)

    async def record_root_cause(request: Request) -> Response:
        body = await parse_body(request, RootCauseBody)
        if isinstance(body, Response):
            return body
        root_cause = RootCause(
            cause=body.cause,
            fix=body.fix,
            category=body.category,
            actions=tuple(FollowUp(a.action, a.owner, a.due) for a in body.actions),
            author=principal_of(request).name,
            recorded_at=0.0,
        )
        reference = request.path_params["reference"]
        try:
            stored = await run_in_threadpool(service.record_root_cause, reference, root_cause)
        except IncidentNotFoundError as exc:
            return incident_missing(exc)
        return created(root_cause_view(stored))

    async def report(request: Request) -> Response:
        fmt = request.query_params.get("format", "md")
        if fmt not in FORMATS:
            return bad_request(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
        reference = request.path_params["reference"]
        record = await run_in_threadpool(service.fault_record, reference)
        if record is None:
            return not_found(f"no incident {reference}")
        text = render(record, fmt, ctx.clock())
        name = f'inline; filename="{record.incident.number}-report.{fmt}"'
        if fmt == "html":
            return HTMLResponse(text, headers={"Content-Disposition": name})
        return Response(
            text, media_type="text/markdown; charset=utf-8", headers={"Content-Disposition": name}
        )

    async def search(request: Request) -> Response:
        text = request.query_params.get("q", "").strip()
        if not text:
            return bad_request("give the search words as ?q=...")
        found = await run_in_threadpool(service.search, text)
        return JSONResponse([match_view(m) for m in found])

    async def add_entry(request: Request) -> Response:
        body = await parse_body(request, EntryBody)
        if isinstance(body, Response):
            return body
        entry = KbEntry(
            title=body.title,
            cause=body.cause,
            fix=body.fix,
            author=principal_of(request).name,
            created_at=0.0,
            updated_at=0.0,
            rule=body.rule,
            labels=dict(body.labels),
            tags=tuple(body.tags),
        )
        stored = await run_in_threadpool(service.add_entry, entry)
        return created(entry_view(stored))

    return [
        Route("/api/v1/incidents/{reference}/root-cause", record_root_cause, methods=["POST"]),
        Route("/api/v1/incidents/{reference}/report", report, methods=["GET"]),
        Route("/api/v1/kb", search, methods=["GET"]),
        Route("/api/v1/kb", add_entry, methods=["POST"]),
    ]

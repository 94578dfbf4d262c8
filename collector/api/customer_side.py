"""The customer side over HTTP: the public verification pages (GET shows the question, POST
answers, so a mail scanner following a link changes nothing), linking a ticket to an incident,
and the ticket fields (suggested links, links, satisfaction, attachments) of incident detail."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from starlette import status
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.errors import bad_request, not_found
from collector.api.requests import parse_body
from collector.api.views import iso
from collector.incidents.customers import CustomerBook
from collector.incidents.events import AddNote
from collector.incidents.model import Incident
from collector.incidents.service import IncidentService
from collector.intake.suggestions import suggest
from collector.store import incidents as rows
from collector.store.feedback import link, linked_ids, satisfaction_of
from collector.store.intake import attachments_of
from collector.verification.links import LinkClaim, LinkError
from collector.verification.service import AnswerRefusedError, Verifier

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
MAX_FORM_BYTES = 16 * 1024
_PAGES = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())


class LinkBody(BaseModel):
    """POST /api/v1/incidents/{reference}/links: the incident the ticket is about."""

    incident: str = Field(min_length=1, description="Number or id of the incident to link.")


def verification_routes(verifier: Verifier | None, clock: Callable[[], float]) -> list[Route]:
    """GET and POST /verify/{token}: public, the signed token is the credential (without
    `verification:` configured no token is valid: 403)."""

    async def show(request: Request) -> Response:
        claim = _claim(verifier, request, clock())
        if isinstance(claim, Response):
            return claim
        return _page("ask", claim)

    async def answer(request: Request) -> Response:
        claim = _claim(verifier, request, clock())
        if isinstance(claim, Response):
            return claim
        form = await _form(request)
        if form is None:
            return _page("bad", claim, status.HTTP_400_BAD_REQUEST, "the form is too large")
        rating_text, comment = form.get("rating", ""), form.get("comment", "").strip()[:2000]
        if rating_text and rating_text not in {"1", "2", "3", "4", "5"}:
            return _page("bad", claim, status.HTTP_400_BAD_REQUEST, "rating must be 1 to 5")
        rating = int(rating_text) if rating_text else None
        assert verifier is not None  # _claim refuses every token without one
        try:
            await run_in_threadpool(verifier.answer, claim.incident_id, claim.verdict,
                                    claim.contact, "link", rating, comment or None)  # fmt: skip
        except AnswerRefusedError as exc:
            return _page("done", claim, status.HTTP_409_CONFLICT, str(exc))
        return _page("thanks", claim)

    return [
        Route("/verify/{token}", show, methods=["GET"]),
        Route("/verify/{token}", answer, methods=["POST"]),
    ]


def _claim(verifier: Verifier | None, request: Request, now: float) -> LinkClaim | Response:
    try:
        if verifier is None:
            raise LinkError("verification is not configured")
        return verifier.signer.check(request.path_params["token"], now)
    except (LinkError, ValueError, KeyError) as exc:
        expired = isinstance(exc, LinkError) and exc.expired
        return _page("expired" if expired else "forged", None, status.HTTP_403_FORBIDDEN)


async def _form(request: Request) -> dict[str, str] | None:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    fields = parse_qs(body.decode("utf-8", errors="replace"))
    return {name: values[0] for name, values in fields.items() if values}


def _page(
    kind: str, claim: LinkClaim | None, code: int = status.HTTP_200_OK, message: str = ""
) -> HTMLResponse:
    html = _PAGES.get_template("verification.html").render(kind=kind, claim=claim, message=message)
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(html, code, headers=headers)


def link_routes(
    engine: Engine, incidents: IncidentService, clock: Callable[[], float]
) -> list[Route]:
    """POST /api/v1/incidents/{reference}/links: link a ticket to the incident it is about."""

    async def add_link(request: Request) -> Response:
        body = await parse_body(request, LinkBody)
        if isinstance(body, Response):
            return body
        actor = principal_of(request).name
        reference = request.path_params["reference"]
        result = await run_in_threadpool(
            _link, engine, incidents, reference, body.incident, actor, clock()
        )
        return result

    return [Route("/api/v1/incidents/{reference}/links", add_link, methods=["POST"])]


def _link(
    engine: Engine, incidents: IncidentService, reference: str, other: str, actor: str, now: float
) -> Response:
    try:
        ticket, target, added = link_incidents(engine, incidents, reference, other, actor, now)
    except LinkRefusedError as exc:
        return not_found(str(exc)) if exc.missing else bad_request(str(exc))
    return JSONResponse({"incident": ticket, "linked": target, "added": added})


class LinkRefusedError(ValueError):
    """One of the two incidents does not exist (`missing`), or they are the same."""

    def __init__(self, message: str, missing: bool) -> None:
        super().__init__(message)
        self.missing = missing


def link_incidents(
    engine: Engine, incidents: IncidentService, reference: str, other: str, actor: str, now: float
) -> tuple[str, str, bool]:
    """Link ticket `reference` to incident `other` (noted on the ticket's timeline): their
    numbers, and whether the link is new (the API and the console's form)."""
    with engine.connect() as conn:
        ticket, target = rows.by_reference(conn, reference), rows.by_reference(conn, other)
    if ticket is None or ticket.id is None:
        raise LinkRefusedError(f"no incident {reference}", missing=True)
    if target is None or target.id is None:
        raise LinkRefusedError(f"no incident {other} to link to", missing=True)
    if target.id == ticket.id:
        raise LinkRefusedError(f"{ticket.number} cannot be linked to itself", missing=False)
    with engine.begin() as conn:
        added = link(conn, ticket.id, target.id, actor, now)
    if added:
        incidents.act(ticket.id, AddNote(actor, f"linked to {target.number} ({target.summary})"))
    return ticket.number, target.number, added


def incidents_clock(incidents: IncidentService) -> float:
    """The service's clock (the one the timeline uses)."""
    return incidents._clock()


def ticket_details(
    engine: Engine, book: CustomerBook | None, window: float
) -> Callable[[Incident, bool], dict[str, Any]]:
    """The ticket fields of incident detail; staff also see suggestions and attachments."""

    def details(incident: Incident, staff: bool) -> dict[str, Any]:
        assert incident.id is not None
        with engine.connect() as conn:
            answer = satisfaction_of(conn, incident.id)
            view: dict[str, Any] = {"satisfaction": _satisfaction_view(answer)}
            if not staff:
                return view
            linked = [rows.by_reference(conn, i) for i in linked_ids(conn, incident.id)]
            view["links"] = [_brief(i) for i in linked if i is not None]
            taken = {i.id for i in linked if i is not None}
            view["suggested_links"] = [
                _brief(i) for i in suggest(conn, incident, book, window) if i.id not in taken
            ]
            view["attachments"] = attachments_of(conn, incident.id)
        return view

    return details


def _brief(incident: Incident) -> dict[str, Any]:
    return {
        "number": incident.number,
        "summary": incident.summary,
        "host": incident.host,
        "state": incident.state.value,
        "opened_at": iso(incident.opened_at),
    }


def _satisfaction_view(answer: Any) -> dict[str, Any] | None:
    if answer is None:
        return None
    return {
        "verdict": answer.verdict,
        "via": answer.via or None,
        "rating": answer.rating,
        "comment": answer.comment,
        "at": iso(answer.answered_at),
    }

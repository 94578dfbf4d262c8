"""People and teams endpoints: viewers list and read them, admins create, replace, disable
and enable them.

Contact addresses (phone numbers, e-mail addresses, chat URLs) are personal data: only an
admin sees them; everyone else sees each contact's name and kind. Writes are stored in the
database over response.yaml (collector/response/roster.py) and audited by the access
middleware like every write.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.errors import bad_request, conflict, created, not_found
from collector.api.requests import parse_body
from collector.auth.roles import Role
from collector.redaction import url_secrets
from collector.response.people import ContactMethod, Person, Team
from collector.response.roster import Roster, RosterError
from collector.store.people import Kind

Endpoint = Callable[[Request], Awaitable[Response]]
_STATUS = {"invalid": bad_request, "missing": not_found, "exists": conflict}
_MODELS: dict[Kind, type[Person] | type[Team]] = {"person": Person, "team": Team}
_PATHS: dict[Kind, tuple[str, str]] = {
    "person": ("/api/v1/people", "person_id"),
    "team": ("/api/v1/teams", "team_id"),
}


def people_routes(roster: Roster) -> list[Route]:
    """The people and teams API over `roster`."""
    return [route for kind in _MODELS for route in _routes_of(roster, kind)]


def _routes_of(roster: Roster, kind: Kind) -> list[Route]:
    base, key = _PATHS[kind]

    async def listing(request: Request) -> Response:
        admin = principal_of(request).role is Role.ADMIN
        config = await run_in_threadpool(roster.config)
        entries = config.people if kind == "person" else config.teams
        return JSONResponse([_view(roster, kind, e, admin) for e in entries])

    async def reading(request: Request) -> Response:
        entry_id = request.path_params[key]
        config = await run_in_threadpool(roster.config)
        entry = config.person(entry_id) if kind == "person" else config.team(entry_id)
        if entry is None:
            return not_found(f"no {kind} {entry_id!r}")
        admin = principal_of(request).role is Role.ADMIN
        return JSONResponse(_view(roster, kind, entry, admin))

    async def creating(request: Request) -> Response:
        body = await parse_body(request, _MODELS[kind])
        if isinstance(body, Response):
            return body
        await run_in_threadpool(roster.create, body, principal_of(request).name)
        return created(_view(roster, kind, body, True))

    async def replacing(request: Request) -> Response:
        body = await parse_body(request, _MODELS[kind])
        if isinstance(body, Response):
            return body
        if body.id != request.path_params[key]:
            return bad_request(f"the body's id {body.id!r} is not the one in the path")
        await run_in_threadpool(roster.replace, body, principal_of(request).name)
        return JSONResponse(_view(roster, kind, body, True))

    def switching(disabled: bool) -> Endpoint:
        async def switch(request: Request) -> Response:
            actor = principal_of(request).name
            changed = await run_in_threadpool(
                roster.set_disabled, kind, request.path_params[key], disabled, actor
            )
            return JSONResponse(_view(roster, kind, changed, True))

        return switch

    one = f"{base}/{{{key}}}"
    return [
        Route(base, _refusing(listing), methods=["GET"]),
        Route(base, _refusing(creating), methods=["POST"]),
        Route(one, _refusing(reading), methods=["GET"]),
        Route(one, _refusing(replacing), methods=["PUT"]),
        Route(f"{one}/disable", _refusing(switching(True)), methods=["POST"]),
        Route(f"{one}/enable", _refusing(switching(False)), methods=["POST"]),
    ]


def _refusing(endpoint: Endpoint) -> Endpoint:
    """The roster's refusals as 400 (invalid), 404 (no such id) or 409 (id taken)."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except RosterError as exc:
            return _STATUS[exc.status](exc.message)

    return guarded


def _view(roster: Roster, kind: Kind, entry: BaseModel, admin: bool) -> dict[str, Any]:
    if isinstance(entry, Person):
        return person_view(entry, roster.source(kind, entry.id), admin)
    assert isinstance(entry, Team)
    return team_view(entry, roster.source(kind, entry.id), admin)


def person_view(person: Person, source: str, admin: bool) -> dict[str, Any]:
    """A person as the API shows them; contact addresses for admins only."""
    return {
        "id": person.id,
        "name": person.name,
        "timezone": person.timezone,
        "language": person.language,
        "calendar": person.calendar,
        "disabled": person.disabled,
        "source": source,
        "contacts": {name: _contact(c, admin) for name, c in person.contacts.items()},
        "notification_rules": [rule.model_dump(mode="json") for rule in person.notification_rules],
    }


def team_view(team: Team, source: str, admin: bool) -> dict[str, Any]:
    """A team as the API shows it; its channel's address for admins only."""
    return {
        "id": team.id,
        "name": team.name,
        "members": list(team.members),
        "schedules": list(team.schedules),
        "channel": None if team.channel is None else _contact(team.channel, admin),
        "disabled": team.disabled,
        "source": source,
    }


def _contact(contact: ContactMethod, admin: bool) -> dict[str, str]:
    if not admin:
        return {"kind": contact.kind}
    url = contact.url.get_secret_value()
    for secret in url_secrets(url):  # passwords and API keys in the URL never leave
        url = url.replace(secret, "***")
    return {"kind": contact.kind, "url": url}

"""The admin's endpoints: API tokens, users and the audit log; and whoami for everyone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.context import ApiContext
from collector.api.errors import bad_request, conflict, created, not_found
from collector.api.requests import (
    PreferencesPatch,
    TokenBody,
    UserBody,
    UserPatch,
    parse_body,
)
from collector.api.views import audit_view, principal_view, token_view, user_view
from collector.auth.passwords import WeakPasswordError
from collector.auth.service import AccessError, ConflictError, NotFoundError
from collector.web.preferences import PreferenceError, Preferences
from collector.web.preferences import store as store_preferences

Endpoint = Callable[[Request], Awaitable[Response]]


def refusing(endpoint: Endpoint) -> Endpoint:
    """Turn the access service's refusals into 400/404/409 answers."""

    async def guarded(request: Request) -> Response:
        try:
            return await endpoint(request)
        except NotFoundError as exc:
            return not_found(exc.message)
        except ConflictError as exc:
            return conflict(exc.message)
        except (AccessError, WeakPasswordError) as exc:
            return bad_request(str(exc))

    return guarded


def admin_routes(ctx: ApiContext) -> list[Route]:
    """Tokens, users, audit and whoami bound to `ctx`."""
    access = ctx.access

    async def whoami(request: Request) -> Response:
        return JSONResponse(principal_view(principal_of(request)))

    async def change_preferences(request: Request) -> Response:
        body = await parse_body(request, PreferencesPatch)
        if isinstance(body, Response):
            return body
        me = principal_of(request)
        given = body.model_fields_set
        wanted = Preferences(
            body.language if "language" in given else me.language,
            body.time_zone if "time_zone" in given else me.time_zone,
        )
        try:
            stored = await run_in_threadpool(store_preferences, access, me, wanted)
        except PreferenceError as exc:
            return bad_request(str(exc))
        changed = replace(me, language=stored.language, time_zone=stored.time_zone)
        return JSONResponse(principal_view(changed))

    async def list_tokens(request: Request) -> Response:
        tokens = await run_in_threadpool(access.tokens)
        now = ctx.clock()
        return JSONResponse([token_view(t, now) for t in tokens])

    async def issue_token(request: Request) -> Response:
        body = await parse_body(request, TokenBody)
        if isinstance(body, Response):
            return body
        token, record = await run_in_threadpool(
            access.issue_token,
            body.name,
            body.role,
            principal_of(request).name,
            body.customer,
            body.expires_in,
        )
        # The only time the token is ever shown.
        return created({**token_view(record, ctx.clock()), "token": token})

    async def revoke_token(request: Request) -> Response:
        await run_in_threadpool(access.revoke_token, request.path_params["token_id"])
        return JSONResponse({"revoked": request.path_params["token_id"]})

    async def list_users(request: Request) -> Response:
        users = await run_in_threadpool(access.users)
        return JSONResponse([user_view(u) for u in users])

    async def add_user(request: Request) -> Response:
        body = await parse_body(request, UserBody)
        if isinstance(body, Response):
            return body
        await run_in_threadpool(access.add_user, body.name, body.password, body.role, body.customer)
        return created({"name": body.name, "role": body.role.value, "customer": body.customer})

    async def change_user(request: Request) -> Response:
        name = request.path_params["name"]
        body = await parse_body(request, UserPatch)
        if isinstance(body, Response):
            return body
        await run_in_threadpool(_change_user, ctx, name, body)
        [user] = [u for u in await run_in_threadpool(access.users) if u.name == name]
        return JSONResponse(user_view(user))

    async def audit(request: Request) -> Response:
        limit = request.query_params.get("limit", "200")
        before = request.query_params.get("before")
        if not limit.isdecimal() or not 0 < int(limit) <= 5000:
            return bad_request("limit must be a number from 1 to 5000")
        if before is not None and not before.isdecimal():
            return bad_request("before must be an audit entry id")
        entries = await run_in_threadpool(
            access.store.audit_entries, int(limit), int(before) if before else None
        )
        return JSONResponse([audit_view(e) for e in entries])

    return [
        Route("/api/v1/whoami", whoami, methods=["GET"]),
        Route("/api/v1/whoami", change_preferences, methods=["PATCH"]),
        Route("/api/v1/tokens", refusing(list_tokens), methods=["GET"]),
        Route("/api/v1/tokens", refusing(issue_token), methods=["POST"]),
        Route("/api/v1/tokens/{token_id:int}", refusing(revoke_token), methods=["DELETE"]),
        Route("/api/v1/users", refusing(list_users), methods=["GET"]),
        Route("/api/v1/users", refusing(add_user), methods=["POST"]),
        Route("/api/v1/users/{name}", refusing(change_user), methods=["PATCH"]),
        Route("/api/v1/audit", audit, methods=["GET"]),
    ]


def _change_user(ctx: ApiContext, name: str, body: UserPatch) -> None:
    access = ctx.access
    if body.role is not None:
        access.set_role(name, body.role, body.customer)
    if body.password is not None:
        access.set_password(name, body.password)
    if body.disabled is not None:
        access.set_disabled(name, body.disabled)
    if body.role is None and body.password is None and body.disabled is None:
        raise AccessError("give at least one of password, role, disabled")

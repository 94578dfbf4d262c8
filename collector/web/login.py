"""Signing in and out of the console: the login form, the session cookie, the logout form.

The session cookie is HttpOnly, SameSite=Lax, and Secure when served over TLS. The login form
carries a double-submit CSRF token (a cookie and a hidden field that must match); every form of
a signed-in page carries the session's own CSRF token.
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.api.access import SESSION_COOKIE, client_address, principal_of
from collector.api.context import ApiContext
from collector.api.errors import see_other
from collector.auth.roles import PrincipalKind
from collector.auth.service import LoginRefusedError
from collector.web.pages import Pages, expired_form

LOGIN_CSRF_COOKIE = "wk_login_csrf"
_LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
MAX_FORM_BYTES = 8192


def login_routes(ctx: ApiContext) -> list[Route]:
    """/login (form and submit) and /logout bound to `ctx`."""
    access = ctx.access
    pages = Pages(ctx.clock)

    async def login_form(request: Request) -> Response:
        return _form(pages, request, _local(request.query_params.get("next")), "", "", 200)

    async def login(request: Request) -> Response:
        form = await _read_form(request)
        user, target = form.get("user", ""), _local(form.get("next"))
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(expected, form.get("csrf", "")):
            return _form(pages, request, target, user, "the form expired; sign in again", 403)
        address = client_address(request.scope)
        try:
            signed = await run_in_threadpool(access.login, user, form.get("password", ""), address)
        except LoginRefusedError as exc:
            await run_in_threadpool(
                access.audit, user or "?", "password", address, "LOGIN", 401, exc.message
            )
            status = 429 if exc.retry_after else 401
            response = _form(pages, request, target, user, exc.message, status)
            if exc.retry_after:
                response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
            return response
        await run_in_threadpool(access.audit, user, "password", address, "LOGIN", 303)
        response = see_other(target)
        response.set_cookie(
            SESSION_COOKIE,
            signed.cookie,
            max_age=signed.max_age,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    async def logout(request: Request) -> Response:
        form = await _read_form(request)
        principal = principal_of(request)
        if principal.kind is not PrincipalKind.SESSION:
            return see_other("/login")  # a token has no session to end
        if not principal.csrf or not hmac.compare_digest(principal.csrf, form.get("csrf", "")):
            return expired_form(pages, request)
        await run_in_threadpool(access.logout, request.cookies.get(SESSION_COOKIE, ""))
        response = see_other("/login")
        response.delete_cookie(SESSION_COOKIE)
        return response

    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]


def _form(
    pages: Pages, request: Request, target: str, user: str, message: str, status: int
) -> Response:
    # A token the browser already holds is kept: a second sign-in page (another tab, or the
    # browser's own /favicon.ico redirected here) must not void the form already shown.
    held = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    csrf = held if _LOGIN_TOKEN.fullmatch(held) else secrets.token_urlsafe(24)
    response = pages.render(
        request, "login.html", status, csrf=csrf, next=target, user=user, message=message
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def _read_form(request: Request) -> dict[str, str]:
    """An url-encoded form of at most MAX_FORM_BYTES; larger or other bodies read as empty."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
    except ValueError:  # more fields than any of our forms has
        return {}
    return {name: values[0] for name, values in fields.items()}


def _local(target: str | None) -> str:
    """Only a path on this site (never //host or a URL) is followed after sign-in."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"

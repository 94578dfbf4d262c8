"""Access control in one place: every route and method mapped to what it needs, and the ASGI
middleware that authenticates each request from its headers and enforces that table.

A route missing from ROUTE_RULES makes the app refuse to build (and the route-table test fail),
so no endpoint can be added without saying who may call it. Role customer is apart: it may call
only the routes of CUSTOMER_RULES, each saying how the request is confined to its own customer.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from functools import partial
from http.cookies import SimpleCookie
from urllib.parse import quote

import anyio.to_thread
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.api.errors import forbidden, not_found, see_other, unauthorized
from collector.api.scoping import CustomerScopes
from collector.auth.roles import Principal, PrincipalKind, Role, grants
from collector.auth.service import AccessService

SESSION_COOKIE = "wk_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Gate(StrEnum):
    """Needs other than a role."""

    PUBLIC = "public"  # no credentials at all
    AGENT = "agent"  # agent report tokens, checked by the endpoint from the headers first
    SIGNED_IN = "signed-in"  # any valid credential, whatever its role
    METRICS = "metrics"  # a viewer's bearer token or basic auth, or public if configured
    INTEGRATION = "integration"  # another monitor's token (integrations:), checked by the endpoint


Need = Role | Gate

ROUTE_RULES: dict[tuple[str, str], Need] = {
    ("GET", "/-/healthy"): Gate.PUBLIC,
    ("POST", "/api/v1/reports"): Gate.AGENT,
    ("POST", "/api/v1/snapshots"): Gate.AGENT,  # a diagnostic snapshot the collector asked for
    ("POST", "/api/v1/integrations/alertmanager"): Gate.INTEGRATION,
    ("POST", "/api/v1/integrations/zabbix"): Gate.INTEGRATION,
    ("POST", "/api/v1/integrations/checkmk"): Gate.INTEGRATION,
    ("GET", "/metrics"): Gate.METRICS,
    ("GET", "/api/v1/whoami"): Gate.SIGNED_IN,
    ("PATCH", "/api/v1/whoami"): Gate.SIGNED_IN,  # one's own language and time zone
    ("GET", "/api/v1/openapi.json"): Gate.SIGNED_IN,
    ("GET", "/api/v1/hosts"): Role.VIEWER,
    ("GET", "/api/v1/hosts/{name}/events"): Role.VIEWER,
    ("GET", "/api/v1/hosts/{name}/inventory"): Role.VIEWER,
    ("DELETE", "/api/v1/hosts/{name}"): Role.ADMIN,  # retire a host (not customers)
    ("GET", "/api/v1/incidents"): Role.VIEWER,
    ("GET", "/api/v1/incidents/{reference}"): Role.VIEWER,
    ("POST", "/api/v1/incidents"): Role.RESPONDER,
    ("POST", "/api/v1/incidents/{reference}/{action}"): Role.RESPONDER,
    ("POST", "/api/v1/incidents/{reference}/root-cause"): Role.RESPONDER,
    ("POST", "/api/v1/incidents/{reference}/links"): Role.RESPONDER,  # ticket -> incident
    # Customers' verification links: the signed, expiring token in the path is the credential
    # (no login); GET only shows the question, POST answers.
    ("GET", "/verify/{token}"): Gate.PUBLIC,
    ("POST", "/verify/{token}"): Gate.PUBLIC,
    ("GET", "/api/v1/incidents/{reference}/report"): Role.VIEWER,
    ("GET", "/api/v1/incidents/{reference}/snapshots"): Role.VIEWER,  # not customers: internals
    ("GET", "/api/v1/kb"): Role.VIEWER,
    ("POST", "/api/v1/kb"): Role.RESPONDER,
    ("GET", "/api/v1/silences"): Role.VIEWER,
    ("GET", "/api/v1/rules/noise"): Role.VIEWER,
    ("POST", "/api/v1/silences"): Role.RESPONDER,
    ("POST", "/api/v1/silences/{silence_id:int}/expire"): Role.RESPONDER,
    ("GET", "/api/v1/tokens"): Role.ADMIN,
    ("POST", "/api/v1/tokens"): Role.ADMIN,
    ("DELETE", "/api/v1/tokens/{token_id:int}"): Role.ADMIN,
    ("GET", "/api/v1/users"): Role.ADMIN,
    ("POST", "/api/v1/users"): Role.ADMIN,
    ("PATCH", "/api/v1/users/{name}"): Role.ADMIN,
    ("GET", "/api/v1/audit"): Role.ADMIN,
    # People and teams: anyone may read (contact addresses only admins), admins change them.
    ("GET", "/api/v1/people"): Role.VIEWER,
    ("POST", "/api/v1/people"): Role.ADMIN,
    ("GET", "/api/v1/people/{person_id}"): Role.VIEWER,
    ("PUT", "/api/v1/people/{person_id}"): Role.ADMIN,
    ("POST", "/api/v1/people/{person_id}/disable"): Role.ADMIN,
    ("POST", "/api/v1/people/{person_id}/enable"): Role.ADMIN,
    ("GET", "/api/v1/teams"): Role.VIEWER,
    ("POST", "/api/v1/teams"): Role.ADMIN,
    ("GET", "/api/v1/teams/{team_id}"): Role.VIEWER,
    ("PUT", "/api/v1/teams/{team_id}"): Role.ADMIN,
    ("POST", "/api/v1/teams/{team_id}/disable"): Role.ADMIN,
    ("POST", "/api/v1/teams/{team_id}/enable"): Role.ADMIN,
    ("GET", "/login"): Gate.PUBLIC,
    ("POST", "/login"): Gate.PUBLIC,  # audits itself; CSRF by a double-submit cookie
    ("POST", "/logout"): Gate.SIGNED_IN,  # checks the form's CSRF field itself
    ("GET", "/me"): Gate.SIGNED_IN,  # who am I, language and time zone
    ("POST", "/me"): Gate.SIGNED_IN,  # form: checks its CSRF field
    ("GET", "/"): Role.VIEWER,
    ("GET", "/incidents/{reference}"): Role.VIEWER,
    ("GET", "/overview/live"): Role.VIEWER,
    ("GET", "/incidents"): Role.VIEWER,
    ("POST", "/incidents/{reference}/{action}"): Role.RESPONDER,  # form: checks its CSRF field
    ("GET", "/hosts"): Role.VIEWER,
    ("GET", "/hosts/{name}"): Role.VIEWER,
    ("POST", "/hosts/{name}/retire"): Role.ADMIN,  # form: checks its CSRF field
    ("GET", "/oncall"): Role.VIEWER,  # schedules, policies, people (not customers)
    ("GET", "/silences"): Role.VIEWER,
    ("POST", "/silences"): Role.RESPONDER,  # form: checks its CSRF field
    ("POST", "/silences/preview"): Role.RESPONDER,  # form: checks its CSRF field; stores nothing
    ("POST", "/silences/{silence_id:int}/expire"): Role.RESPONDER,  # form: checks its CSRF field
    ("GET", "/tickets/new"): Role.RESPONDER,  # the ticket form (customers: for themselves)
    ("POST", "/tickets/new"): Role.RESPONDER,  # form: checks its CSRF field
    ("GET", "/reports"): Role.VIEWER,  # SLA and health reports to download (not customers)
    ("GET", "/reports/sla/{period}"): Role.VIEWER,
    ("GET", "/reports/health/{period}"): Role.VIEWER,
    ("GET", "/static/console.css"): Gate.PUBLIC,
    ("GET", "/static/htmx.min.js"): Gate.PUBLIC,
    ("GET", "/static/zone.js"): Gate.PUBLIC,
}


class Scoped(StrEnum):
    """How a customer's request is confined to its own customer's data."""

    NO_DATA = "no-data"  # carries nothing of any customer (whoami, the API document)
    FILTERED = "filtered"  # the endpoint reads through CustomerScopes (its queries filter)
    INCIDENT = "incident"  # {reference} must be one of its incidents, else 404
    HOST = "host"  # {name} must be one of its hosts, else 404
    # Opens a ticket for its own customer only: the label forced, its own hosts, P2-P4
    # (collector/api/opening.py).
    OPENING = "opening"


# The only routes open to role customer; every other one answers it 403.
CUSTOMER_RULES: dict[tuple[str, str], Scoped] = {
    ("GET", "/api/v1/whoami"): Scoped.NO_DATA,
    ("PATCH", "/api/v1/whoami"): Scoped.NO_DATA,
    ("GET", "/me"): Scoped.NO_DATA,
    ("POST", "/me"): Scoped.NO_DATA,
    ("GET", "/api/v1/openapi.json"): Scoped.NO_DATA,
    ("POST", "/logout"): Scoped.NO_DATA,
    ("GET", "/api/v1/hosts"): Scoped.FILTERED,
    ("GET", "/api/v1/hosts/{name}/events"): Scoped.HOST,
    ("GET", "/api/v1/hosts/{name}/inventory"): Scoped.HOST,
    ("GET", "/api/v1/incidents"): Scoped.FILTERED,
    ("GET", "/api/v1/incidents/{reference}"): Scoped.INCIDENT,
    ("POST", "/api/v1/incidents/{reference}/{action}"): Scoped.INCIDENT,
    ("GET", "/"): Scoped.FILTERED,
    ("GET", "/overview/live"): Scoped.FILTERED,
    ("GET", "/incidents"): Scoped.FILTERED,
    ("GET", "/incidents/{reference}"): Scoped.INCIDENT,
    ("POST", "/incidents/{reference}/{action}"): Scoped.INCIDENT,
    ("GET", "/hosts"): Scoped.FILTERED,
    ("GET", "/hosts/{name}"): Scoped.HOST,
    ("POST", "/api/v1/incidents"): Scoped.OPENING,
    ("GET", "/tickets/new"): Scoped.FILTERED,  # offers only its own hosts
    ("POST", "/tickets/new"): Scoped.OPENING,
}

# The action verbs a customer may use on its own incidents, per action route.
CUSTOMER_ACTIONS: dict[tuple[str, str], frozenset[str]] = {
    ("POST", "/api/v1/incidents/{reference}/{action}"): frozenset({"ack", "notes", "verify"}),
    ("POST", "/incidents/{reference}/{action}"): frozenset({"ack", "note", "answer"}),
}

# Session-authenticated writes that check the CSRF token of their form themselves.
FORM_ROUTES = frozenset(
    {
        ("POST", "/logout"),
        ("POST", "/me"),
        ("POST", "/incidents/{reference}/{action}"),
        ("POST", "/tickets/new"),
        ("POST", "/silences"),
        ("POST", "/silences/preview"),
        ("POST", "/silences/{silence_id:int}/expire"),
        ("POST", "/hosts/{name}/retire"),
    }
)


def route_methods(routes: Iterable[BaseRoute]) -> list[tuple[str, str]]:
    """(method, path) of every HTTP endpoint (HEAD goes with GET)."""
    return [
        (method, route.path)
        for route in routes
        if isinstance(route, Route)
        for method in sorted(route.methods or ())
        if method != "HEAD"
    ]


def check_rules(routes: Iterable[BaseRoute]) -> None:
    """Raise naming every endpoint that has no access rule, and every customer rule that
    names no endpoint or a path without the parameter it confines."""
    endpoints = route_methods(routes)
    missing = [f"{m} {p}" for m, p in endpoints if (m, p) not in ROUTE_RULES]
    if missing:
        raise ValueError(f"no access rule for {', '.join(missing)}; add it to ROUTE_RULES")
    stray = [f"{m} {p}" for m, p in CUSTOMER_RULES if (m, p) not in endpoints]
    params = {Scoped.INCIDENT: "{reference}", Scoped.HOST: "{name}"}
    stray += [f"{m} {p}" for (m, p), s in CUSTOMER_RULES.items() if params.get(s, "") not in p]
    stray += [f"{m} {p}" for m, p in CUSTOMER_ACTIONS if (m, p) not in CUSTOMER_RULES]
    if stray:
        raise ValueError(f"customer rules that confine no endpoint: {', '.join(stray)}")


def principal_of(request: Request) -> Principal:
    """Who the request acts as (set by the middleware on every non-public route)."""
    principal: Principal = request.state.principal
    return principal


def client_address(scope: Scope) -> str:
    """The peer's address, or "" (a unix socket)."""
    client = scope.get("client")
    return str(client[0]) if client else ""


class AccessMiddleware:
    """Authenticates from the headers (no body byte is read), authorizes against ROUTE_RULES,
    checks CSRF on session writes, and audits every authenticated write."""

    def __init__(
        self,
        app: ASGIApp,
        access: AccessService,
        routes: Sequence[BaseRoute],
        scopes: CustomerScopes,
        metrics_public: bool = False,
    ) -> None:
        check_rules(routes)
        self.app = app
        self._access = access
        self._scopes = scopes
        self._routes = [r for r in routes if isinstance(r, Route)]
        # Paths without parameters are found by one dict lookup (the report path among them).
        self._static = {
            (method, path): need for (method, path), need in ROUTE_RULES.items() if "{" not in path
        }
        self._metrics_public = metrics_public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        path, need, params = self._need(scope, method)
        passes = need in (Gate.PUBLIC, Gate.AGENT, Gate.INTEGRATION)
        if passes or (need is Gate.METRICS and self._metrics_public):
            await self.app(scope, receive, send)
            return
        principal, offered = await anyio.to_thread.run_sync(
            self._authenticate, scope, need is Gate.METRICS
        )
        refusal = _refusal(principal, offered, need, scope, method, path, params)
        if refusal is None and principal is not None and principal.role is Role.CUSTOMER:
            refusal = await self._confine(principal, method, path, params)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        assert principal is not None
        scope.setdefault("state", {})["principal"] = principal
        if method in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        audit = partial(
            self._access.audit,
            principal.name,
            principal.kind.value,
            client_address(scope),
            f"{scope['method']} {scope['path']}",
        )
        audited = [False]
        try:
            await self.app(scope, receive, partial(_audit_then_send, send, audit, audited))
        finally:
            if not audited[0]:  # the app failed before answering
                await anyio.to_thread.run_sync(audit, 500)

    def _need(self, scope: Scope, method: str) -> tuple[str, Need, dict[str, str]]:
        """The matched route's path template, what it needs, and its path parameters."""
        path = scope["path"]
        static = self._static.get((method, path))
        if static is not None:
            return path, static, {}
        near = ""
        for route in self._routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                params = {k: str(v) for k, v in child.get("path_params", {}).items()}
                return route.path, ROUTE_RULES[(method, route.path)], params
            if match is Match.PARTIAL:
                near = near or route.path
        # The path exists but not this method (405), or no such path (404): either is said
        # only to those signed in.
        return near, Gate.SIGNED_IN, {}

    async def _confine(
        self, principal: Principal, method: str, path: str, params: dict[str, str]
    ) -> ASGIApp | None:
        """404 for another customer's incident or host, worded as for one that does not exist."""
        scoped = CUSTOMER_RULES.get((method, path))
        if scoped is Scoped.INCIDENT:
            reference = params["reference"]
            owned = partial(self._scopes.owns_incident, principal, reference)
            if not await anyio.to_thread.run_sync(owned):
                return not_found(f"no incident {reference}")
        if scoped is Scoped.HOST and not self._scopes.owns_host(principal, params["name"]):
            return not_found(f"no host {params['name']!r}")
        return None

    def _authenticate(self, scope: Scope, basic_allowed: bool) -> tuple[Principal | None, bool]:
        """The principal, and whether any credential was offered at all."""
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                return self._access.from_bearer(value.strip()), True
            if scheme.lower() == "basic" and basic_allowed:
                return self._basic(value.strip()), True
            return None, True
        cookie = _session_cookie(headers.get(b"cookie", b"").decode("latin-1"))
        if cookie:
            return self._access.from_session(cookie), True
        return None, False

    def _basic(self, value: str) -> Principal | None:
        try:
            name, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return self._access.from_basic(name, password) if sep else None


def _refusal(
    principal: Principal | None,
    offered: bool,
    need: Need,
    scope: Scope,
    method: str,
    path: str,
    params: dict[str, str],
) -> ASGIApp | None:
    if principal is None:
        return _unauthenticated(offered, scope, method)
    if principal.role is Role.CUSTOMER:
        refused = _customer_refusal(principal, need, method, path, params)
        if refused is not None:
            return refused
    elif isinstance(need, Role) and not grants(principal.role, need):
        return forbidden(
            f"this needs role {need.value}; {principal.name!r} has role {principal.role.value}"
        )
    if need is Gate.METRICS and not grants(principal.role, Role.VIEWER):
        return forbidden(
            f"/metrics needs role viewer; {principal.name!r} has role {principal.role.value}"
        )
    if (
        principal.kind is PrincipalKind.SESSION
        and method not in SAFE_METHODS
        and (method, path) not in FORM_ROUTES
        and not _csrf_matches(scope, principal)
    ):
        return forbidden(f"a signed-in browser's write needs the {CSRF_HEADER} header")
    return None


def _customer_refusal(
    principal: Principal, need: Need, method: str, path: str, params: dict[str, str]
) -> ASGIApp | None:
    """403 for a route (or action verb) not open to role customer; says nothing of any data."""
    who = f"{principal.name!r} has role customer"
    if (method, path) not in CUSTOMER_RULES:
        wanted = f"role {need.value}" if isinstance(need, Role) else "a staff role"
        return forbidden(f"this needs {wanted}; {who}, which sees only its own customer's data")
    verbs = CUSTOMER_ACTIONS.get((method, path))
    if verbs is not None and params.get("action") not in verbs:
        return forbidden(f"role customer may only {', '.join(sorted(verbs))}; {who}")
    return None


def _unauthenticated(offered: bool, scope: Scope, method: str) -> ASGIApp:
    if offered:
        return unauthorized(
            "the token, password or session given is unknown, expired or revoked; "
            "this needs an API token or a sign-in"
        )
    if method == "GET" and _is_console(scope["path"]):
        return see_other(f"/login?next={quote(scope['path'])}")
    return unauthorized("this needs an API token (Authorization: Bearer <token>) or a sign-in")


def _is_console(path: str) -> bool:
    return path in ("/", "") or not (path.startswith("/api/") or path == "/metrics")


def _csrf_matches(scope: Scope, principal: Principal) -> bool:
    sent = dict(scope["headers"]).get(CSRF_HEADER.encode(), b"").decode("latin-1")
    return bool(sent and principal.csrf) and hmac.compare_digest(sent, principal.csrf or "")


def _session_cookie(header: str) -> str | None:
    if SESSION_COOKIE not in header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header is no session, not an error
        return None
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel else None


async def _audit_then_send(
    send: Send, audit: Callable[[int], None], audited: list[bool], message: Message
) -> None:
    """Record the write before its answer leaves, so whoever reads the audit log after the
    answer finds it there."""
    if message["type"] == "http.response.start" and not audited[0]:
        audited[0] = True
        await anyio.to_thread.run_sync(audit, int(message["status"]))
    await send(message)

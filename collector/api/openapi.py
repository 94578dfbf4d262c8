"""The OpenAPI 3.1 document of the HTTP API, built from the app's own routes and access rules,
so it lists every endpoint there is and says which credentials each one takes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collector.api.access import (
    CUSTOMER_ACTIONS,
    CUSTOMER_RULES,
    ROUTE_RULES,
    Gate,
    Scoped,
    route_methods,
)
from collector.api.customer_side import LinkBody
from collector.api.incidents import ACTIONS
from collector.api.integrations import PARSERS, integration_path
from collector.api.requests import OpenBody, PreferencesPatch, TokenBody, UserBody, UserPatch
from collector.auth.roles import Role
from collector.response.people import Person, Team
from collector.snapshots.model import SnapshotBody

OPENAPI_PATH = "/api/v1/openapi.json"
ACTION_ROUTE = ("POST", "/api/v1/incidents/{reference}/{action}")  # one body per verb
_PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}")

BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/api/v1/incidents"): OpenBody,
    ("POST", "/api/v1/incidents/{reference}/links"): LinkBody,
    ("POST", "/api/v1/snapshots"): SnapshotBody,
    ("POST", "/api/v1/tokens"): TokenBody,
    ("POST", "/api/v1/users"): UserBody,
    ("PATCH", "/api/v1/users/{name}"): UserPatch,
    ("PATCH", "/api/v1/whoami"): PreferencesPatch,
    ("POST", "/api/v1/people"): Person,
    ("PUT", "/api/v1/people/{person_id}"): Person,
    ("POST", "/api/v1/teams"): Team,
    ("PUT", "/api/v1/teams/{team_id}"): Team,
    **{("POST", integration_path(kind)): model for kind, (model, _) in PARSERS.items()},
}

QUERIES: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("GET", "/api/v1/incidents"): {
        "state": {"type": "string"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
        "host": {"type": "string"},
    },
    ("GET", "/api/v1/rules/noise"): {
        "since": {"type": "string", "description": "ISO 8601 time (UTC if no zone) or 7d"},
        "until": {"type": "string", "description": "ISO 8601 time or a duration back; now"},
    },
    ("GET", "/api/v1/audit"): {
        "limit": {"type": "integer", "minimum": 1, "maximum": 5000},
        "before": {"type": "integer", "minimum": 1},
    },
    ("DELETE", "/api/v1/hosts/{name}"): {
        "reason": {"type": "string", "maxLength": 500, "description": "why (timelines, audit)"},
    },
}

# Answers named beyond the default error envelope: status -> description.
RESPONSES: dict[tuple[str, str], dict[str, str]] = {
    ("DELETE", "/api/v1/hosts/{name}"): {
        "200": "Retired: the host left /metrics, the host list and the rule engine; its open "
        "rule incidents are resolved with a note. JSON: host, retired_at, retired_by, reason, "
        "incidents_resolved (a count), resolved and left_open (ticket numbers of incidents "
        "people opened on it). A report under its name later makes it a new host.",
        "401": "No credentials, or unknown ones.",
        "403": "Not an admin (or a console session without X-CSRF-Token).",
        "404": "No such host: never reported, or already retired.",
    },
}

# Public HTML pages the API document lists (customers reach them from a mail).
PAGES: dict[str, dict[str, Any]] = {
    "/verify/{token}": {
        "note": "A customer's verification link: the signed, expiring token in the path is "
        "the credential (403 when forged or expired). GET shows the question (HTML) and changes "
        "nothing; POST answers (409 once answered).",
        "POST": {
            "requestBody": {
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                                "comment": {"type": "string", "maxLength": 2000},
                            },
                        }
                    }
                }
            }
        },
    },
}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


_ENVELOPE = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def openapi_document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The document for the API part of `routes` (the console's pages are left out)."""
    components: dict[str, Any] = {"Error": _ERROR}
    paths: dict[str, dict[str, Any]] = {}
    for method, path in route_methods(routes):
        if not path.startswith(("/api/", "/metrics", "/-/", "/verify/")):
            continue
        template = _PARAMETER.sub(r"{\1}", path)
        paths.setdefault(template, {})[method.lower()] = _operation(method, path, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Watchkeeper collector API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "basic": {"type": "http", "scheme": "basic"},
                "session": {"type": "apiKey", "in": "cookie", "name": "wk_session"},
            },
        },
    }


def _operation(method: str, path: str, components: dict[str, Any]) -> dict[str, Any]:
    need = ROUTE_RULES[(method, path)]
    operation: dict[str, Any] = {
        "summary": f"{method} {path}",
        "description": _who(need)
        + _verbs(method, path, components)
        + _customer_note(method, path, need),
        "responses": {
            "default": {
                "description": "an answer, or an error in the envelope",
                "content": _ENVELOPE,
            }
        },
        "security": _security(need),
    }
    for status, text in RESPONSES.get((method, path), {}).items():
        error = status >= "400"
        content = _ENVELOPE if error else {"application/json": {"schema": {"type": "object"}}}
        operation["responses"][status] = {"description": text, "content": content}
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer"} if kind == "int" else {"type": "string"},
        }
        for name, kind in _PARAMETER.findall(path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": schema}
        for name, schema in QUERIES.get((method, path), {}).items()
    ]
    if parameters:
        operation["parameters"] = parameters
    if method in ("POST", "PATCH", "PUT"):
        operation["requestBody"] = _body(BODIES.get((method, path)), components)
    if path in PAGES:  # an HTML page for people, not JSON
        operation.update(PAGES[path].get(method, {}))
        operation["description"] += " " + PAGES[path]["note"]
    return operation


def _verbs(method: str, path: str, components: dict[str, Any]) -> str:
    """On the incident action route: each verb with the schema of its body (eta: EtaBody...),
    the schemas put in components."""
    if (method, path) != ACTION_ROUTE:
        return ""
    for model, _make in ACTIONS.values():
        _body(model, components)
    named = ", ".join(f"{verb}: {model.__name__}" for verb, (model, _make) in ACTIONS.items())
    return f" The body by verb: {named}."


def _body(model: type[BaseModel] | None, components: dict[str, Any]) -> dict[str, Any]:
    if model is None:
        return {"content": {"application/json": {"schema": {"type": "object"}}}}
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"required": True, "content": {"application/json": {"schema": ref}}}


def _who(need: Role | Gate) -> str:
    if isinstance(need, Role):
        return f"Needs role {need.value} (a token, or a console session with X-CSRF-Token)."
    return {
        Gate.PUBLIC: "Needs no credentials.",
        Gate.AGENT: "Needs an agent token (agents: in the collector's config).",
        Gate.SIGNED_IN: "Needs any valid token or session.",
        Gate.METRICS: "Needs a viewer's bearer token or basic auth (or access.metrics_public).",
        Gate.INTEGRATION: "Needs the bearer token of an integration of this kind "
        "(integrations: in the collector's config).",
    }[need]


def _customer_note(method: str, path: str, need: Role | Gate) -> str:
    """What role customer gets here (CUSTOMER_RULES)."""
    if need in (Gate.PUBLIC, Gate.AGENT, Gate.INTEGRATION):
        return ""
    scoped = CUSTOMER_RULES.get((method, path))
    if scoped is None:
        return " Refused to role customer (403)."
    told = {
        Scoped.NO_DATA: "allowed",
        Scoped.FILTERED: "only its own customer's hosts and incidents",
        Scoped.INCIDENT: "only its own customer's incidents (another's is a 404)",
        Scoped.HOST: "only its own customer's hosts (another's is a 404)",
        Scoped.OPENING: "opens tickets for its own customer only (the customer label is its "
        "own, hosts only its own, priority P2 to P4; else 400)",
    }[scoped]
    verbs = CUSTOMER_ACTIONS.get((method, path))
    return f" Role customer: {told}" + (f"; verbs {', '.join(sorted(verbs))}." if verbs else ".")


def _security(need: Role | Gate) -> list[dict[str, list[str]]]:
    if need is Gate.PUBLIC:
        return []
    if need is Gate.METRICS:
        return [{"bearer": []}, {"basic": []}]
    if need in (Gate.AGENT, Gate.INTEGRATION):
        return [{"bearer": []}]
    return [{"bearer": []}, {"session": []}]


def openapi_routes() -> list[Route]:
    """GET /api/v1/openapi.json, describing the app it is served by."""

    async def document(request: Request) -> Response:
        return JSONResponse(openapi_document(request.app.routes))

    return [Route(OPENAPI_PATH, document, methods=["GET"])]

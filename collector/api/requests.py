"""Request bodies of the API, validated into typed models."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import Response

from collector.api.errors import bad_request, error_response, request_timeout
from collector.auth.roles import Role
from collector.incidents.events import SetEta
from rules.model import Duration
from rules.priority import Priority

# An API request's JSON body (people, silences, incident actions...): far above any real one.
API_BODY_BYTES = 1024 * 1024
API_BODY_SECONDS = 30.0


class Body(BaseModel):
    """Frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenBody(Body):
    """POST /api/v1/incidents."""

    title: str = Field(min_length=1, max_length=300)
    priority: Priority = Priority.P3
    description: str = Field("", max_length=20_000)
    hosts: list[str] = Field(default_factory=list, max_length=100)
    reporter: str | None = Field(None, max_length=255)
    contact: str | None = Field(None, max_length=255)


class NoteBody(Body):
    """ack, resolve, verify, close: an optional note."""

    note: str = Field("", max_length=20_000)


class AssignBody(Body):
    """assign."""

    assignee: str = Field(min_length=1, max_length=255)


class TextBody(Body):
    """notes."""

    text: str = Field(min_length=1, max_length=20_000)


class RegradeBody(Body):
    """regrade."""

    priority: Priority
    reason: str = Field(min_length=1, max_length=2_000)


class ReopenBody(Body):
    """reopen."""

    reason: str = Field("", max_length=2_000)


class EtaBody(Body):
    """eta: when we expect it fixed (`at`, or `after` from now) and why; neither clears it."""

    at: AwareDatetime | None = Field(None, description="e.g. 2026-11-28T16:00:00Z")
    after: Duration | None = Field(None, gt=0, description="or a duration from now: 4h, 90m, 2d")
    reason: str = Field("", max_length=2_000, description="Shown to the customer; needed to set.")

    @model_validator(mode="after")
    def _one_time(self) -> EtaBody:
        if self.at is not None and self.after is not None:
            raise ValueError("give at or after, not both")
        return self

    def event(self, actor: str) -> SetEta:
        """The SetEta event this body asks for."""
        at = self.at.timestamp() if self.at is not None else None
        return SetEta(actor, self.reason, at=at, after=self.after)


class TokenBody(Body):
    """POST /api/v1/tokens."""

    name: str = Field(min_length=1, max_length=255)
    role: Role
    customer: str | None = Field(None, max_length=255)
    expires_in: Duration | None = Field(
        None, gt=0, le=10 * 366 * 86400, description="e.g. 90d, at most 10 years; none: never"
    )


class UserBody(Body):
    """POST /api/v1/users."""

    name: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")
    password: str = Field(min_length=1, max_length=1024)
    role: Role
    customer: str | None = Field(None, max_length=255)


class UserPatch(Body):
    """PATCH /api/v1/users/{name}: any of these."""

    password: str | None = Field(None, min_length=1, max_length=1024)
    role: Role | None = None
    customer: str | None = Field(None, max_length=255)
    disabled: bool | None = None


class PreferencesPatch(Body):
    """PATCH /api/v1/whoami: a user's console preferences; a key left out is kept, null clears
    it (the browser decides)."""

    language: str | None = Field(None, max_length=8, description="en or zh")
    time_zone: str | None = Field(None, max_length=64, description="An IANA zone: Asia/Shanghai")


class BodyTooLargeError(Exception):
    """A body grew past its limit while it was read (the rest is never read)."""


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The body as it arrives: BodyTooLargeError past `limit` bytes (chunked bodies too),
    TimeoutError when it takes longer than `timeout` seconds (a slow or stalled client)."""
    received = bytearray()
    async with asyncio.timeout(timeout):
        async for chunk in request.stream():
            received += chunk
            if len(received) > limit:
                raise BodyTooLargeError(f"body exceeds the limit of {limit} bytes")
    return bytes(received)


async def json_body(request: Request) -> bytes | Response:
    """An API request's JSON body, at most API_BODY_BYTES within API_BODY_SECONDS: a 413 or
    408 answer otherwise (a client cannot make the collector hold an unbounded body)."""
    try:
        return await read_body(request, API_BODY_BYTES, API_BODY_SECONDS)
    except BodyTooLargeError as exc:
        refused = error_response(413, "too_large", str(exc))
    except TimeoutError:
        refused = request_timeout(f"the body did not arrive within {API_BODY_SECONDS:g} s")
    # Closing the connection: uvicorn would otherwise read the rest of the body to reuse it.
    refused.headers["Connection"] = "close"
    return refused


def problems_of(exc: ValidationError) -> str:
    """Each problem of a body as `field: message`, joined."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
    )


async def parse_body(request: Request, model: type[Any]) -> Any:
    """The body validated into `model`, or a 400 response naming each problem (413/408 for a
    body too large or too slow)."""
    raw = await json_body(request)
    if isinstance(raw, Response):
        return raw
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        return bad_request(f"invalid request body: {problems_of(exc)}")

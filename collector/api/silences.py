"""Silence and maintenance-window endpoints: list, add, expire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.context import ApiContext
from collector.api.errors import bad_request, not_found
from collector.api.requests import json_body, problems_of
from collector.api.views import iso
from collector.incidents.customers import CustomerBook
from collector.noise.maintenance import customer_scope
from collector.noise.notices import MAX_LEAD
from collector.noise.silences import NoticePlan, Recurrence, Silence, check_recurrence, check_zone
from rules.matcher import compile_matcher
from rules.model import Duration


class RecurrenceBody(BaseModel):
    """A maintenance window's schedule."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    cron: str = Field(description="5-field cron, e.g. '0 2 * * SUN' (Sunday 02:00).")
    duration: Duration = Field(description="How long each window lasts, e.g. 2h.")
    timezone: str = Field("UTC", description="IANA time zone the cron is read in.")


class NoticeBody(BaseModel):
    """Tell the window's customer: before each occurrence (leads) and when it ends."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    before: list[Duration] = Field(
        default_factory=list, max_length=5, description="Leads before the start, e.g. [24h, 1h]."
    )
    end: bool = Field(True, description="Also tell them when it is over.")
    timezone: str | None = Field(
        None, description="Zone the times are shown in (default: the recurrence's, else UTC)."
    )

    @model_validator(mode="after")
    def _check(self) -> NoticeBody:
        if any(lead <= 0 or lead > MAX_LEAD for lead in self.before):
            raise ValueError("notify.before leads must be between 1s and 7d")
        if self.timezone is not None:
            check_zone(self.timezone)
        return self


class SilenceBody(BaseModel):
    """POST /api/v1/silences."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    matchers: dict[str, str] = Field(
        default_factory=dict,
        description="Label matchers (rule syntax); a customer's window "
        "without them covers the customer's hosts (its host patterns).",
    )
    customer: str | None = Field(
        None, description="A maintenance window for this customer (customers file)."
    )
    notify: NoticeBody | None = Field(None, description="Notices to the customer's contacts.")
    reason: str = Field(min_length=1, max_length=2000)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration: Duration | None = None
    recurrence: RecurrenceBody | None = None
    kind: Literal["silence", "maintenance"] | None = Field(
        None,
        description="maintenance: planned work (host silence is expected, no AgentSilent); "
        "default: maintenance with a recurrence, else silence.",
    )

    @model_validator(mode="after")
    def _check(self) -> SilenceBody:
        compile_matcher(self.matchers)  # a bad regex is a ValueError naming the label
        if not self.matchers and self.customer is None:
            raise ValueError("give matchers (e.g. host=web1), or a customer whose hosts it covers")
        if self.notify is not None and self.customer is None:
            raise ValueError("notify needs customer: the customer whose contacts are told")
        if self.recurrence is not None:
            check_recurrence(self.recurrence.cron, self.recurrence.timezone)
        elif (self.ends_at is None) == (self.duration is None):
            raise ValueError("give ends_at or duration (a maintenance window: recurrence)")
        return self


def silence_view(silence: Silence, now: float) -> dict[str, Any]:
    """The JSON form of a silence, with whether it holds messages back right now."""
    until = silence.active_until(now)
    recurrence = silence.recurrence
    return {
        "id": silence.id,
        "kind": silence.kind,
        "matchers": silence.matchers,
        "starts_at": iso(silence.starts_at),
        "ends_at": iso(silence.ends_at),
        "recurrence": None
        if recurrence is None
        else {
            "cron": recurrence.cron,
            "duration": recurrence.duration,
            "timezone": recurrence.timezone,
        },
        "customer": silence.customer,
        "notify": silence.notices.as_json() if silence.notices else None,
        "author": silence.author,
        "reason": silence.reason,
        "expired_at": iso(silence.expired_at),
        "active": until is not None,
        "active_until": iso(until),
    }


def silence_routes(
    ctx: ApiContext, customers: CustomerBook | None = None, notices: bool = False
) -> list[Route]:
    """The silence API bound to `ctx`; `customers` for customer windows, `notices` when their
    contacts can be mailed (customer_mail is configured)."""

    async def list_silences(request: Request) -> Response:
        now = ctx.clock()
        ended = request.query_params.get("ended", "") in ("1", "true", "yes")
        found = await run_in_threadpool(ctx.silences.search, now, ended)
        return JSONResponse([silence_view(s, now) for s in found])

    async def add_silence(request: Request) -> Response:
        raw = await json_body(request)
        if isinstance(raw, Response):
            return raw
        try:
            body = SilenceBody.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            return bad_request(f"invalid silence: {problems_of(exc)}")
        try:
            scope = customer_window(body, customers, notices)
        except ValueError as exc:
            return bad_request(str(exc))
        now = ctx.clock()
        starts = body.starts_at.timestamp() if body.starts_at else now
        ends = body.ends_at.timestamp() if body.ends_at else None
        if body.duration is not None:
            ends = starts + body.duration
        recurrence = body.recurrence
        silence = Silence(
            matchers=scope,
            starts_at=starts,
            ends_at=ends,
            author=principal_of(request).name,
            reason=body.reason,
            kind=body.kind or ("maintenance" if recurrence or body.customer else "silence"),
            recurrence=Recurrence(recurrence.cron, recurrence.duration, recurrence.timezone)
            if recurrence
            else None,
            customer=body.customer,
            notices=_plan(body),
        )
        added = await run_in_threadpool(ctx.silences.add, silence, now)
        return JSONResponse(silence_view(added, now), 201)

    async def expire(request: Request) -> Response:
        silence_id = int(request.path_params["silence_id"])
        now = ctx.clock()
        found = await run_in_threadpool(ctx.silences.expire, silence_id, now)
        if found is None:
            return not_found(f"no silence {silence_id}")
        return JSONResponse(silence_view(found, now))

    return [
        Route("/api/v1/silences", list_silences, methods=["GET"]),
        Route("/api/v1/silences", add_silence, methods=["POST"]),
        Route("/api/v1/silences/{silence_id:int}/expire", expire, methods=["POST"]),
    ]


def customer_window(
    body: SilenceBody, customers: CustomerBook | None, notices: bool
) -> dict[str, str]:
    """The window's matchers: as given, or the customer's hosts; ValueError saying what is
    wrong with the customer or its notices."""
    if body.customer is None:
        return dict(body.matchers)
    customer = customers.named(body.customer) if customers else None
    if customer is None:
        known = ", ".join(c.name for c in customers.customers) if customers else ""
        where = f"known: {known}" if known else "no customers file is configured"
        raise ValueError(f"no customer {body.customer!r} ({where})")
    if body.notify is not None and not notices:
        raise ValueError("customer notices need customer_mail (a mailto:// URL) in the config")
    return dict(body.matchers) or customer_scope(customer)


def _plan(body: SilenceBody) -> NoticePlan | None:
    notify = body.notify
    if notify is None:
        return None
    zone = notify.timezone or (body.recurrence.timezone if body.recurrence else "UTC")
    return NoticePlan(tuple(notify.before), notify.end, zone)

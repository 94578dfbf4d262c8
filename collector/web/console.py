"""The console's routes: overview (and its live fragment), incidents, the incident page and its
actions, hosts, silences, and the vendored static files.

Static files are served by StaticFiles through one route per file, not a Mount: the access
middleware judges Routes against ROUTE_RULES, and the files must load on the sign-in page too.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from collector.api.access import CUSTOMER_ACTIONS, principal_of
from collector.api.context import ApiContext
from collector.api.customer_side import LinkRefusedError, link_incidents
from collector.api.errors import see_other
from collector.api.incidents import answered
from collector.api.retirement import actor_of
from collector.history.recent import RecentHistory
from collector.incidents.service import IncidentNotFoundError
from collector.incidents.transitions import TransitionRefusedError
from collector.knowledge.service import KnowledgeService
from collector.response.roster import Roster
from collector.verification.service import AnswerRefusedError, apply_answer
from collector.web.hosts import host_context, hosts_context
from collector.web.incidents import ACTIONS, FormError, IncidentFilter, list_context, page_context
from collector.web.me import me_routes, remember_language
from collector.web.oncall import oncall_context
from collector.web.overview import overview_context
from collector.web.pages import STATIC_DIR, Pages, expired_form, form_csrf_ok, read_form
from collector.web.rootcause import FORM_ACTION as ROOT_CAUSE
from collector.web.rootcause import root_cause_from_form
from collector.web.silences import (
    SilenceFormError,
    preview_context,
    silence_from_form,
    silences_context,
)
from collector.web.tickets import ANSWER, LINK, answer_from_form, ticket_routes

STATIC_FILES = ("console.css", "htmx.min.js", "zone.js")
POLL_SECONDS = 5


def console_routes(
    ctx: ApiContext,
    poll_seconds: float = POLL_SECONDS,
    recent: RecentHistory | None = None,
    roster: Roster | None = None,
) -> list[Route]:
    """The console's routes bound to `ctx`; host charts read `recent`, the on-call page
    `roster` (the merged people and teams)."""
    pages = Pages(ctx.clock, remember_language(ctx))
    knowledge = KnowledgeService(ctx.repository.engine, ctx.clock)

    async def overview(request: Request) -> Response:
        live = await run_in_threadpool(overview_context, ctx, principal_of(request), roster)
        return pages.render(request, "overview.html", poll=poll_seconds, **live)

    async def overview_live(request: Request) -> Response:
        live = await run_in_threadpool(overview_context, ctx, principal_of(request), roster)
        return pages.render(request, "overview_live.html", poll=poll_seconds, **live)

    async def incident_list(request: Request) -> Response:
        chosen = IncidentFilter.parse(dict(request.query_params))
        me = principal_of(request)
        staff = ctx.scopes.scope(me) is None
        reading = ctx.scopes.incidents(me)
        shown = await run_in_threadpool(list_context, ctx, chosen, reading, staff)
        return pages.render(request, "incidents.html", **shown)

    async def incident(request: Request) -> Response:
        return await _incident_page(ctx, pages, request, "", 200)

    async def act(request: Request) -> Response:
        reference, verb = request.path_params["reference"], request.path_params["action"]
        form = await read_form(request)
        if not form_csrf_ok(principal_of(request), form):
            return expired_form(pages, request)
        if verb in OWN_FORMS:  # forms of their own, not lifecycle actions
            return await OWN_FORMS[verb](ctx, knowledge, pages, request, form)
        if verb not in ACTIONS:
            return pages.render(request, "missing.html", 404, what=f"{reference}/{verb}")
        try:
            event = answered(ACTIONS[verb](form, principal_of(request).name), principal_of(request))
            changed = await run_in_threadpool(ctx.incidents.act, reference, event)
        except IncidentNotFoundError:
            return pages.render(request, "missing.html", 404, what=reference)
        except (FormError, TransitionRefusedError) as exc:
            return await _incident_page(ctx, pages, request, str(exc), 409)
        return see_other(f"/incidents/{changed.number}#timeline")

    return [
        Route("/", overview, methods=["GET"]),
        Route("/overview/live", overview_live, methods=["GET"]),
        Route("/incidents", incident_list, methods=["GET"]),
        Route("/incidents/{reference}", incident, methods=["GET"]),
        Route("/incidents/{reference}/{action}", act, methods=["POST"]),
        *host_routes(ctx, pages, recent),
        *oncall_routes(ctx, pages, roster),
        *silence_page_routes(ctx, pages),
        *ticket_routes(ctx, pages),
        *me_routes(ctx, pages),
        *static_routes(),
    ]


def silence_page_routes(ctx: ApiContext, pages: Pages) -> list[Route]:
    """The silences page, its form, the form's preview, and expiring a silence."""

    async def silence_list(request: Request) -> Response:
        ended = request.query_params.get("ended", "") in ("1", "yes", "true")
        prefill = request.query_params.get("matchers", "")
        shown = await run_in_threadpool(silences_context, ctx, ended, prefill)
        return pages.render(request, "silences.html", **shown)

    async def add_silence(request: Request) -> Response:
        form = await read_form(request)
        me = principal_of(request)
        if not form_csrf_ok(me, form):
            return expired_form(pages, request)
        try:
            silence = silence_from_form(form, me.name, ctx.clock())
        except SilenceFormError as exc:
            shown = await run_in_threadpool(silences_context, ctx, False)
            shown.update(form=form, message=str(exc))
            return pages.render(request, "silences.html", 400, **shown)
        await run_in_threadpool(ctx.silences.add, silence, ctx.clock())
        return see_other("/silences")

    async def preview_silence(request: Request) -> Response:
        form = await read_form(request)
        if not form_csrf_ok(principal_of(request), form):
            return expired_form(pages, request)
        shown = await run_in_threadpool(silences_context, ctx, False)
        shown["form"] = form
        try:
            silence = silence_from_form(form, principal_of(request).name, ctx.clock())
        except SilenceFormError as exc:
            shown["message"] = str(exc)
            return pages.render(request, "silences.html", 400, **shown)
        shown.update(await run_in_threadpool(preview_context, ctx, silence))
        return pages.render(request, "silences.html", **shown)

    async def expire_silence(request: Request) -> Response:
        form = await read_form(request)
        if not form_csrf_ok(principal_of(request), form):
            return expired_form(pages, request)
        silence_id = int(request.path_params["silence_id"])
        found = await run_in_threadpool(ctx.silences.expire, silence_id, ctx.clock())
        if found is None:
            return pages.render(request, "missing.html", 404, what=f"silence {silence_id}")
        return see_other("/silences")

    return [
        Route("/silences", silence_list, methods=["GET"]),
        Route("/silences", add_silence, methods=["POST"]),
        Route("/silences/preview", preview_silence, methods=["POST"]),
        Route("/silences/{silence_id:int}/expire", expire_silence, methods=["POST"]),
    ]


def host_routes(ctx: ApiContext, pages: Pages, recent: RecentHistory | None) -> list[Route]:
    """The host list, the host page (charts from `recent`) and an admin's retire form."""

    async def host_list(request: Request) -> Response:
        customer = request.query_params.get("customer", "")[:255]
        shown = await run_in_threadpool(hosts_context, ctx, principal_of(request), customer)
        retired = request.query_params.get("retired", "")  # after the retire form
        shown["retired"] = retired if retired and ctx.hosts.get(retired) is None else ""
        return pages.render(request, "hosts.html", **shown)

    async def host(request: Request) -> Response:
        name = request.path_params["name"]
        state = ctx.hosts.get(name)  # another customer's host is refused before this (404)
        if state is None:
            return pages.render(request, "missing.html", 404, what=name)
        shown = await run_in_threadpool(
            host_context,
            ctx,
            principal_of(request),
            state,
            recent,
            pages.times(request),
            pages.gettext(request),
        )
        return pages.render(request, "host.html", **shown)

    async def retire(request: Request) -> Response:
        name, form = request.path_params["name"], await read_form(request)
        if not form_csrf_ok(principal_of(request), form):
            return expired_form(pages, request)
        if ctx.retirement is None or ctx.hosts.get(name) is None:
            return pages.render(request, "missing.html", 404, what=name)
        if form.get("confirm", "").strip() != name:  # the page says to type it exactly
            return pages.render(request, "retire.html", 400, name=name, form=form)
        reason = form.get("reason", "")
        await run_in_threadpool(ctx.retirement.retire, name, actor_of(request), reason)
        return see_other(f"/hosts?{urlencode({'retired': name})}")

    return [
        Route("/hosts", host_list, methods=["GET"]),
        Route("/hosts/{name}", host, methods=["GET"]),
        Route("/hosts/{name}/retire", retire, methods=["POST"]),
    ]


def oncall_routes(ctx: ApiContext, pages: Pages, roster: Roster | None) -> list[Route]:
    """The on-call page, from the merged directory `roster`."""

    async def oncall(request: Request) -> Response:
        if roster is None:
            return pages.render(request, "missing.html", 404, what="on-call directory")
        shown = await run_in_threadpool(oncall_context, roster, ctx.clock(), pages.times(request))
        return pages.render(request, "oncall.html", **shown)

    return [Route("/oncall", oncall, methods=["GET"])]


async def _link_incident(
    ctx: ApiContext,
    knowledge: KnowledgeService,
    pages: Pages,
    request: Request,
    form: dict[str, str],
) -> Response:
    """Staff link a ticket to the incident it is about (a suggested one, or any number)."""
    reference, other = request.path_params["reference"], form.get("incident", "").strip()
    engine, me = ctx.repository.engine, principal_of(request).name
    try:
        await run_in_threadpool(
            link_incidents, engine, ctx.incidents, reference, other, me, ctx.clock()
        )
    except LinkRefusedError as exc:
        return await _incident_page(ctx, pages, request, str(exc), 404 if exc.missing else 400)
    return see_other(f"/incidents/{reference}#links")


async def _answer_verification(
    ctx: ApiContext,
    knowledge: KnowledgeService,
    pages: Pages,
    request: Request,
    form: dict[str, str],
) -> Response:
    """The customer's "fixed" or "still broken" on a verifying ticket (as its signed links
    would answer), or the page with the reason."""
    reference = request.path_params["reference"]
    me = principal_of(request)
    if ctx.scopes.scope(me) is None:  # staff do not answer for the customer
        refusal = "the customer answers this; staff close or reopen the ticket instead"
        return await _incident_page(ctx, pages, request, refusal, 409)
    try:
        answer = answer_from_form(form, me.name, ctx.clock())
        found = await run_in_threadpool(ctx.reader.get, reference)
        if found is None or found.id is None:
            return pages.render(request, "missing.html", 404, what=reference)
        engine = ctx.repository.engine
        await run_in_threadpool(apply_answer, engine, ctx.incidents, found.id, answer)
    except FormError as exc:
        return await _incident_page(ctx, pages, request, str(exc), 400)
    except AnswerRefusedError as exc:
        return await _incident_page(ctx, pages, request, str(exc), 409)
    return see_other(f"/incidents/{found.number}#timeline")


async def _record_root_cause(
    ctx: ApiContext,
    knowledge: KnowledgeService,
    pages: Pages,
    request: Request,
    form: dict[str, str],
) -> Response:
    """The root-cause form: stored (replacing an earlier one), or the page with the reason."""
    reference = request.path_params["reference"]
    try:
        cause = root_cause_from_form(form, principal_of(request).name)
        await run_in_threadpool(knowledge.record_root_cause, reference, cause)
    except IncidentNotFoundError:
        return pages.render(request, "missing.html", 404, what=reference)
    except FormError as exc:
        return await _incident_page(ctx, pages, request, str(exc), 400)
    return see_other(f"/incidents/{reference}#root-cause")


# The incident page's forms that are no lifecycle action, by the verb of their path.
OWN_FORMS = {
    ROOT_CAUSE: _record_root_cause,
    ANSWER: _answer_verification,  # the customer's "fixed" or "still broken"
    LINK: _link_incident,
}


def static_routes() -> list[Route]:
    """One GET route per vendored file (with ETag and Last-Modified from StaticFiles)."""
    files = StaticFiles(directory=STATIC_DIR)

    def serve(name: str) -> Route:
        async def endpoint(request: Request) -> Response:
            response = await files.get_response(name, request.scope)
            response.headers["Cache-Control"] = "public, max-age=86400"
            return response

        return Route(f"/static/{name}", endpoint, methods=["GET"])

    return [serve(name) for name in STATIC_FILES]


async def _incident_page(
    ctx: ApiContext, pages: Pages, request: Request, message: str, status: int
) -> Response:
    reference = request.path_params["reference"]
    reading = ctx.scopes.incidents(principal_of(request))
    found = await run_in_threadpool(reading.get, reference)
    if found is None or found.id is None:
        return pages.render(request, "missing.html", 404, what=reference)
    customer = ctx.scopes.scope(principal_of(request)) is not None
    shown = await run_in_threadpool(page_context, ctx, found, reading, customer)
    shown["message"] = message
    if customer:
        # A customer gets the forms of the verbs open to it (CUSTOMER_ACTIONS), no others.
        verbs = CUSTOMER_ACTIONS[("POST", "/incidents/{reference}/{action}")]
        shown.update(allowed=[a for a in shown["allowed"] if a in verbs], customer_acts=True)
    return pages.render(request, "incident.html", status, **shown)

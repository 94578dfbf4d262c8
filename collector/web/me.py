"""The "who am I" page: name, role, customer, and the console language and time zone stored
with the user (a switch that follows the person from laptop to phone)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collector.api.access import principal_of
from collector.api.context import ApiContext
from collector.api.errors import see_other
from collector.auth.roles import Principal
from collector.web.i18n import LANGUAGES
from collector.web.pages import Pages, RememberLanguage, expired_form, form_csrf_ok, read_form
from collector.web.preferences import USER_KINDS, PreferenceError, Preferences, store
from collector.web.zones import known_zones

# Offered first in the zone list: where most of our users are.
COMMON_ZONES = (
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
)


def remember_language(ctx: ApiContext) -> RememberLanguage:
    """What Pages calls when a signed-in person uses the language switch."""

    def remember(me: Principal, lang: str) -> None:
        store(ctx.access, me, Preferences(lang, me.time_zone))

    return remember


def me_routes(ctx: ApiContext, pages: Pages) -> list[Route]:
    """GET /me shows, POST /me stores the preferences (a form with the session's CSRF)."""

    def show(request: Request, status: int = 200, message: str = "") -> Response:
        me = principal_of(request)
        return pages.render(
            request,
            "me.html",
            status,
            message=message,
            saved=request.query_params.get("saved") == "1",
            has_preferences=me.kind in USER_KINDS,
            language_choices=[(code, name) for code, (name, _tag) in LANGUAGES.items()],
            common_zones=COMMON_ZONES,
            zones=known_zones(),
        )

    async def page(request: Request) -> Response:
        return show(request)

    async def save(request: Request) -> Response:
        form = await read_form(request)
        me = principal_of(request)
        if not form_csrf_ok(me, form):
            return expired_form(pages, request)
        wanted = Preferences(form.get("language") or None, form.get("time_zone") or None)
        try:
            await run_in_threadpool(store, ctx.access, me, wanted)
        except PreferenceError as exc:
            return show(request, 400, str(exc))
        # The next page is rendered in the new language even over an older cookie.
        return see_other(
            f"/me?saved=1&lang={wanted.language}" if wanted.language else "/me?saved=1"
        )

    return [Route("/me", page, methods=["GET"]), Route("/me", save, methods=["POST"])]

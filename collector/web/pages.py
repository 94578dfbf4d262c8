"""Rendering console pages: one Jinja environment per language, the shared page context, the
language cookie, and reading and checking the console's forms."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from collector.auth.roles import Principal, PrincipalKind, Role, grants
from collector.web.i18n import (
    LANG_COOKIE,
    LANGUAGES,
    Durations,
    choose_language,
    iso_text,
    load_translations,
)
from collector.web.zones import LocalTimes, choose_zone

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
MAX_FORM_BYTES = 64 * 1024
LANG_COOKIE_SECONDS = 365 * 86400


def static_version(directory: Path = STATIC_DIR) -> str:
    """A digest of the vendored files, put in their URLs so a new release is never served
    from a stale browser cache."""
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


# Stores a signed-in user's language when it is chosen with the switch.
RememberLanguage = Callable[[Principal, str], None]


class Pages:
    """Renders a page template in the request's language and time zone with the context every
    page has."""

    def __init__(
        self, clock: Callable[[], float], remember_language: RememberLanguage | None = None
    ) -> None:
        self._clock = clock
        self._remember_language = remember_language
        self._translations = load_translations()
        self._environments = {lang: self._environment(lang) for lang in self._translations}
        self._version = static_version()

    def _environment(self, lang: str) -> Environment:
        environment = Environment(
            loader=FileSystemLoader(WEB_DIR / "templates"),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
        )
        environment.install_gettext_translations(  # type: ignore[attr-defined]
            self._translations[lang], newstyle=True
        )
        durations = Durations(self._translations[lang])
        environment.globals.update(
            span=durations.span,
            ago=durations.ago,
            left=durations.left,
            iso=iso_text,
        )
        return environment

    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """The page (or fragment) `template` for `request`, remembering a chosen language."""
        me: Principal | None = getattr(request.state, "principal", None)  # none when public
        lang, chosen = choose_language(request, me.language if me else None)
        if chosen and me is not None and me.language != lang:
            self._remember(me, lang)
        times = self.times(request)
        page = (
            self._environments[lang]
            .get_template(template)
            .render(
                me=me,
                can_act=me is not None and grants(me.role, Role.RESPONDER),
                lang=lang,
                lang_tag=LANGUAGES[lang][1],
                languages=[(c, n, switch_url(request, c)) for c, (n, _tag) in LANGUAGES.items()],
                path=request.url.path,
                now=self._clock(),
                at=times.at,
                zone=times.name,
                static=self._version,
                **context,
            )
        )
        response = HTMLResponse(page, status)
        if chosen:
            response.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=LANG_COOKIE_SECONDS,
                samesite="lax",
                secure=request.url.scheme == "https",
            )
        return response

    def _remember(self, me: Principal, lang: str) -> None:
        """The switch of a signed-in person sticks: stored with the user, not only a cookie."""
        if self._remember_language is not None and me.kind is PrincipalKind.SESSION:
            self._remember_language(me, lang)

    def times(self, request: Request) -> LocalTimes:
        """Times in the zone of the request's reader."""
        return LocalTimes(choose_zone(request, getattr(request.state, "principal", None)))

    def language(self, request: Request) -> str:
        """The request's language (as render chooses it)."""
        me: Principal | None = getattr(request.state, "principal", None)
        return choose_language(request, me.language if me else None)[0]

    def gettext(self, request: Request) -> Callable[[str], str]:
        """The request's language's translation of a message."""
        return self._translations[self.language(request)].gettext


def switch_url(request: Request, lang: str) -> str:
    """This page's URL (path and query) in another language."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return f"{request.url.path}?{urlencode([*query, ('lang', lang)])}"


async def read_form(request: Request, max_fields: int = 20) -> dict[str, str]:
    """An url-encoded form of at most MAX_FORM_BYTES; larger or other bodies read as empty."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=max_fields)
    except ValueError:  # more fields than any of our forms has
        return {}
    return {name: values[0] for name, values in fields.items()}


def form_csrf_ok(principal: Principal, form: dict[str, str]) -> bool:
    """A signed-in browser's form carries its session's CSRF token; a bearer token or a
    password needs none (nothing ambient for another site to borrow)."""
    if principal.kind is not PrincipalKind.SESSION:
        return True
    sent = form.get("csrf", "")
    return bool(sent and principal.csrf) and hmac.compare_digest(sent, principal.csrf or "")


def expired_form(pages: Pages, request: Request) -> Response:
    """What a form with a missing or stale CSRF token gets."""
    return pages.render(request, "expired.html", 403)

"""The console's languages: gettext catalogues, the language of a request, times and durations.

Catalogues are Babel `.po` files under `locale/<lang>/LC_MESSAGES/console.po`, read when the
console starts (no compile step, nothing generated to commit). English is the source language.
"""

from __future__ import annotations

import gettext
import io
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

LANG_COOKIE = "lang"
DEFAULT_LANGUAGE = "en"
# Each language: its name in the switch, and its BCP 47 tag for <html lang>.
LANGUAGES = {"en": ("English", "en"), "zh": ("中文", "zh-Hans")}
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "console"


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extractors look for
    """Mark a word for the catalogue; it is translated where it is shown."""
    return message


# Words that reach templates as data (states, health, clock names): listed so the catalogue
# extractor finds them.
WORDS = (
    *(N_("triggered"), N_("acknowledged"), N_("resolved"), N_("verifying"), N_("closed")),
    *(N_("waiting"), N_("wait"), N_("resume")),
    *(N_("hardware"), N_("software"), N_("network"), N_("configuration"), N_("external")),
    *(N_("active"), N_("all"), N_("ack"), N_("resolve"), N_("update")),
    *(N_("ok"), N_("warning"), N_("breached"), N_("met")),
    *(N_("critical"), N_("probe-failing"), N_("silent")),
    *(N_("silence"), N_("maintenance")),
    *(N_("newest"), N_("oldest"), N_("priority")),
    *(N_("refused"), N_("failed"), N_("skipped")),  # a diagnostic's outcome
)


def load_translations(directory: Path = LOCALE_DIR) -> dict[str, gettext.NullTranslations]:
    """Each language's translations (English: the messages as written)."""
    found: dict[str, gettext.NullTranslations] = {DEFAULT_LANGUAGE: gettext.NullTranslations()}
    for lang in LANGUAGES:
        path = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        if lang == DEFAULT_LANGUAGE or not path.is_file():
            continue
        with path.open("rb") as source:
            catalog = read_po(source, locale=lang, domain=DOMAIN)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        found[lang] = gettext.GNUTranslations(compiled)
    return found


def choose_language(request: Request, stored: str | None = None) -> tuple[str, bool]:
    """The request's language and whether it was asked for now (?lang=, to be remembered):
    ?lang=, else the user's `stored` choice, else the `lang` cookie, else the best of
    Accept-Language, else English."""
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked, True
    if stored in LANGUAGES:
        return str(stored), False
    remembered = request.cookies.get(LANG_COOKIE, "")
    if remembered in LANGUAGES:
        return remembered, False
    return from_accept_language(request.headers.get("accept-language", "")), False


def from_accept_language(header: str) -> str:
    """The supported language the header prefers most (zh-CN, zh-Hans, zh;q=0.8 all mean zh)."""
    best, best_weight = DEFAULT_LANGUAGE, 0.0
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        # Earlier entries win ties, as the header lists them in order of preference.
        if primary in LANGUAGES and weight - position * 1e-6 > best_weight:
            best, best_weight = primary, weight - position * 1e-6
    return best


def iso_text(unix_seconds: float | None) -> str:
    """A time for <time datetime=...>."""
    if unix_seconds is None:
        return ""
    return datetime.fromtimestamp(unix_seconds, UTC).isoformat().replace("+00:00", "Z")


class Durations:
    """Durations in a language's words: "2 h 5 min", "12 min ago", "4 min left"."""

    def __init__(self, translations: gettext.NullTranslations) -> None:
        self._ = translations.gettext

    def span(self, seconds: float) -> str:
        """At most two units, largest first: 45 s, 12 min, 2 h 5 min, 3 d 4 h."""
        _ = self._
        total = max(0, round(abs(seconds)))
        days, rest = divmod(total, 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        if total < 60:
            return _("%(n)d s") % {"n": total}
        units = [(days, _("%(n)d d")), (hours, _("%(n)d h")), (minutes, _("%(n)d min"))]
        first = next(i for i, (n, _unit) in enumerate(units) if n)
        return " ".join(unit % {"n": n} for n, unit in units[first : first + 2] if n)

    def ago(self, then: float | None, now: float) -> str:
        """How long ago `then` was ("" when unknown)."""
        if then is None:
            return ""
        return self._("%(duration)s ago") % {"duration": self.span(now - then)}

    def left(self, seconds: float | None) -> str:
        """Time left on a clock, or how far past due it is."""
        if seconds is None:
            return ""
        if seconds < 0:
            return self._("%(duration)s overdue") % {"duration": self.span(seconds)}
        return self._("%(duration)s left") % {"duration": self.span(seconds)}

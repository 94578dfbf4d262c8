"""A user's console preferences (language, time zone): checking them and storing them, shared
by the /me page and PATCH /api/v1/whoami."""

from __future__ import annotations

from dataclasses import dataclass

from collector.auth.roles import Principal, PrincipalKind
from collector.auth.service import AccessService
from collector.web.i18n import LANGUAGES
from collector.web.zones import zone_named

# Only people who sign in have preferences; an API token is no user.
USER_KINDS = frozenset({PrincipalKind.SESSION, PrincipalKind.PASSWORD})


class PreferenceError(ValueError):
    """A preference that cannot be stored, with the reason."""


@dataclass(frozen=True)
class Preferences:
    """None leaves the choice to the browser (Accept-Language, its own time zone)."""

    language: str | None
    time_zone: str | None


def checked(me: Principal, wanted: Preferences) -> Preferences:
    """`wanted`, or PreferenceError naming what is wrong."""
    if me.kind not in USER_KINDS:
        raise PreferenceError(f"{me.name!r} is an API token; preferences belong to users")
    if wanted.language is not None and wanted.language not in LANGUAGES:
        known = ", ".join(LANGUAGES)
        raise PreferenceError(f"unknown language {wanted.language!r}; choose one of {known}")
    if wanted.time_zone is not None and zone_named(wanted.time_zone) is None:
        raise PreferenceError(
            f"unknown time zone {wanted.time_zone[:64]!r}; give an IANA name such as "
            "Asia/Shanghai, Europe/Berlin or UTC"
        )
    return wanted


def store(access: AccessService, me: Principal, wanted: Preferences) -> Preferences:
    """Check and store `wanted` for the user `me` (call it off the event loop)."""
    ok = checked(me, wanted)
    access.set_preferences(me.name, ok.language, ok.time_zone)
    return ok

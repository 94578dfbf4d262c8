"""Roles and the principal a request acts as: the vocabulary of access control."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a person or token may do.

    viewer reads; responder also acts on incidents; admin also manages users, tokens and
    configuration. customer is apart: it sees and acts only on its own customer's hosts and
    tickets, and is granted nothing a staff role needs.
    """

    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"
    CUSTOMER = "customer"


_STAFF_RANK = {Role.VIEWER: 1, Role.RESPONDER: 2, Role.ADMIN: 3}


def grants(have: Role, need: Role) -> bool:
    """Whether a holder of `have` may do what needs `need` (admin > responder > viewer)."""
    if have is Role.CUSTOMER or need is Role.CUSTOMER:
        return have is need
    return _STAFF_RANK[have] >= _STAFF_RANK[need]


class PrincipalKind(StrEnum):
    """How the principal proved who it is."""

    SESSION = "session"
    TOKEN = "token"
    CONFIG_TOKEN = "config-token"
    PASSWORD = "password"
    CLI = "cli"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the name is the actor on timelines and in the audit log."""

    name: str
    role: Role
    kind: PrincipalKind
    customer: str | None = None
    csrf: str | None = None  # the session's CSRF token, for session principals only
    language: str | None = None  # a user's chosen console language and time zone
    time_zone: str | None = None

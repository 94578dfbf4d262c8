"""Agent authentication: bearer tokens compared by SHA-256 digest, in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from collector.config import AgentToken, ApiToken


@dataclass(frozen=True)
class AgentIdentity:
    """Who sent a report, and which hosts it may speak for."""

    name: str
    hosts: str
    max_hosts: int | None = None
    reports_per_second: float | None = None

    def may_report_for(self, host: str) -> bool:
        """True when `host` matches this token's host glob."""
        return fnmatchcase(host, self.hosts)


class TokenBook:
    """The accepted tokens; only their digests are kept in memory."""

    def __init__(self, tokens: Iterable[AgentToken | ApiToken]) -> None:
        self._digests: list[tuple[bytes, AgentIdentity]] = [
            (_digest_of(token), _identity(token)) for token in tokens
        ]

    def identify(self, authorization: str | None) -> AgentIdentity | None:
        """The identity behind an `Authorization: Bearer ...` header, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = hashlib.sha256(token.strip().encode()).digest()
        found = None
        for known, identity in self._digests:
            if hmac.compare_digest(known, digest):
                found = identity
        return found


def _identity(token: AgentToken | ApiToken) -> AgentIdentity:
    if isinstance(token, AgentToken):
        return AgentIdentity(token.name, token.hosts, token.max_hosts, token.reports_per_second)
    return AgentIdentity(token.name, "*")


def _digest_of(token: AgentToken | ApiToken) -> bytes:
    if token.token_sha256:
        return bytes.fromhex(token.token_sha256.strip())
    secret = token.secret()
    assert secret is not None
    return hashlib.sha256(secret.encode()).digest()

"""Taking alerts from integrations: who is posting (its token), and the incident writes.

The writes go through the incident writer's queue, so an integration's alerts are stored in
order with the rules' own signals (one writer thread, as SQLite wants).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

from collector.config import IntegrationToken
from collector.incidents.events import RuleCleared, RuleFired
from collector.incidents.model import Incident
from collector.integrations.alerts import ExternalAlert, to_event

log = logging.getLogger(__name__)

T = TypeVar("T")
Submit = Callable[[Callable[[], T]], Future[T]]
Apply = Callable[[RuleFired | RuleCleared], Incident | None]


@dataclass(frozen=True)
class Taken:
    """What one alert did: the incident it opened, updated or resolved (None: no change)."""

    fingerprint: str
    firing: bool
    incident: Incident | None


class IntegrationBook:
    """The integration tokens; only their digests are kept in memory."""

    def __init__(self, integrations: Iterable[IntegrationToken]) -> None:
        self._digests = [(_digest(i), i) for i in integrations]

    def identify(self, authorization: str | None, kind: str) -> IntegrationToken | None:
        """The integration of `kind` behind `Authorization: Bearer ...`, or None."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        digest = hashlib.sha256(token.strip().encode()).digest()
        found = None
        for known, integration in self._digests:
            if hmac.compare_digest(known, digest) and integration.kind == kind:
                found = integration
        return found


class AlertIntake:
    """Turns an integration's alerts into incident events, stored in the writer's order."""

    def __init__(
        self,
        book: IntegrationBook,
        apply: Apply,
        submit: Submit[list[Taken]],
        on_taken: Callable[[IntegrationToken, list[Taken]], None] = lambda _i, _t: None,
    ) -> None:
        self.book = book
        self._apply = apply
        self._submit = submit
        self._on_taken = on_taken

    def take(self, integration: IntegrationToken, alerts: Sequence[ExternalAlert]) -> list[Taken]:
        """Store each alert's event in order (runs on the writer's thread)."""
        taken = [
            Taken(a.fingerprint, a.firing, self._apply(to_event(a, integration))) for a in alerts
        ]
        self._on_taken(integration, taken)
        return taken

    def submit(
        self, integration: IntegrationToken, alerts: Sequence[ExternalAlert]
    ) -> Future[list[Taken]]:
        """Queue `take` behind the writes already waiting."""
        log.info("%s %s: %d alert(s)", integration.kind, integration.name, len(alerts))
        return self._submit(lambda: self.take(integration, alerts))


def _digest(integration: IntegrationToken) -> bytes:
    if integration.token_sha256:
        return bytes.fromhex(integration.token_sha256.strip())
    secret = integration.secret()
    assert secret is not None
    return hashlib.sha256(secret.encode()).digest()

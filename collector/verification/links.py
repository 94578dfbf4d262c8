"""Signed verification links: the incident, the answer and the expiry, HMAC-SHA256 signed with
the collector's secret. The signature is the credential; no login is needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["fixed", "broken"]
VERDICTS: tuple[Verdict, ...] = ("fixed", "broken")


class LinkError(Exception):
    """A link that does not verify (forged, altered) or has expired."""

    def __init__(self, reason: str, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


@dataclass(frozen=True)
class LinkClaim:
    """What a valid link says: this incident, this answer, valid until `expires`."""

    incident_id: int
    number: str
    verdict: Verdict
    expires: float
    contact: str


class LinkSigner:
    """Makes and checks tokens `payload.signature` (both base64url)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the verification secret needs at least 32 bytes")
        self._secret = secret

    def sign(self, claim: LinkClaim) -> str:
        """The token for `claim`."""
        body = {
            "i": claim.incident_id,
            "n": claim.number,
            "v": claim.verdict,
            "e": int(claim.expires),
            "c": claim.contact,
        }
        payload = _encode(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{_encode(self._mac(payload))}"

    def check(self, token: str, now: float) -> LinkClaim:
        """The claim of a genuine, unexpired token; LinkError otherwise."""
        payload, _, signature = token.partition(".")
        try:
            given = base64.urlsafe_b64decode(_padded(signature))
        except ValueError as exc:
            raise LinkError("the link's signature is malformed") from exc
        if not hmac.compare_digest(given, self._mac(payload)):
            raise LinkError("the link's signature does not match")
        body = json.loads(base64.urlsafe_b64decode(_padded(payload)))
        claim = LinkClaim(int(body["i"]), str(body["n"]), body["v"], float(body["e"]), body["c"])
        if claim.verdict not in VERDICTS:
            raise LinkError(f"the link's answer {claim.verdict!r} is unknown")
        if now > claim.expires:
            raise LinkError("the link has expired", expired=True)
        return claim

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _padded(text: str) -> bytes:
    return (text + "=" * (-len(text) % 4)).encode()

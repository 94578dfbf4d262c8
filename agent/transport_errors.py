"""A failed POST to the collector in a few words, with the fix that fits what was configured.

The HTTP library's own text ("HTTPConnectionPool(host=...): Max retries exceeded with url: ...
(Caused by NewConnectionError(...))") runs to 300 characters and names no fix. The root cause
is found by walking the exception chain down to the operating system's or TLS library's error.
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ssl

_DETAIL_LIMIT = 120


@dataclass(frozen=True)
class FailureContext:
    """What the agent was configured with, so advice names the setting to change."""

    url: str
    timeout_seconds: float
    ca_file: str | None = None
    client_cert_file: str | None = None
    ca_bundle_env: str | None = None  # "SSL_CERT_FILE=/etc/...", when the environment chose

    @property
    def scheme(self) -> str:
        """http or https."""
        return urlsplit(self.url).scheme


def causes(exc: BaseException) -> list[BaseException]:
    """`exc` and everything it was raised from, outermost first (cycles cut)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
        if current is None and chain[-1].args and isinstance(chain[-1].args[0], BaseException):
            current = chain[-1].args[0]  # urllib3 keeps its cause in args, not in the chain
    return chain


def describe_failure(exc: BaseException, context: FailureContext) -> str:
    """One short line: what went wrong talking to the collector, and what to do about it."""
    chain = causes(exc)
    for cause in chain:  # a CA or certificate file that would not load: that message says it
        if type(cause).__name__ == "TlsSetupError":
            return str(cause)
    for cause in reversed(chain):  # otherwise the deepest cause says the most
        text = _describe_cause(cause, context)
        if text:
            return text
    for cause in chain:
        if isinstance(cause, TimeoutError) or "timed out" in str(cause).lower():
            return _timeout(chain, context)
    return _short(str(chain[-1]) or type(chain[-1]).__name__)


def _describe_cause(cause: BaseException, context: FailureContext) -> str | None:
    tls = _describe_tls(cause, context)
    if tls is not None:
        return tls
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused; is the collector running, and listening on that port?"
    if isinstance(cause, socket.gaierror):
        host = urlsplit(context.url).hostname
        return f"host name {host!r} not found ({cause.strerror or cause}): check `collector`"
    closed = isinstance(cause, ConnectionResetError | BrokenPipeError)
    if closed or type(cause).__name__ in ("RemoteDisconnected", "BadStatusLine"):
        return _reset(context)
    return None


def _describe_tls(cause: BaseException, context: FailureContext) -> str | None:
    tls = sys.modules.get("ssl")  # not loaded (no https:// collector): no TLS error either
    if tls is not None and isinstance(cause, tls.SSLCertVerificationError):
        return _certificate_refused(cause, context)
    if tls is not None and isinstance(cause, tls.SSLError):
        return _tls_failed(cause, context)
    return None


def _timeout(chain: list[BaseException], context: FailureContext) -> str:
    seconds = f"{context.timeout_seconds:g} s (request_timeout)"
    if any("connect" in type(c).__name__.lower() for c in chain):
        return f"no connection within {seconds}: a firewall, or the collector's host is down"
    return f"no answer within {seconds}: the collector is overloaded or stuck"


def _reset(context: FailureContext) -> str:
    if context.scheme == "http":
        return "connection closed without an answer; does the collector expect https://?"
    return "connection closed without an answer" + _client_certificate_hint(context)


def _client_certificate_hint(context: FailureContext) -> str:
    # A collector refusing a client certificate (or its absence) just closes the connection.
    if context.client_cert_file:
        return (
            f"; if the collector checks client certificates, client_cert_file "
            f"{context.client_cert_file} must be issued by a CA in its tls.client_ca_file"
        )
    return (
        "; if the collector requires client certificates, set client_cert_file and client_key_file"
    )


def _certificate_refused(cause: ssl.SSLCertVerificationError, context: FailureContext) -> str:
    reason = cause.verify_message or cause.reason or "refused"
    text = f"the collector's TLS certificate is not trusted ({reason}; CERTIFICATE_VERIFY_FAILED): "
    if "expired" in reason:
        return text + "renew it on the collector (tls.cert_file), or correct this host's clock"
    if "hostname" in reason.lower() or "ip address mismatch" in reason.lower():
        host = urlsplit(context.url).hostname
        return text + f"it does not name {host}; use a name it holds in `collector`"
    if context.ca_file:
        where = f"the CA in ca_file {context.ca_file}"
        return text + f"it is not issued by {where}; point ca_file at the CA that issued it"
    if context.ca_bundle_env:
        where = f"a CA in {context.ca_bundle_env}"
        return text + f"it is not issued by {where}; set ca_file to the collector's CA"
    return text + "the system's CAs do not know its issuer; set ca_file to the collector's CA (PEM)"


def _tls_failed(cause: ssl.SSLError, context: FailureContext) -> str:
    reason = (cause.reason or str(cause)).lower()
    if "wrong_version_number" in reason or "wrong version number" in reason:
        return "TLS handshake failed; the collector does not speak https on that port: use http://"
    if "certificate" in reason and "alert" in reason:  # the collector refused our certificate
        if context.client_cert_file:
            return (
                f"the collector refused client_cert_file {context.client_cert_file} ({reason}): "
                "it must be issued by a CA in the collector's tls.client_ca_file"
            )
        return (
            f"the collector wants a client certificate ({reason}): set client_cert_file "
            "and client_key_file"
        )
    if "eof" in reason:
        return "the collector closed the TLS handshake" + _client_certificate_hint(context)
    return f"TLS handshake failed ({_short(str(cause))})"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 3] + "..."

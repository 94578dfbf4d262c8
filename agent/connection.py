"""One kept-alive HTTP/1.1 connection to the collector, on the standard library's http.client.

requests and urllib3 cost the agent some 9 MiB of memory and half its CPU per report for one
POST to one address; http.client does that with a kept connection. `ssl` is imported only for
an https:// collector. Proxies come from the environment once (http_proxy, https_proxy,
no_proxy): an http:// collector is reached through the proxy with absolute URLs, an https://
one through a CONNECT tunnel. Verification uses `ca_file`, else REQUESTS_CA_BUNDLE or
SSL_CERT_FILE, else the system's CA store.
"""

from __future__ import annotations

import http.client
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ssl

_ANSWER_LIMIT = 1 << 16  # a collector's answer is an envelope of a few hundred bytes
# Errors of a kept connection the collector closed while it was idle: worth one fresh try.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class ConnectError(OSError):
    """The connection (TCP, proxy tunnel or TLS handshake) could not be made."""


class ExchangeError(OSError):
    """The request was sent, or being sent, and no complete answer came back."""


@dataclass(frozen=True)
class Answer:
    """The collector's answer: status, reason, headers (lower-case names) and body text."""

    status: int
    reason: str
    headers: Mapping[str, str]
    text: str


@dataclass(frozen=True)
class TlsFiles:
    """Files for TLS: the CA bundle to verify by, and the client certificate and key."""

    ca_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None


CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def ca_bundle_variable(environ: Mapping[str, str]) -> str | None:
    """Which variable names the CA bundle ("SSL_CERT_FILE=/etc/ssl/..."), if one does."""
    return next((f"{n}={environ[n]}" for n in CA_BUNDLE_VARIABLES if environ.get(n)), None)


def ca_bundle_from(environ: Mapping[str, str]) -> str | None:
    """The CA bundle the environment names (REQUESTS_CA_BUNDLE, then SSL_CERT_FILE), if any."""
    return next((environ[n] for n in CA_BUNDLE_VARIABLES if environ.get(n)), None)


def tls_context(files: TlsFiles, environ: Mapping[str, str]) -> ssl.SSLContext:
    """A verifying client context: the CA file, else the environment's bundle, else the system's."""
    import ssl

    context = ssl.create_default_context(cafile=files.ca_file or ca_bundle_from(environ))
    if files.client_cert_file:
        context.load_cert_chain(files.client_cert_file, files.client_key_file or None)
    return context


def proxy_for(url: str, environ: Mapping[str, str]) -> str | None:
    """The proxy URL the environment sets for `url`, or None (none set, or no_proxy says so)."""
    parts = urlsplit(url)
    lowered = {key.lower(): value for key, value in environ.items()}
    proxy = lowered.get(f"{parts.scheme}_proxy") or lowered.get("all_proxy")
    if not proxy:
        return None
    no_proxy = lowered.get("no_proxy", "")
    host = parts.hostname or ""
    for entry in filter(None, (item.strip() for item in no_proxy.split(","))):
        if entry == "*" or host == entry.lstrip(".") or host.endswith("." + entry.lstrip(".")):
            return None
    return proxy if "://" in proxy else f"http://{proxy}"


class CollectorConnection:
    """POSTs to one URL over one kept connection, opened again after any failure."""

    def __init__(
        self,
        url: str,
        timeout: float,
        tls: TlsFiles | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        parts = urlsplit(url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._proxy = proxy_for(url, environ)
        self._context = tls_context(tls or TlsFiles(), environ) if self._https else None
        self._connection: http.client.HTTPConnection | None = None
        self._target = url if self._proxy and not self._https else self._path

    def post(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Send one POST and read the whole answer; raise ConnectError or ExchangeError."""
        reused = self._connection is not None
        try:
            return self._exchange(body, headers)
        except ExchangeError as exc:
            if not (reused and isinstance(exc.__cause__, _STALE)):
                raise
        return self._exchange(body, headers)  # the kept connection had gone stale: once more

    def close(self) -> None:
        """Close the kept connection, if any."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _exchange(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        connection = self._connect()
        try:
            connection.request("POST", self._target, body, dict(headers))
            response = connection.getresponse()
            text = response.read(_ANSWER_LIMIT).decode("utf-8", "replace")
            if response.will_close or not response.isclosed():
                self.close()  # said it closes, or sent more than we read: start afresh
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ExchangeError(str(exc) or type(exc).__name__) from exc
        answer_headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, response.reason, answer_headers, text)

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is not None:
            return self._connection
        connection = self._new_connection()
        try:
            connection.connect()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise ConnectError(str(exc) or type(exc).__name__) from exc
        self._connection = connection
        return connection

    def _new_connection(self) -> http.client.HTTPConnection:
        if self._proxy is None:
            return self._plain_or_tls(self._host, self._port)
        proxy = urlsplit(self._proxy)
        connection = self._plain_or_tls(proxy.hostname or "", proxy.port or 8080)
        if self._https:
            connection.set_tunnel(self._host, self._port)
        return connection

    def _plain_or_tls(self, host: str, port: int) -> http.client.HTTPConnection:
        if self._context is not None:
            return http.client.HTTPSConnection(
                host, port, timeout=self._timeout, context=self._context
            )
        return http.client.HTTPConnection(host, port, timeout=self._timeout)

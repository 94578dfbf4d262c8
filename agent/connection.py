"""One kept-alive HTTP/1.1 connection to the collector, on a plain socket.

requests and urllib3 cost the agent some 9 MiB of memory and half its CPU per report for one
POST to one address; even http.client imports `ssl` (4 MiB) for every agent. Here the request
is written and the answer read on a socket, and `ssl` is imported only for an https://
collector. Proxies come from the environment once (http_proxy, https_proxy, no_proxy): an
http:// collector is reached through the proxy with absolute URLs, an https:// one through a
CONNECT tunnel. Verification uses `ca_file`, else REQUESTS_CA_BUNDLE or SSL_CERT_FILE, else the
system's CA store.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import ssl

_ANSWER_LIMIT = 1 << 16  # a collector's answer is an envelope of a few hundred bytes
_LINE_LIMIT = 8192
# Errors of a kept connection the collector closed while it was idle: worth one fresh try.
_STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class ConnectError(OSError):
    """The connection (TCP, proxy tunnel or TLS handshake) could not be made."""


class TlsSetupError(OSError):
    """The CA bundle or the client certificate could not be loaded; the message says which."""


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
    """A verifying client context: the CA file, else the environment's bundle, else the system's.

    Raises TlsSetupError naming the file and the setting when one cannot be loaded.
    """
    import ssl

    bundle = files.ca_file or ca_bundle_from(environ)
    where = (
        "ca_file"
        if files.ca_file
        else next(
            (name for name in CA_BUNDLE_VARIABLES if environ.get(name)), "the system's CA store"
        )
    )
    try:
        context = ssl.create_default_context(cafile=bundle)
    except (OSError, ValueError) as exc:
        raise TlsSetupError(f"cannot load {where} {bundle}: {_reason(exc)}") from exc
    if files.client_cert_file:
        try:
            context.load_cert_chain(files.client_cert_file, files.client_key_file or None)
        except (OSError, ValueError) as exc:
            key = f" with client_key_file {files.client_key_file}" if files.client_key_file else ""
            problem = f"cannot load client_cert_file {files.client_cert_file}{key}"
            raise TlsSetupError(f"{problem}: {_reason(exc)}") from exc
    return context


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)


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
        self._authority = parts.netloc.rpartition("@")[2]
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._proxy = proxy_for(url, environ)
        self._tls = tls or TlsFiles()
        self._environ = dict(environ)
        self._context: ssl.SSLContext | None = None  # made at the first https connection
        self._target = url if self._proxy and not self._https else path
        self._socket: socket.socket | None = None
        self._reader: IO[bytes] | None = None

    def post(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Send one POST and read the whole answer; raise ConnectError or ExchangeError."""
        reused = self._socket is not None
        try:
            return self._exchange(body, headers)
        except ExchangeError as exc:
            if not (reused and isinstance(exc.__cause__, _STALE)):
                raise
        return self._exchange(body, headers)  # the kept connection had gone stale: once more

    def close(self) -> None:
        """Close the kept connection, if any."""
        if self._reader is not None:
            self._reader.close()
        if self._socket is not None:
            self._socket.close()
        self._socket = self._reader = None

    def _exchange(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        connection, reader = self._connect()
        lines = [f"POST {self._target} HTTP/1.1", f"Host: {self._authority}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        try:
            head = ("\r\n".join(lines) + "\r\n\r\n").encode(
                "latin-1"
            )  # a token outside it fails here
            connection.sendall(head + body)
            answer, keep = read_answer(reader)
        except (OSError, ValueError) as exc:
            self.close()
            raise ExchangeError(str(exc) or type(exc).__name__) from exc
        if not keep:
            self.close()
        return answer

    def _connect(self) -> tuple[socket.socket, IO[bytes]]:
        if self._socket is not None and self._reader is not None:
            return self._socket, self._reader
        try:
            connection = self._open()
        except (OSError, ValueError) as exc:
            raise ConnectError(str(exc) or type(exc).__name__) from exc
        self._socket, self._reader = connection, connection.makefile("rb")
        return connection, self._reader

    def _open(self) -> socket.socket:
        if self._https and self._context is None:  # a CA file that will not load: say so first
            self._context = tls_context(self._tls, self._environ)
        if self._proxy is None:
            connection = socket.create_connection((self._host, self._port), self._timeout)
        else:
            proxy = urlsplit(self._proxy)
            address = (proxy.hostname or "", proxy.port or 8080)
            connection = socket.create_connection(address, self._timeout)
            if self._https:
                _tunnel(connection, f"{self._host}:{self._port}")
        if self._context is None:
            return connection
        try:
            return self._context.wrap_socket(connection, server_hostname=self._host)
        except BaseException:
            connection.close()
            raise


def _tunnel(connection: socket.socket, authority: str) -> None:
    """Ask an HTTP proxy for a tunnel to `authority` (CONNECT), or raise."""
    request = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n"
    try:
        connection.sendall(request.encode("latin-1"))
        with connection.makefile("rb") as reader:
            answer, _ = read_head(reader)
    except BaseException:
        connection.close()
        raise
    if answer[0] != 200:
        connection.close()
        raise ConnectionRefusedError(f"proxy refused the tunnel to {authority}: {answer[1]}")


def _line(reader: IO[bytes]) -> str:
    line = reader.readline(_LINE_LIMIT + 1)
    if len(line) > _LINE_LIMIT:
        raise ValueError("answer header line too long")
    return line.decode("latin-1").rstrip("\r\n")


def read_head(reader: IO[bytes]) -> tuple[tuple[int, str, str], dict[str, str]]:
    """((status, reason, version), headers) of one answer, skipping 1xx interim answers."""
    while True:
        status_line = _line(reader)
        if not status_line:
            raise ConnectionResetError("connection closed without an answer")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/") or not code.isdecimal():
            raise ValueError(f"not an HTTP answer: {status_line[:80]!r}")
        headers: dict[str, str] = {}
        while line := _line(reader):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if not 100 <= int(code) < 200:
            return (int(code), reason, version), headers


def read_answer(reader: IO[bytes]) -> tuple[Answer, bool]:
    """One whole answer, and whether the connection may be used again."""
    (status, reason, version), headers = read_head(reader)
    keep = headers.get("connection", "").lower() != "close" and version != "HTTP/1.0"
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _read_chunked(reader)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        body = reader.read(min(length, _ANSWER_LIMIT))
        if length > _ANSWER_LIMIT or len(body) < length:
            keep = False  # more than we read, or cut short: this connection is done
    elif status in (204, 304):
        body = b""
    else:
        body, keep = reader.read(_ANSWER_LIMIT), False  # the body runs until the close
    return Answer(status, reason, headers, body.decode("utf-8", "replace")), keep


def _read_chunked(reader: IO[bytes]) -> bytes:
    body = b""
    while size := int(_line(reader).split(";")[0] or "0", 16):
        if len(body) + size > _ANSWER_LIMIT:
            raise ValueError("answer body too long")
        body += reader.read(size)
        _line(reader)
    while _line(reader):  # trailers, up to the blank line
        pass
    return body

"""One check of one target, under its deadline: what it found, as a `CheckResult`.

Failures of the target (refused, timed out, no such name, a bad certificate) are results with
`up=False` and a short `outcome`, never exceptions: the probe reports them as samples. Only a
missing privilege for ICMP is raised, because the target was never checked at all.
"""

from __future__ import annotations

import errno
import socket
import ssl
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests

from agent.configfile import parse_duration
from agent.probes.network.icmp import IcmpPermissionError, Pinger
from agent.probes.network.settings import HttpTarget, IcmpTarget, TcpTarget

Timer = Callable[[], float]

_SOCKET_MODULES = ("builtins", "socket", "ssl")


@dataclass(frozen=True)
class CheckResult:
    """What one check saw.

    outcome: "ok", "timeout", "refused", "unreachable", "dns_error", "tls_error",
        "http_status" (answered with an unexpected status) or "error".
    latency_seconds: ICMP median round trip, TCP handshake, or HTTP time to the response headers.
    certificate_not_after: a TLS certificate's expiry as a Unix time (https only).
    """

    up: bool
    outcome: str
    detail: str = ""
    latency_seconds: float | None = None
    loss_ratio: float | None = None
    status_code: int | None = None
    certificate_not_after: float | None = None


def failure(outcome: str, exc: BaseException | str) -> CheckResult:
    """A target that did not answer as it should."""
    return CheckResult(up=False, outcome=outcome, detail=str(exc) or type(exc).__name__)


def classify_os_error(exc: OSError) -> CheckResult:
    """Socket errors by what an operator would do about them."""
    if isinstance(exc, socket.gaierror):
        return failure("dns_error", exc)
    if isinstance(exc, TimeoutError):
        return failure("timeout", exc)
    if isinstance(exc, ConnectionRefusedError):
        return failure("refused", exc)
    if isinstance(exc, ssl.SSLError):
        return failure("tls_error", exc)
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return failure("unreachable", exc)
    return failure("error", exc)


def resolve(host: str, port: int = 0) -> tuple[int, str]:
    """(family, address) of `host`'s first address; raises socket.gaierror."""
    family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    return family, str(sockaddr[0])


def check_icmp(target: IcmpTarget, deadline: float, pinger: Pinger) -> CheckResult:
    """`count` echoes; up when any is answered. IcmpPermissionError propagates."""
    try:
        family, address = resolve(target.host)
        echoes = pinger.ping(
            address, family, target.count, parse_duration(target.interval), deadline
        )
    except IcmpPermissionError:
        raise
    except OSError as exc:
        return classify_os_error(exc)
    if not echoes.round_trips:
        result = failure("timeout", f"no answer to {echoes.sent} echo requests")
        return replace(result, loss_ratio=1.0)
    return CheckResult(
        up=True,
        outcome="ok",
        latency_seconds=statistics.median(echoes.round_trips),
        loss_ratio=echoes.loss_ratio,
    )


def check_tcp(target: TcpTarget, deadline: float, timer: Timer) -> CheckResult:
    """Connect and close; latency is the handshake alone (name resolution excluded)."""
    try:
        family, address = resolve(target.host, target.port)
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(max(0.001, deadline - timer()))
            started = timer()
            sock.connect((address, target.port))
            latency = timer() - started
    except OSError as exc:
        return classify_os_error(exc)
    return CheckResult(up=True, outcome="ok", latency_seconds=latency)


def check_http(target: HttpTarget, deadline: float, timer: Timer) -> CheckResult:
    """One request; for https also the certificate's expiry, even when verification failed."""
    result = _request(target, deadline, timer)
    parts = urlsplit(target.url)
    if parts.scheme != "https" or result.outcome not in ("ok", "http_status", "tls_error"):
        return result
    host, port = parts.hostname or "", parts.port or 443
    try:
        not_after = read_certificate_not_after(host, port, max(0.001, deadline - timer()))
    except (OSError, ValueError):
        return result  # the request's own outcome already says what went wrong
    return replace(result, certificate_not_after=not_after)


def _request(target: HttpTarget, deadline: float, timer: Timer) -> CheckResult:
    remaining = max(0.001, deadline - timer())
    verify: bool | str = (target.ca_file or True) if target.verify_tls else False
    started = timer()
    try:
        with requests.Session() as session:
            session.trust_env = False  # no proxy or .netrc from the agent's environment
            response = session.request(
                target.method,
                target.url,
                timeout=(remaining, remaining),
                allow_redirects=target.follow_redirects,
                verify=verify,
                stream=True,  # status and headers are enough; the body is never read
            )
            latency = timer() - started
            response.close()
    except requests.exceptions.SSLError as exc:
        return failure("tls_error", exc)
    except requests.exceptions.Timeout as exc:
        return failure("timeout", exc)
    except requests.exceptions.ConnectionError as exc:
        return _connection_failure(exc)
    except requests.exceptions.RequestException as exc:
        return failure("error", exc)
    code = response.status_code
    expected = code in target.expect_status if target.expect_status else 200 <= code < 400
    return CheckResult(
        up=expected,
        outcome="ok" if expected else "http_status",
        detail="" if expected else f"status {code}",
        latency_seconds=latency,
        status_code=code,
    )


def _connection_failure(exc: requests.exceptions.ConnectionError) -> CheckResult:
    root = _socket_error_under(exc)
    return classify_os_error(root) if root is not None else failure("error", exc)


def _socket_error_under(exc: BaseException) -> OSError | None:
    """The socket-level error requests and urllib3 wrap a few levels down, if any."""
    seen: set[int] = set()
    current: object = exc
    while isinstance(current, BaseException) and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and type(current).__module__ in _SOCKET_MODULES:
            return current
        reason = getattr(current, "reason", None)
        wrapped = current.args[0] if current.args else None
        current = next(
            (c for c in (current.__cause__, current.__context__, reason, wrapped)
             if isinstance(c, BaseException)),
            None,
        )  # fmt: skip
    return None


def read_certificate_not_after(host: str, port: int, timeout: float) -> float:
    """The server certificate's notAfter (Unix time), read whether or not it verifies."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # expired and self-signed certificates still count
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ValueError(f"{host}:{port} sent no certificate")
    return certificate_not_after(der)


def _der_items(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, content) of each DER element in `data`."""
    items, offset = [], 0
    while offset < len(data):
        tag, length = data[offset], data[offset + 1]
        offset += 2
        if length & 0x80:  # long form: the next (length & 0x7f) bytes hold the length
            size = length & 0x7F
            length = int.from_bytes(data[offset : offset + size], "big")
            offset += size
        items.append((tag, data[offset : offset + length]))
        offset += length
    return items


def certificate_not_after(der: bytes) -> float:
    """notAfter of a DER X.509 certificate (RFC 5280 4.1) as a Unix time."""
    try:
        ((_, certificate),) = _der_items(der)
        tbs = _der_items(_der_items(certificate)[0][1])
        fields = tbs[1:] if tbs[0][0] == 0xA0 else tbs  # skip the explicit [0] version
        _, (tag, text) = _der_items(fields[3][1])  # serial, signature, issuer, validity
        stamp = text.decode("ascii")
        if tag == 0x17:  # UTCTime: two-digit years, 50-99 meaning 19xx (RFC 5280 4.1.2.5.1)
            stamp = ("19" if int(stamp[:2]) >= 50 else "20") + stamp
        moment = datetime.strptime(stamp, "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the certificate's expiry: {exc}") from exc
    return moment.timestamp()

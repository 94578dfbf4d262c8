"""How uvicorn serves the collector: connection limits and timeouts against slow clients.

uvicorn bounds idle kept-alive connections but not a connection that never finishes its
headers; GuardedHttpToolsProtocol closes those after `header_timeout` seconds, so a thousand
half-sent requests cannot hold every slot (and file descriptor) for good.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
import ssl
from collections.abc import Callable, Sequence
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from collector.config import Limits, TlsConfig

log = logging.getLogger(__name__)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus a deadline for each request's headers."""

    header_timeout = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            log.debug(
                "closed %s: no complete request headers in %g s", self.client, self.header_timeout
            )
            self.transport.close()


def server_options(limits: Limits) -> dict[str, Any]:
    """uvicorn.run / uvicorn.Config keyword arguments for these limits."""
    protocol = type(
        "GuardedHttpToolsProtocol",
        (GuardedHttpToolsProtocol,),
        {"header_timeout": limits.header_timeout},
    )
    return {
        "http": protocol,
        "limit_concurrency": limits.max_connections,
        "timeout_keep_alive": max(1, round(limits.keep_alive_timeout)),
        "timeout_graceful_shutdown": 10,
    }


def raise_open_file_limit(wanted: int) -> int:
    """Raise this process' open-file limit towards `wanted` (within the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
            return soft
        return target
    return soft


def tls_options(tls: TlsConfig | None) -> dict[str, Any]:
    """uvicorn keyword arguments serving HTTPS (and requiring client certificates)."""
    if tls is None:
        return {}
    options: dict[str, Any] = {"ssl_certfile": str(tls.cert_file), "ssl_keyfile": str(tls.key_file)}
    if tls.client_ca_file is not None:
        options |= {"ssl_ca_certs": str(tls.client_ca_file), "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options


def tls_reloader(config: uvicorn.Config, tls: TlsConfig) -> Callable[[], None]:
    """Load the certificate and key again (renewed by certbot, say): new connections get the
    new ones, open ones keep theirs."""

    def reload() -> None:
        if config.ssl is None:
            return
        config.ssl.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        if tls.client_ca_file is not None:
            config.ssl.load_verify_locations(str(tls.client_ca_file))
        log.info("loaded certificate %s", tls.cert_file)

    return reload


def reload_on_sighup(actions: Sequence[Callable[[], None]]) -> None:
    """Run `actions` on SIGHUP; one that fails is logged and leaves its old settings."""

    def handle(_signum: int, _frame: object) -> None:
        for action in actions:
            try:
                action()
            except Exception as exc:
                log.error("SIGHUP: kept the old settings; %s", exc)

    signal.signal(signal.SIGHUP, handle)

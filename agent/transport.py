"""Pushing reports to the collector: one kept HTTP session, gzip, bearer token, spool on failure."""

from __future__ import annotations

import email.utils
import gzip
import ipaddress
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import requests

from agent.report import Report, encode_report
from agent.spool import Spool
from agent.version import AGENT_VERSION

logger = logging.getLogger(__name__)

INGEST_PATH = "/api/v1/reports"
_MESSAGE_LIMIT = 500
MAX_RETRY_AFTER = 600.0  # never wait longer than this on a collector's word

PostOutcome = Literal["sent", "failed", "rejected"]
SendOutcome = Literal["sent", "spooled", "rejected"]


SENT_AT_HEADER = "X-Watchkeeper-Sent-At"


def ingest_url(collector: str) -> str:
    """The collector's report endpoint from its base URL ("http://host:9810" or ".../")."""
    return collector.rstrip("/") + INGEST_PATH


@dataclass(frozen=True)
class TransportSecurity:
    """TLS towards the collector: the CA to verify it by (default: the system's, or
    REQUESTS_CA_BUNDLE), an optional client certificate, and whether plain http:// to a host
    other than loopback is allowed (`insecure`)."""

    ca_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    insecure: bool = False


def plain_http_refusal(collector: str, insecure: bool) -> str | None:
    """Why `collector` must not be used (plain HTTP off this machine), or None."""
    parts = urlsplit(collector)
    if parts.scheme != "http" or insecure or _is_loopback(parts.hostname or ""):
        return None
    return (
        f"{collector} is plain http:// to another machine: the token and reports would cross "
        "the network in clear; use https:// (with ca_file if the collector's CA is private), "
        "or set insecure: true to accept that"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def encode_body(report: Report, level: int = 6) -> bytes:
    """The gzip-compressed JSON body of a report (mtime 0, so equal reports give equal bytes)."""
    return gzip.compress(encode_report(report), compresslevel=level, mtime=0)


class ReportSender:
    """Sends each report once; keeps it in the spool when the collector cannot take it now.

    A connection error, a timeout, a 5xx or a 429 means "try again later": the body is spooled
    and sent, oldest first, after the next successful send. A 429 with Retry-After also means
    "not before then": until that time reports go straight to the spool, without a request.
    Any other 4xx means the collector will never accept this body (bad token, invalid report):
    it is logged and dropped.
    """

    def __init__(
        self,
        collector: str,
        token: str | None,
        spool: Spool,
        timeout_seconds: float = 5.0,
        drain_per_cycle: int = 20,
        clock: Callable[[], float] = time.monotonic,
        security: TransportSecurity | None = None,
    ) -> None:
        security = security or TransportSecurity()
        refusal = plain_http_refusal(collector, security.insecure)
        if refusal:
            raise ValueError(refusal)
        self.url = ingest_url(collector)
        self._clock = clock
        self._resume_at = 0.0  # the collector asked us to wait until then (429 Retry-After)
        self._spool = spool
        self._timeout = timeout_seconds
        self._drain_per_cycle = drain_per_cycle
        self._session = requests.Session()
        # Proxy settings are read from the environment once here: with trust_env, requests
        # would rescan the environment and ~/.netrc on every single post.
        self._session.trust_env = False
        self._session.proxies.update(requests.utils.get_environ_proxies(self.url))
        # trust_env off also drops REQUESTS_CA_BUNDLE: read it here, once, like the proxies.
        self._session.verify = security.ca_file or os.environ.get("REQUESTS_CA_BUNDLE") or True
        if security.client_cert_file:
            self._session.cert = (security.client_cert_file, security.client_key_file or "")
            if not security.client_key_file:
                self._session.cert = security.client_cert_file
        self._session.headers.update(
            {
                "Content-Type": "application/json",
                "Content-Encoding": "gzip",
                "User-Agent": f"watchkeeper-agent/{AGENT_VERSION}",
            }
        )
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self.reports_sent_total = 0
        self.send_failures_total = 0
        self.reports_rejected_total = 0

    @property
    def spool(self) -> Spool:
        """Where undelivered reports wait."""
        return self._spool

    def send(self, report: Report) -> SendOutcome:
        """Deliver one report, spooling it on a transient failure; then drain the spool."""
        body = encode_body(report)
        if self._must_wait():
            self._spool.push(body)
            return "spooled"
        outcome = self._post(body)
        if outcome == "failed":
            self._spool.push(body)
            return "spooled"
        if outcome == "sent":
            self.drain()
        return outcome

    def drain(self) -> int:
        """Send up to `drain_per_cycle` spooled reports, oldest first; stop at the first failure."""
        delivered = 0
        for _ in range(0 if self._must_wait() else self._drain_per_cycle):
            body = self._spool.oldest()
            if body is None or self._post(body) == "failed":
                break
            self._spool.pop_oldest()  # delivered, or rejected for good
            delivered += 1
        return delivered

    def close(self) -> None:
        """Close the kept connection."""
        self._session.close()

    def _post(self, body: bytes) -> PostOutcome:
        try:
            # The send time, on the agent's clock, lets the collector tell a replay from a
            # fresh report and measure clock skew without trusting the report's own stamp.
            response = self._session.post(
                self.url,
                data=body,
                timeout=self._timeout,
                allow_redirects=False,
                headers={SENT_AT_HEADER: f"{time.time():.3f}"},
            )
        except requests.RequestException as exc:
            self.send_failures_total += 1
            logger.warning("collector %s unreachable, report kept: %s", self.url, exc)
            return "failed"
        status = response.status_code
        if 200 <= status < 300:
            self.reports_sent_total += 1
            return "sent"
        if status == 429:
            self._back_off(response)
            return "failed"
        if status >= 500:
            self.send_failures_total += 1
            logger.warning("collector %s busy (HTTP %d), report kept", self.url, status)
            return "failed"
        self.reports_rejected_total += 1
        logger.error(
            "collector %s rejected the report (HTTP %d), dropped: %s",
            self.url,
            status,
            _collector_message(response),
        )
        return "rejected"

    def _must_wait(self) -> bool:
        return self._clock() < self._resume_at

    def _back_off(self, response: requests.Response) -> None:
        self.send_failures_total += 1
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        self._resume_at = self._clock() + wait
        logger.warning(
            "collector %s is busy (HTTP 429); reports are kept and sent again in %.0f s",
            self.url,
            wait,
        )


def retry_after_seconds(value: str | None) -> float:
    """A Retry-After header (seconds or an HTTP date) as seconds to wait, within 0..600."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 0.0
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _collector_message(response: requests.Response) -> str:
    if 300 <= response.status_code < 400:
        return f"redirected to {response.headers.get('Location')}; set the collector URL to it"
    return response.text[:_MESSAGE_LIMIT].strip() or response.reason or "(no message)"

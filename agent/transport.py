"""Pushing reports to the collector: one kept connection, gzip, bearer token, spool on failure."""

from __future__ import annotations

import gzip
import ipaddress
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from agent.connection import (
    Answer,
    CollectorConnection,
    ConnectError,
    ExchangeError,
    TlsFiles,
    ca_bundle_variable,
)
from agent.diagnostics.model import SnapshotRequest, snapshot_requests
from agent.report import Report, encode_report
from agent.spool import Spool
from agent.transport_errors import FailureContext, describe_failure
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

    Logging is per change, not per cycle: one warning when the collector stops taking reports
    (why, in a few words, and how many wait), one line when it takes them again, and a
    rejection only when its reason differs from the last one.
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
        self._drain_per_cycle = drain_per_cycle
        bundle = None if security.ca_file else ca_bundle_variable(os.environ)
        tls = TlsFiles(security.ca_file, security.client_cert_file, security.client_key_file)
        self.tls = tls  # also what a snapshot's own connection uses
        self._connection = CollectorConnection(self.url, timeout_seconds, tls)
        self._context = FailureContext(
            self.url, timeout_seconds, security.ca_file, security.client_cert_file, bundle
        )
        self._problem = ("", "")  # why the last post failed: (unreachable/failing/busy, detail)
        self._down_since: float | None = None  # when the collector stopped taking reports
        self._last_rejection = ""
        self._headers = {
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "User-Agent": f"watchkeeper-agent/{AGENT_VERSION}",
        }
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self.reports_sent_total = 0
        self.send_failures_total = 0
        self.reports_rejected_total = 0
        self._snapshot_requests: list[SnapshotRequest] = []  # asked in the collector's answers

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
            self._note_unreachable()
            return "spooled"
        if outcome == "sent":
            self._note_reachable(self.drain())
        return outcome

    def drain(self) -> int:
        """Send up to `drain_per_cycle` spooled reports, oldest first; stop at the first failure."""
        delivered = 0
        for _ in range(0 if self._must_wait() else self._drain_per_cycle):
            body = self._spool.oldest()
            if body is None:
                break
            if self._post(body) == "failed":
                self._note_unreachable()
                break
            self._spool.pop_oldest()  # delivered, or rejected for good
            delivered += 1
        return delivered

    def close(self) -> None:
        """Close the kept connection."""
        self._connection.close()

    def take_snapshot_requests(self) -> list[SnapshotRequest]:
        """The diagnostic snapshots the collector asked for since the last call."""
        taken, self._snapshot_requests = self._snapshot_requests, []
        return taken

    def _post(self, body: bytes) -> PostOutcome:
        try:
            # The send time, on the agent's clock, lets the collector tell a replay from a
            # fresh report and measure clock skew without trusting the report's own stamp.
            headers = {**self._headers, SENT_AT_HEADER: f"{time.time():.3f}"}
            response = self._connection.post(body, headers)
        except (ConnectError, ExchangeError) as exc:
            self.send_failures_total += 1
            self._problem = ("unreachable", describe_failure(exc, self._context))
            return "failed"
        status = response.status
        if 200 <= status < 300:
            self.reports_sent_total += 1
            self._last_rejection = ""
            if '"snapshots"' in response.text:  # an incident opened here: evidence wanted
                self._snapshot_requests += snapshot_requests(response.text)
            return "sent"
        if status == 429:
            self._back_off(response)
            return "failed"
        if status >= 500:
            self.send_failures_total += 1
            self._problem = ("failing", f"HTTP {status}, {_collector_message(response)}")
            return "failed"
        self._rejected(response)
        return "rejected"

    def _note_unreachable(self) -> None:
        if self._down_since is not None:
            logger.debug("collector %s still %s: %s", self.url, *self._problem)
            return
        self._down_since = self._clock()
        logger.warning(
            "collector %s %s (%s waiting in the spool): %s",
            self.url,
            self._problem[0],
            _reports(self._spool.count),
            self._problem[1],
        )

    def _note_reachable(self, resent: int) -> None:
        if self._down_since is None:
            return
        waiting = self._spool.count
        rest = f" ({waiting} still spooled, {self._drain_per_cycle} sent per cycle)"
        logger.info(
            "collector %s reachable again after %s; resent %s%s",
            self.url,
            _duration(self._clock() - self._down_since),
            _reports(resent),
            rest if waiting else "",
        )
        self._down_since = None

    def _rejected(self, response: Answer) -> None:
        self.reports_rejected_total += 1
        reason = f"HTTP {response.status}: {_collector_message(response)}"
        if reason == self._last_rejection:  # the same every cycle: said once is enough
            logger.debug("collector %s rejected the report again: %s", self.url, reason)
            return
        self._last_rejection = reason
        logger.error("collector %s rejected the report, dropped: %s", self.url, reason)

    def _must_wait(self) -> bool:
        return self._clock() < self._resume_at

    def _back_off(self, response: Answer) -> None:
        self.send_failures_total += 1
        wait = retry_after_seconds(response.headers.get("retry-after"))
        self._resume_at = self._clock() + wait
        self._problem = ("busy", f"HTTP 429, asks for {wait:.0f} s without reports (Retry-After)")


def retry_after_seconds(value: str | None) -> float:
    """A Retry-After header (seconds or an HTTP date) as seconds to wait, within 0..600."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        import email.utils  # only for the rare HTTP-date form: the package is not small

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 0.0
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _collector_message(response: Answer) -> str:
    status = response.status
    if 300 <= status < 400:
        return f"redirected to {response.headers.get('location')}; set the collector URL to it"
    text = _envelope_message(response.text) or response.reason or "(no message)"
    if status == 401:
        text += " (check token or token_file against the collector's `agents`)"
    return text


def _envelope_message(text: str) -> str:
    """The message of the collector's {"error": {"message": ...}} envelope, else the text."""
    try:
        message = json.loads(text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return " ".join(text[:_MESSAGE_LIMIT].split())
    return str(message)[:_MESSAGE_LIMIT]


def _reports(count: int) -> str:
    return "1 report" if count == 1 else f"{count} reports"


def _duration(seconds: float) -> str:
    """45 s, 12 min, 3 h 5 min: how long an outage lasted, for a person."""
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"

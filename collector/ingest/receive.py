"""Accepting a report: authenticate, bound, decode, validate, apply, judge — on arrival.

This is the hot path (thousands of reports a second), run in a worker thread, never on the
event loop. No database round trip unless an incident changes or the report carries events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

import msgspec

from agent.report import ProbeResult, Report, ReportError, Sample, decode_report
from collector.auth import AgentIdentity, TokenBook
from collector.config import Limits
from collector.evaluation.evaluator import Evaluator
from collector.ingest.duplicates import DuplicateWatch, Verdict
from collector.ingest.hosts import HostRegistry
from collector.ingest.inflate import InflateError, gunzip
from collector.ingest.quota import RateLimiter
from collector.ingest.timing import classify, parse_sent_at
from collector.ingest.validate import ReportLimitError, check_report
from collector.store.repository import Repository
from rules.engine import AGENT_INSTANCES, CLOCK_SKEW

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# How long a report waits for its incident changes to be stored before it is answered anyway
# (they are stored, or reverted and retried, whatever the answer).
STORE_WAIT_SECONDS = 10.0

# Rules see the agent's clock skew as a series of a synthetic probe (not shown as host state).
COLLECTOR_PROBE = "collector"


class Rejection(StrEnum):
    """Why a report was refused; the API maps each to an HTTP status."""

    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    TOO_LARGE = "too_large"
    MALFORMED = "malformed"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    TOO_MANY_HOSTS = "too_many_hosts"


class IngestError(Exception):
    """A refused report, with a message that tells the sender what to fix."""

    def __init__(self, reason: Rejection, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Accepted:
    """The outcome of an accepted report; `storing` is the incident writer's work on its
    signals when the caller chose not to wait for it."""

    host: str
    sequence: int
    evaluated: bool
    replay: bool
    signals: int
    storing: Future[int] | None = None


class Ingest:
    """Turns request bodies into host state, rule histories and incident events."""

    def __init__(
        self,
        tokens: TokenBook,
        hosts: HostRegistry,
        evaluator: Evaluator,
        repository: Repository,
        limits: Limits,
        clock: Clock,
    ) -> None:
        self._tokens = tokens
        self._hosts = hosts
        self._evaluator = evaluator
        self._repository = repository
        self._limits = limits
        self._clock = clock
        self._duplicates = DuplicateWatch()
        # Real elapsed time, not the reports' clock: a rate is about now.
        self._rates = RateLimiter(time.monotonic)
        self._hosts_of_token: dict[str, set[str]] = {}
        self._quota_lock = threading.Lock()

    def use_tokens(self, tokens: TokenBook) -> None:
        """Accept these agent tokens from now on (a reload)."""
        self._tokens = tokens

    def forget_host(self, host: str) -> None:
        """A retired host no longer counts towards its token's hosts, nor its agents as
        duplicates."""
        with self._quota_lock:
            for seen in self._hosts_of_token.values():
                seen.discard(host)
        self._duplicates.forget(host)

    def identify(self, authorization: str | None) -> AgentIdentity:
        """The agent token in an Authorization header, or IngestError (read no body first)."""
        identity = self._tokens.identify(authorization)
        if identity is None:
            raise IngestError(
                Rejection.UNAUTHORIZED, "missing or unknown bearer token; check the agent's token"
            )
        return identity

    def admit(self, identity: AgentIdentity) -> float:
        """0 when the token may send one more report now, else the seconds to wait."""
        rate = identity.reports_per_second
        return self._rates.wait(
            identity.name, self._limits.reports_per_second_per_token if rate is None else rate
        )

    def accept(
        self,
        authorization: str | None,
        encoding: str | None,
        body: bytes,
        sent_at: str | None = None,
        wait: bool = True,
        peer: str = "",
    ) -> Accepted:
        """Apply one report or raise IngestError saying why not.

        With `wait`, return once its incident changes are stored (or reverted for a retry);
        without, leave that to the caller (`Accepted.storing`), e.g. to await it.
        """
        return self.accept_from(self.identify(authorization), encoding, body, sent_at, wait)

    def accept_from(
        self,
        identity: AgentIdentity,
        encoding: str | None,
        body: bytes,
        sent_at: str | None = None,
        wait: bool = True,
        peer: str = "",
    ) -> Accepted:
        """`accept` for a sender already identified from its headers."""
        report = self._decode(encoding, body)
        hosts = {report.host, *(p.target for p in report.probes if p.target)}
        for host in hosts:
            if not identity.may_report_for(host):
                raise IngestError(
                    Rejection.FORBIDDEN,
                    f"token {identity.name!r} may not report for host {host!r} "
                    f"(allowed: {identity.hosts!r})",
                )
        self._count_hosts(identity, hosts)
        return self._apply(report, parse_sent_at(sent_at), wait, peer)

    def _count_hosts(self, identity: AgentIdentity, hosts: set[str]) -> None:
        """Remember which hosts each token speaks for; refuse one host too many."""
        cap = identity.max_hosts or self._limits.max_hosts_per_token
        with self._quota_lock:
            seen = self._hosts_of_token.setdefault(identity.name, set())
            new = hosts - seen
            if len(seen) + len(new) > cap:
                raise IngestError(
                    Rejection.TOO_MANY_HOSTS,
                    f"token {identity.name!r} already reports for {len(seen)} hosts, its limit "
                    f"is {cap}; refused new host {sorted(new)[0]!r} (raise "
                    "limits.max_hosts_per_token or the token's max_hosts if the fleet really "
                    "is that large)",
                )
            seen |= new

    def _decode(self, encoding: str | None, body: bytes) -> Report:
        if len(body) > self._limits.max_body_bytes:
            raise IngestError(
                Rejection.TOO_LARGE,
                f"body of {len(body)} bytes exceeds the limit of {self._limits.max_body_bytes}",
            )
        raw = self._decompress(encoding, body)
        try:
            report = decode_report(raw)
            check_report(report, raw, self._limits.max_samples)
        except ReportLimitError as exc:
            raise IngestError(Rejection.TOO_LARGE, str(exc)) from exc
        except (ReportError, ValueError) as exc:
            raise IngestError(Rejection.MALFORMED, str(exc)) from exc
        except RecursionError as exc:  # msgspec skipping a deeply nested unknown field
            raise IngestError(Rejection.MALFORMED, "JSON nested too deeply") from exc
        return report

    def _decompress(self, encoding: str | None, body: bytes) -> bytes:
        encoding = (encoding or "identity").strip().lower()
        if encoding == "identity":
            return body
        if encoding != "gzip":
            raise IngestError(
                Rejection.UNSUPPORTED_ENCODING,
                f"Content-Encoding {encoding!r} is not supported; send gzip or identity",
            )
        limit = self._limits.max_decompressed_bytes
        try:
            raw, complete = gunzip(body, limit + 1)
        except InflateError as exc:
            raise IngestError(Rejection.MALFORMED, f"body is not valid gzip: {exc}") from exc
        if len(raw) > limit:
            raise IngestError(
                Rejection.TOO_LARGE, f"report exceeds {limit} bytes once decompressed"
            )
        if not complete:
            raise IngestError(Rejection.MALFORMED, "gzip body is truncated")
        return raw

    def _apply(self, report: Report, sent_at: float | None, wait: bool, peer: str) -> Accepted:
        now = self._clock()
        verdict = self._duplicates.observe(report, now, peer)
        if verdict.host != report.host:  # a second agent under this name: kept apart
            report = msgspec.structs.replace(report, host=verdict.host)
        known = self._hosts.get(report.host)
        timing = classify(
            report, now, sent_at, known.clock_skew if known else 0.0, self._limits.stale_after
        )
        newer = self._hosts.apply(report, now, timing.skew)
        self._store_events(report, now)
        if timing.fresh and newer:
            measured = _with_collector_samples(report, timing.skew, verdict)
            count, stored = self._evaluator.evaluate(measured, now)
        else:
            # A replay from the agent's spool (or out of order): its numbers feed the trends
            # at the time they were measured; its thresholds are history, not news.
            count, stored = self._evaluator.replay(report, timing.at)
        if stored is not None and wait:
            stored.result(STORE_WAIT_SECONDS)
            stored = None
        evaluated = timing.fresh and newer
        return Accepted(report.host, report.sequence, evaluated, not evaluated, count, stored)

    def _store_events(self, report: Report, now: float) -> None:
        writer = self._evaluator.writer
        assert writer is not None
        for result in report.probes:
            if result.events:
                host = result.target or report.host
                writer.submit(partial(self._repository.add_events, host, result.events, now))

    def tick(self) -> int:
        """Run the time-based checks (for: elapsed, silent hosts); returns signals made."""
        count, stored = self._evaluator.tick(self._clock())
        if stored is not None:
            stored.result(STORE_WAIT_SECONDS)
        return count


def _with_collector_samples(report: Report, skew: float | None, verdict: Verdict) -> Report:
    """The report plus what the collector measured about its agent, for rules: the agent's
    clock skew, and how many agents report under this host name."""
    samples = [] if skew is None else [Sample(CLOCK_SKEW, round(skew, 3))]
    if report.instance and "#dup-" not in report.host:
        # The label names the agents (one, or the duplicates), so the incident can name them.
        instances = {"instances": verdict.detail}
        samples.append(Sample(AGENT_INSTANCES, float(verdict.instances), instances))
    if not samples:
        return report
    measured = ProbeResult(COLLECTOR_PROBE, "ok", 0.0, samples=samples)
    return msgspec.structs.replace(report, probes=[*report.probes, measured])

"""Accepting a report: authenticate, bound, decode, validate, apply, evaluate — on arrival.

This is the hot path (thousands of reports a second): no database round trip unless an
incident changes, no per-sample allocation beyond what decoding needs.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from agent.report import Report, ReportError, decode_report
from collector.auth import TokenBook
from collector.config import Limits
from collector.hosts import HostRegistry
from collector.incidents.service import IncidentService
from rules.engine import RuleEngine

Clock = Callable[[], float]


class Rejection(StrEnum):
    """Why a report was refused; the API maps each to an HTTP status."""

    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    TOO_LARGE = "too_large"
    MALFORMED = "malformed"
    UNSUPPORTED_ENCODING = "unsupported_encoding"


class IngestError(Exception):
    """A refused report, with a message that tells the sender what to fix."""

    def __init__(self, reason: Rejection, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Accepted:
    """The outcome of an accepted report."""

    host: str
    sequence: int
    evaluated: bool
    signals: int


class Ingest:
    """Turns request bodies into state changes and alert signals."""

    def __init__(
        self,
        tokens: TokenBook,
        hosts: HostRegistry,
        engine: RuleEngine,
        incidents: IncidentService,
        limits: Limits,
        clock: Clock,
    ) -> None:
        self._tokens = tokens
        self._hosts = hosts
        self._engine = engine
        self._incidents = incidents
        self._limits = limits
        self._clock = clock

    def accept(self, authorization: str | None, encoding: str | None, body: bytes) -> Accepted:
        """Apply one report or raise IngestError saying why not."""
        identity = self._tokens.identify(authorization)
        if identity is None:
            raise IngestError(
                Rejection.UNAUTHORIZED, "missing or unknown bearer token; check the agent's token"
            )
        report = self._decode(encoding, body)
        for host in {report.host, *(p.target for p in report.probes if p.target)}:
            if not identity.may_report_for(host):
                raise IngestError(
                    Rejection.FORBIDDEN,
                    f"token {identity.name!r} may not report for host {host!r} "
                    f"(allowed: {identity.hosts!r})",
                )
        return self._apply(report)

    def _decode(self, encoding: str | None, body: bytes) -> Report:
        if len(body) > self._limits.max_body_bytes:
            raise IngestError(
                Rejection.TOO_LARGE,
                f"body of {len(body)} bytes exceeds the limit of {self._limits.max_body_bytes}",
            )
        raw = self._decompress(encoding, body)
        try:
            return decode_report(raw)
        except ReportError as exc:
            raise IngestError(Rejection.MALFORMED, str(exc)) from exc

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
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            raise IngestError(Rejection.MALFORMED, f"body is not valid gzip: {exc}") from exc
        if len(raw) > limit:
            raise IngestError(
                Rejection.TOO_LARGE, f"report exceeds {limit} bytes once decompressed"
            )
        if not inflater.eof:
            raise IngestError(Rejection.MALFORMED, "gzip body is truncated")
        return raw

    def _apply(self, report: Report) -> Accepted:
        now = self._clock()
        late = self._hosts.is_late(report)
        stale = now - report.time > self._limits.stale_after
        if late:
            return Accepted(report.host, report.sequence, evaluated=False, signals=0)
        self._hosts.apply(report, now)
        if stale:
            # A replay from the agent's spool: keep it as state, but old values must not page.
            return Accepted(report.host, report.sequence, evaluated=False, signals=0)
        signals = self._engine.evaluate(report, now)
        if signals:
            self._incidents.handle(signals)
        return Accepted(report.host, report.sequence, evaluated=True, signals=len(signals))

    def tick(self) -> int:
        """Run the time-based checks (for: elapsed, silent hosts); returns signals handled."""
        signals = self._engine.tick(self._clock())
        if signals:
            self._incidents.handle(signals)
        return len(signals)

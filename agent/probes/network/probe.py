"""The network probe: every configured target checked concurrently, each under its deadline.

Samples, all labelled {target, kind}:
    network_probe_up                          1 when the target answered as expected, else 0
    network_probe_result                      "ok", "timeout", "refused", "unreachable",
                                              "dns_error", "tls_error", "http_status", "error"
    network_probe_latency_seconds             ICMP median round trip, TCP handshake, HTTP
                                              time to the response headers (when answered)
    network_probe_latency_threshold_seconds   the target's configured threshold
    network_probe_latency_threshold_ratio     latency / threshold: above 1 is slow
    network_probe_loss_ratio                  ICMP: share of the echo requests unanswered
    http_probe_status_code                    HTTP: the answer's status code
    tls_certificate_expiry_days               https: days until the certificate expires
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from agent.configfile import parse_duration
from agent.probe import DEADLINE_MARGIN_SECONDS, Probe, ProbeData, ProbeError
from agent.probes.kind import ProbeContext
from agent.probes.network.checks import CheckResult, check_http, check_icmp, check_tcp, failure
from agent.probes.network.icmp import IcmpPermissionError, Pinger
from agent.probes.network.settings import (
    HttpTarget,
    IcmpTarget,
    NetworkSettings,
    Target,
    TcpTarget,
)

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

_SECONDS_PER_DAY = 86400.0
_GRACE_SECONDS = 1.0  # beyond the deadlines, before a check still running is declared hung


def target_kind(target: Target) -> str:
    """The `kind` label: icmp, tcp or http."""
    return type(target).__struct_config__.tag  # type: ignore[return-value]


def add_result_samples(
    data: ProbeData, target: Target, result: CheckResult, threshold: float, now: float
) -> None:
    """The samples of one target's check (see the module docstring)."""
    labels = {"target": target.name, "kind": target_kind(target)}
    data.add("network_probe_up", 1.0 if result.up else 0.0, **labels)
    data.add("network_probe_result", result.outcome, **labels)
    data.add("network_probe_latency_threshold_seconds", threshold, **labels)
    if result.latency_seconds is not None:
        data.add("network_probe_latency_seconds", result.latency_seconds, **labels)
        data.add(
            "network_probe_latency_threshold_ratio", result.latency_seconds / threshold, **labels
        )
    if result.loss_ratio is not None:
        data.add("network_probe_loss_ratio", result.loss_ratio, **labels)
    if result.status_code is not None:
        data.add("http_probe_status_code", float(result.status_code), **labels)
    if result.certificate_not_after is not None:
        days = (result.certificate_not_after - now) / _SECONDS_PER_DAY
        data.add("tls_certificate_expiry_days", days, **labels)


class NetworkProbe:
    """Checks every target once per collection, concurrently, in threads of its own.

    An unreachable target is a sample (`network_probe_up 0`); only a target that could not be
    checked at all (no privilege for ICMP, a bug) is a source error, and the probe fails when
    that is true of every target.
    """

    name = "network"
    target: str | None = None

    def __init__(
        self,
        settings: NetworkSettings,
        pinger: Pinger | None = None,
        clock: Clock = time.time,
        timer: Clock = time.monotonic,
    ) -> None:
        self._settings = settings
        self._pinger = pinger or Pinger(timer=timer)
        self._clock = clock
        self._timer = timer
        self.min_interval_seconds = parse_duration(settings.min_interval)
        workers = min(len(settings.targets), settings.max_concurrency) or 1
        self.deadline_seconds = self._budget(workers) + DEADLINE_MARGIN_SECONDS

    def collect(self) -> ProbeData:
        """Run every check; wait no longer than the deadlines allow."""
        targets = self._settings.targets
        if not targets:
            return ProbeData()
        workers = min(len(targets), self._settings.max_concurrency)
        executor = ThreadPoolExecutor(workers, thread_name_prefix="network-check")
        try:
            futures = [executor.submit(self._check, target) for target in targets]
            wait(futures, timeout=self._budget(workers))
        finally:
            executor.shutdown(wait=False, cancel_futures=True)
        data = ProbeData()
        now = self._clock()
        for target, future in zip(targets, futures, strict=True):
            self._add_outcome(data, target, future, now)
        if data.source_errors and len(data.source_errors) == len(targets):
            raise ProbeError("; ".join(sorted(set(data.source_errors.values()))))
        return data

    def _budget(self, workers: int) -> float:
        waves = math.ceil(len(self._settings.targets) / workers)
        longest = max((self._settings.timeout_of(t) for t in self._settings.targets), default=0)
        return waves * longest + _GRACE_SECONDS

    def _check(self, target: Target) -> CheckResult:
        deadline = self._timer() + self._settings.timeout_of(target)
        if isinstance(target, IcmpTarget):
            return check_icmp(target, deadline, self._pinger)
        if isinstance(target, TcpTarget):
            return check_tcp(target, deadline, self._timer)
        assert isinstance(target, HttpTarget)
        return check_http(target, deadline, self._timer)

    def _add_outcome(
        self, data: ProbeData, target: Target, future: Future[CheckResult], now: float
    ) -> None:
        if not future.done():
            result = failure("timeout", "the check overran its deadline")
        else:
            try:
                result = future.result()
            except IcmpPermissionError as exc:
                data.source_errors[target.name] = str(exc)
                return
            except Exception as exc:  # a bug in one check must not hide the other targets
                logger.exception("network check %s failed", target.name)
                data.source_errors[target.name] = f"{type(exc).__name__}: {exc}"
                return
        if not result.up:
            logger.debug("target %s is down: %s %s", target.name, result.outcome, result.detail)
        threshold = self._settings.latency_threshold_of(target)
        add_result_samples(data, target, result, threshold, now)


def build_network_probes(settings: NetworkSettings, context: ProbeContext) -> list[Probe]:
    """The network probe when targets are configured."""
    del context  # runs no commands, reads no procfs
    return [NetworkProbe(settings)] if settings.targets else []

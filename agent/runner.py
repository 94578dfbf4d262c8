"""Running the probes once per cycle: timing, error capture, result reuse, report building."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.identity import AgentIdentity, new_instance_id
from agent.probe import Probe, ProbeError
from agent.report import SCHEMA_V1, ProbeResult, Report
from agent.version import AGENT_VERSION

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class _Cached:
    """A probe's last result and when (on the monotonic timer) it was collected."""

    at: float
    result: ProbeResult


def describe_exception(exc: Exception) -> str:
    """The operator-facing text of a probe failure: a ProbeError's own words, else its type too."""
    if isinstance(exc, ProbeError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class ProbeRunner:
    """Runs every probe each cycle and assembles the report; a failing probe never stops it.

    `clock` gives report timestamps (wall time); `timer` measures durations and decides when a
    probe with `min_interval_seconds` is due again (monotonic). Both are injected for tests.
    """

    def __init__(
        self,
        probes: Sequence[Probe],
        host: str,
        interval_seconds: float,
        clock: Clock = time.time,
        timer: Clock = time.perf_counter,
        *,
        identity: AgentIdentity | None = None,
    ) -> None:
        self._probes = list(probes)
        self._host = host
        self._interval = interval_seconds
        self._clock = clock
        self._timer = timer
        self._cache: dict[str, _Cached] = {}
        # Instance id and sequence numbers; not kept across restarts unless given a kept one.
        self._identity = identity or AgentIdentity(new_instance_id(), None)

    @property
    def probes(self) -> list[Probe]:
        """The probes this runner drives, in report order."""
        return list(self._probes)

    def prime(self) -> None:
        """Collect once and discard, so probes that report deltas (CPU) have a baseline."""
        for probe in self._probes:
            try:
                probe.collect()
            except Exception:  # the real cycle will report it
                logger.debug("probe %s failed while priming", probe.name, exc_info=True)

    def run_cycle(self) -> Report:
        """Run (or reuse) every probe and return the next report."""
        results = [self._result_of(probe) for probe in self._probes]
        sequence = self._identity.next_sequence()
        return Report(
            schema=SCHEMA_V1,
            host=self._host,
            time=self._clock(),
            sequence=sequence,
            agent_version=AGENT_VERSION,
            interval_seconds=self._interval,
            probes=results,
            instance=self._identity.instance,
        )

    def _result_of(self, probe: Probe) -> ProbeResult:
        cached = self._cache.get(probe.name)
        now = self._timer()
        if cached is not None and now - cached.at < probe.min_interval_seconds:
            return cached.result
        result = collect_result(probe, self._timer)
        if probe.min_interval_seconds > 0:
            self._cache[probe.name] = _Cached(now, result)
        return result


def collect_result(probe: Probe, timer: Clock = time.perf_counter) -> ProbeResult:
    """Run one probe, timing it and turning any exception into a `status: error` result."""
    started = timer()
    try:
        data = probe.collect()
    except Exception as exc:  # any bug or failure in a probe must not stop the agent
        duration = timer() - started
        message = describe_exception(exc)
        logger.warning("probe %s failed: %s", probe.name, message)
        return ProbeResult(
            probe=probe.name,
            status="error",
            duration_seconds=duration,
            error=message,
            target=probe.target,
        )
    duration = timer() - started
    if data.source_errors:
        logger.info("probe %s partial: %s", probe.name, data.source_errors)
    return ProbeResult(
        probe=probe.name,
        status="partial" if data.source_errors else "ok",
        duration_seconds=duration,
        samples=data.samples,
        events=data.events,
        source_errors=data.source_errors,
        target=probe.target,
    )

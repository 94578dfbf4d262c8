"""Running the probes once per cycle: deadlines, error capture, result reuse, report building.

Probes that declare `runs_inline = True` (the host and md probes: procfs reads that cannot
hang, and CPU per cycle matters) run in the cycle's own thread. Every other probe runs in a
daemon thread of its own, all at once, and the cycle waits for each until its deadline: the
probe's own `deadline_seconds` when it declares one (its configured timeouts plus a margin),
else the runner's. A probe still running then is an error result, and is not started again
until its call returns.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass

from agent.identity import AgentIdentity, new_instance_id
from agent.probe import Probe, ProbeError
from agent.report import SCHEMA_V1, ProbeResult, Report
from agent.threads import start_in_thread
from agent.version import AGENT_VERSION

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class _Cached:
    """A probe's last result and when (on the monotonic timer) it was collected."""

    at: float
    result: ProbeResult


@dataclass(frozen=True)
class _Running:
    """A probe collecting in its own thread since `started` (time.monotonic, real waiting)."""

    started: float
    deadline: float
    future: Future[ProbeResult]
    overran: bool = False  # warned about once, not every cycle it stays stuck


def runs_inline(probe: Probe) -> bool:
    """Whether the probe asked to run in the cycle's thread (optional `runs_inline` attribute)."""
    return bool(getattr(probe, "runs_inline", False))


def declared_deadline(probe: Probe) -> float | None:
    """The probe's own bound on one collection (optional `deadline_seconds` attribute)."""
    value = getattr(probe, "deadline_seconds", None)
    return float(value) if isinstance(value, int | float) and value > 0 else None


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
        deadline_seconds: float | None = None,
        identity: AgentIdentity | None = None,
    ) -> None:
        self._probes = list(probes)
        self._host = host
        self._interval = interval_seconds
        self._clock = clock
        self._timer = timer
        self._deadline = interval_seconds if deadline_seconds is None else deadline_seconds
        self._cache: dict[str, _Cached] = {}
        self._running: dict[str, _Running] = {}
        # Instance id and sequence numbers; not kept across restarts unless given a kept one.
        self._identity = identity or AgentIdentity(new_instance_id(), None)

    @property
    def probes(self) -> list[Probe]:
        """The probes this runner drives, in report order."""
        return list(self._probes)

    def prime(self) -> None:
        """Collect the inline probes once and discard, so deltas (CPU) have a baseline.

        Only those: the threaded ones report no deltas, and here they would run without the
        cycle's deadline (and twice for `--once`).
        """
        for probe in self._probes:
            if not runs_inline(probe):
                continue
            try:
                probe.collect()
            except Exception:  # the real cycle will report it
                logger.debug("probe %s failed while priming", probe.name, exc_info=True)

    def run_cycle(self) -> Report:
        """Run (or reuse) every probe, waiting for the threaded ones until the deadline."""
        now = self._timer()
        due = [probe for probe in self._probes if not self._fresh(probe, now)]
        threaded = [probe for probe in due if not runs_inline(probe)]
        running = [self._start(probe) for probe in threaded]
        for probe in due:
            if runs_inline(probe):
                self._keep(probe, collect_result(probe, self._timer), now)
        for each in sorted(running, key=lambda r: r.started + r.deadline):
            wait([each.future], timeout=max(0.0, each.started + each.deadline - time.monotonic()))
        for probe in threaded:
            self._keep(probe, self._outcome(probe), now)
        sequence = self._identity.next_sequence()
        return Report(
            schema=SCHEMA_V1,
            host=self._host,
            time=self._clock(),
            sequence=sequence,
            agent_version=AGENT_VERSION,
            interval_seconds=self._interval,
            probes=[self._cache[probe.name].result for probe in self._probes],
            instance=self._identity.instance,
        )

    def _fresh(self, probe: Probe, now: float) -> bool:
        cached = self._cache.get(probe.name)
        return cached is not None and now - cached.at < probe.min_interval_seconds

    def _keep(self, probe: Probe, result: ProbeResult, now: float) -> None:
        # Kept for every probe so the report reads one place; reused only within min_interval.
        self._cache[probe.name] = _Cached(now, result)

    def _start(self, probe: Probe) -> _Running:
        """The probe's running collection: a new one, or the one still running from before."""
        running = self._running.get(probe.name)
        if running is None:
            future = start_in_thread(lambda: collect_result(probe, self._timer), probe.name)
            deadline = declared_deadline(probe) or self._deadline
            running = self._running[probe.name] = _Running(time.monotonic(), deadline, future)
        return running

    def _outcome(self, probe: Probe) -> ProbeResult:
        """The finished collection's result, or an error naming the deadline it overran."""
        running = self._running[probe.name]
        if running.future.done():
            del self._running[probe.name]
            result: ProbeResult = running.future.result()
            return result
        elapsed = time.monotonic() - running.started
        message = (
            f"no result within the {running.deadline:g} s deadline (running for {elapsed:.0f} s;"
            " not started again until it returns)"
        )
        log = logger.warning if not running.overran else logger.debug
        log("probe %s: %s", probe.name, message)
        self._running[probe.name] = dataclasses.replace(running, overran=True)
        return error_result(probe, elapsed, message)


def error_result(probe: Probe, duration: float, message: str) -> ProbeResult:
    """A probe's `status: error` result: it raised, or it had not answered by its deadline."""
    return ProbeResult(
        probe=probe.name,
        status="error",
        duration_seconds=duration,
        error=message,
        target=probe.target,
    )


def collect_result(probe: Probe, timer: Clock = time.perf_counter) -> ProbeResult:
    """Run one probe, timing it and turning any exception into a `status: error` result."""
    started = timer()
    try:
        data = probe.collect()
    except Exception as exc:  # any bug or failure in a probe must not stop the agent
        duration = timer() - started
        message = describe_exception(exc)
        logger.warning("probe %s failed: %s", probe.name, message)
        return error_result(probe, duration, message)
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
        inventory=data.inventory,
    )

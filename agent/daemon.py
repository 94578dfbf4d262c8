"""The agent's main loop: one cycle per interval on a drift-free schedule, until told to stop."""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from agent.diagnostics.wiring import SnapshotResponder, answer_snapshots, build_responder
from agent.exec import CommandRunner, SubprocessRunner
from agent.identity import AgentIdentity, load_identity, state_directory
from agent.metrics_server import AgentSnapshot
from agent.probe import Probe
from agent.probes import registry
from agent.probes.kind import ProbeContext
from agent.report import Report
from agent.runner import ProbeRunner
from agent.settings import AgentSettings
from agent.spool import DirectorySpool, MemorySpool, Spool
from agent.transport import ReportSender, TransportSecurity

logger = logging.getLogger(__name__)


def build_probes(settings: AgentSettings, runner: CommandRunner) -> list[Probe]:
    """Every enabled probe, in report order (the registry's)."""
    context = ProbeContext(runner, settings.procfs)
    return registry.build_probes(registry.KINDS, settings.probes, context)


def close_probes(probes: list[Probe]) -> None:
    """Release what probes hold open (the trap receiver's socket); optional per probe."""
    for probe in probes:
        close = getattr(probe, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                logger.exception("probe %s did not close cleanly", probe.name)


def next_deadline(start: float, interval: float, now: float) -> float:
    """The first tick `start + k * interval` after `now`.

    Ticks stay on the grid however long a cycle takes (no drift); a cycle that overruns one or
    more ticks skips them rather than running back to back.
    """
    ticks = math.floor((now - start) / interval) + 1
    return start + ticks * interval


class Agent:
    """Runs a cycle (collect, send) every interval; `stop()` ends the loop promptly."""

    def __init__(
        self,
        runner: ProbeRunner,
        sender: ReportSender | None,
        interval_seconds: float,
        timer: Callable[[], float] = time.monotonic,
        responder: SnapshotResponder | None = None,
    ) -> None:
        self._responder = responder  # answers the collector's diagnostic snapshot requests
        self._runner = runner
        self._sender = sender
        self._interval = interval_seconds
        self._timer = timer
        self._stop = threading.Event()
        self._snapshot = AgentSnapshot()

    def snapshot(self) -> AgentSnapshot:
        """The state after the last cycle (read by the /metrics thread)."""
        return self._snapshot

    def stop(self) -> None:
        """Ask the loop to end after the current cycle; safe from a signal handler."""
        self._stop.set()

    def cycle(self) -> Report:
        """Collect one report and send it; a failure is logged, never raised."""
        started = time.perf_counter()
        report = self._runner.run_cycle()
        if self._sender is not None:
            try:
                self._sender.send(report)
            except Exception:  # e.g. a full spool disk: keep monitoring regardless
                logger.exception("sending report %d failed", report.sequence)
            answer_snapshots(self._responder)
        self._snapshot = self._take_snapshot(report, time.perf_counter() - started)
        logger.debug("cycle %d took %.1f ms", report.sequence, self._snapshot.cycle_seconds * 1e3)
        return report

    def run_forever(self) -> None:
        """Cycle on the interval grid until `stop()`."""
        start = self._timer()
        while not self._stop.is_set():
            self.cycle()
            deadline = next_deadline(start, self._interval, self._timer())
            self._stop.wait(max(0.0, deadline - self._timer()))

    def _take_snapshot(self, report: Report, seconds: float) -> AgentSnapshot:
        sender = self._sender
        return AgentSnapshot(
            report=report,
            cycle_seconds=seconds,
            reports_sent_total=sender.reports_sent_total if sender else 0,
            send_failures_total=sender.send_failures_total if sender else 0,
            reports_rejected_total=sender.reports_rejected_total if sender else 0,
            spooled_reports=sender.spool.count if sender else 0,
            spool_dropped_total=sender.spool.dropped_total if sender else 0,
            probe_success={r.probe: r.status != "error" for r in report.probes},
        )


def build_runner(
    settings: AgentSettings,
    runner: CommandRunner | None = None,
    identity: AgentIdentity | None = None,
) -> ProbeRunner:
    """The probe runner for these settings (a new unkept instance id unless `identity`)."""
    probes = build_probes(settings, runner or SubprocessRunner())
    return ProbeRunner(probes, settings.host, settings.interval_seconds, identity=identity)


def build_sender(settings: AgentSettings, token: str | None) -> ReportSender:
    """The sender for these settings; the caller checked that `collector` is set."""
    assert settings.collector is not None
    spool: Spool
    if settings.spool_dir is None:
        spool = MemorySpool(settings.max_spool_bytes)
    else:
        spool = DirectorySpool(Path(settings.spool_dir), settings.max_spool_bytes)
    return ReportSender(
        settings.collector,
        token,
        spool,
        timeout_seconds=settings.request_timeout_seconds,
        drain_per_cycle=settings.spool_drain_per_cycle,
        security=TransportSecurity(
            settings.ca_file, settings.client_cert_file, settings.client_key_file, settings.insecure
        ),
    )


def run_agent(settings: AgentSettings, token: str | None) -> None:
    """Run until SIGTERM or SIGINT, serving /metrics if `listen` is set."""
    sender = build_sender(settings, token)
    identity = load_identity(state_directory(settings.spool_dir, os.environ))
    commands = SubprocessRunner()
    runner = build_runner(settings, commands, identity=identity)
    responder = build_responder(settings, token, sender, commands)
    agent = Agent(runner, sender, settings.interval_seconds, responder=responder)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: agent.stop())
    server = None
    address = settings.listen_address()
    if address is not None:
        from agent.metrics_server import MetricsServer

        server = MetricsServer(address[0], address[1], agent.snapshot)
        logger.info("serving /metrics on %s:%d", address[0] or "0.0.0.0", server.port)
    logger.info("agent %s reporting to %s every %s", settings.host, sender.url, settings.interval)
    try:
        agent.run_forever()
    finally:
        if server is not None:
            server.stop()
        sender.close()
        responder.close()
        close_probes(runner.probes)
        commands.close()  # a command of a probe still past its deadline: not left behind
        logger.info("agent stopped")

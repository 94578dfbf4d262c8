"""Runs the rule engine for arriving reports and the ticker, under one lock.

The engine's per-series state is not thread-safe; ingest runs in a thread pool, so every use
of the engine holds `lock`. Signals go to the incident writer before the lock is released.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from agent.report import Report
from collector.evaluation.writer import IncidentWriter
from collector.noise.maintenance import MaintenanceGate
from rules.engine import AlertSignal, RuleEngine, SignalKind


class Evaluator:
    """The engine, its lock and the writer its signals go to."""

    def __init__(self, engine: RuleEngine, gate: MaintenanceGate | None = None) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self.writer: IncidentWriter | None = None
        self.gate = gate
        # Told of every report and when it was measured, outside the lock (metric history).
        self.observers: list[Callable[[Report, float], None]] = []

    def attach(self, writer: IncidentWriter) -> None:
        """Where signals are stored (wired after the service exists)."""
        self.writer = writer

    def evaluate(self, report: Report, now: float) -> tuple[int, Future[int] | None]:
        """Judge a fresh report now; the number of signals and their storing future."""
        self._observe(report, now)
        with self.lock:
            return self._hand_over(self.engine.evaluate(report, now), now)

    def replay(self, report: Report, at: float) -> tuple[int, Future[int] | None]:
        """A replayed report: its numbers feed the histories at `at`; only events are judged."""
        self._observe(report, at)
        with self.lock:
            self.engine.feed_history(report, at)
            return self._hand_over(self.engine.match_events(report))

    def _observe(self, report: Report, at: float) -> None:
        for observer in self.observers:
            observer(report, at)

    def tick(self, now: float) -> tuple[int, Future[int] | None]:
        """Time-based checks (for: elapsed, silent hosts)."""
        with self.lock:
            return self._hand_over(self.engine.tick(now), now)

    def revert(self, signal: AlertSignal) -> None:
        """Undo a signal the writer could not store."""
        with self.lock:
            self.engine.revert(signal)

    def _hand_over(
        self, signals: list[AlertSignal], now: float | None = None
    ) -> tuple[int, Future[int] | None]:
        if self.gate is not None and now is not None and signals:
            signals = self._past_the_gate(signals, now)
        if not signals:
            return 0, None
        if len(signals) > 1:
            signals.sort(key=_stronger_first)
        assert self.writer is not None, "attach() a writer before evaluating"
        return len(signals), self.writer.submit_signals(signals)

    def _past_the_gate(self, signals: list[AlertSignal], now: float) -> list[AlertSignal]:
        """Drop what a maintenance window defers; the engine keeps it pending (next tick)."""
        assert self.gate is not None
        waiting = self.gate.deferred(signals, now)
        for signal in waiting:
            self.engine.revert(signal)  # under self.lock already
        held = {id(s) for s in waiting}
        return [s for s in signals if id(s) not in held]


def _stronger_first(signal: AlertSignal) -> int:
    """Resolves first, then fires by priority: a P1 opens before the P3 of its kind that came
    in the same report, so the P3 is held from its start (noise.inhibition)."""
    return signal.rule.rule.priority.rank if signal.kind is SignalKind.FIRE else 0

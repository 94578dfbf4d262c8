"""The single incident writer: signals are stored in the order the engine made them.

Ingest threads evaluate under the engine lock and hand their signals over here before they
release it, so a FIRE and the RESOLVE after it are written in that order by one thread (one
writer is also what SQLite wants). A signal whose transaction fails is reverted in the engine,
so the next report or tick produces it again: the store and the engine never disagree.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from rules.engine import AlertSignal

log = logging.getLogger(__name__)

T = TypeVar("T")


class IncidentWriter:
    """One thread that applies signals (and other ordered writes) in submission order."""

    def __init__(
        self,
        apply: Callable[[AlertSignal], object],
        revert: Callable[[AlertSignal], None],
    ) -> None:
        self._apply = apply
        self._revert = revert
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="incident-writer")
        self.failures = 0
        self._lock = threading.Lock()

    def submit_signals(self, signals: Sequence[AlertSignal]) -> Future[int]:
        """Queue signals; the future gives how many were stored."""
        return self._pool.submit(self._store, list(signals))

    def submit(self, work: Callable[[], T]) -> Future[T]:
        """Queue any other write that must keep its place in line (host events)."""
        return self._pool.submit(work)

    def _store(self, signals: list[AlertSignal]) -> int:
        stored = 0
        for signal in signals:
            try:
                self._apply(signal)
                stored += 1
            except Exception as exc:
                with self._lock:
                    self.failures += 1
                log.error(
                    "could not store %s of %s on %s (%s: %s); it will be retried",
                    signal.kind.value,
                    signal.rule.name,
                    signal.host,
                    type(exc).__name__,
                    str(exc).splitlines()[0][:300] if str(exc) else "",
                )
                self._revert(signal)
        return stored

    def close(self) -> None:
        """Finish what is queued, then stop the thread."""
        self._pool.shutdown(wait=True)

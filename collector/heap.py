"""Keeping full garbage collections short while the collector holds a fleet in memory.

A thousand hosts' rule histories, day aggregates and ring buffers are ~700,000 objects the
cyclic collector tracks; a full collection walked them all in ~360 ms, during which no report
was answered (ingest p99 at 1,000 reports/s rose to hundreds of ms). These objects live long
and are freed by reference counting, so they are frozen (gc.freeze: left out of collections)
every few seconds; once an hour everything is thawed and collected in full, so cyclic garbage that
was frozen is not kept for good (one long pause an hour instead of one every few seconds).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field

THAW_EVERY = 3600.0  # seconds between full collections of everything


@dataclass
class HeapFreezer:
    """`tick()` every few seconds (off the event loop); the gc functions are injectable."""

    clock: Callable[[], float]
    collect: Callable[[int], int] = gc.collect
    freeze: Callable[[], None] = gc.freeze
    unfreeze: Callable[[], None] = gc.unfreeze
    _thawed_at: float | None = field(default=None, init=False)

    def tick(self) -> None:
        """Freeze what survived; thaw and collect everything once per THAW_EVERY."""
        now = self.clock()
        if self._thawed_at is None:
            self._thawed_at = now
        elif now - self._thawed_at >= THAW_EVERY:
            self.unfreeze()
            self.collect(2)
            self._thawed_at = now
        self.collect(1)  # young cycles go before the survivors are frozen
        self.freeze()

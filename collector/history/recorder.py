"""The history's periodic job: flush changed days to the store, prune old ones, reload on start.

Ingest only adds to memory (HistoryAccumulator.observe); this job writes what changed once per
flush interval, off the hot path. A collector killed with -9 loses at most one interval
(10 minutes).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from agent.report import Report
from collector.history.accumulator import HistoryAccumulator
from collector.history.daily import day_of
from collector.store.history import KEEP_DAYS, HistoryStore

log = logging.getLogger(__name__)

# Day rows are written every 10 minutes (and at shutdown): a kill -9 loses at most that much
# of a day's figures, and a thousand hosts' 153,000 rows cost seconds of CPU a flush.
FLUSH_INTERVAL = 600.0
SAMPLE_EVERY = 60.0  # seconds: one report per host and minute counts in the day figures


class HistoryRecorder:
    """Accumulates samples in memory and writes them to `metric_daily`."""

    def __init__(
        self, store: HistoryStore, clock: Callable[[], float], keep_days: int = KEEP_DAYS
    ) -> None:
        self.store = store
        self.accumulator = HistoryAccumulator()
        self._clock = clock
        self._keep_days = keep_days
        self._pruned_on: int | None = None
        self._flushing = threading.Lock()  # the loop and the shutdown flush never interleave
        self._minutes: dict[str, int] = {}  # host -> the minute of its last counted report

    def observe(self, report: Report, at: float) -> None:
        """Count the first report of each minute of each host (the ingest hook: memory only).

        Day figures from one sample a minute are as good for reports as from every 10 s
        report, at a sixth of the ingest cost (the hook was the largest part of it)."""
        minute = int(at // SAMPLE_EVERY)
        if self._minutes.get(report.host) == minute:
            return
        self._minutes[report.host] = minute
        self.accumulator.observe(report, at)

    def load(self) -> int:
        """Seed memory with today's and yesterday's rows; how many series came back."""
        today = day_of(self._clock())
        rows = self.store.open_days(today - 1)
        self.accumulator.load(rows, today)
        return len(rows)

    def flush(self) -> int:
        """Write every day that changed since the last flush; prune once a day."""
        with self._flushing:
            today = day_of(self._clock())
            rows = self.accumulator.take_changed(today)
            try:
                self.store.write(rows)
            except Exception:
                self.accumulator.requeue(rows)  # written again at the next flush
                raise
            if self._pruned_on != today:
                gone = self.store.prune(today, self._keep_days)
                self._pruned_on = today
                if gone:
                    log.info(
                        "metric history: %d day rows older than %d days pruned",
                        gone,
                        self._keep_days,
                    )
            return len(rows)

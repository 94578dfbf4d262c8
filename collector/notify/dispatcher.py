"""Delivers notifications to every channel, each on its own retry schedule, off the ingest path."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from collector.notify.channels import Channel, DeliveryError, accepts
from collector.notify.message import Notification, NotificationEvent, format_time

logger = logging.getLogger(__name__)

# A worker re-reads the clock at least this often, so a clock step never strands a retry.
_MAX_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: first_delay, then times factor, capped at max_delay seconds."""

    first_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 300.0
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if self.first_delay < 0 or self.factor < 1 or self.max_attempts < 1:
            raise ValueError(
                "retry policy needs first_delay >= 0, factor >= 1 and max_attempts >= 1, "
                f"got {self.first_delay}, {self.factor}, {self.max_attempts}"
            )

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.max_delay, self.first_delay * self.factor ** (attempt - 1)))


@dataclass(frozen=True)
class DeliveryRecord:
    """The outcome of one attempt to deliver one notification to one channel."""

    incident_key: str
    incident_id: int | None
    event: NotificationEvent
    channel: str
    ok: bool
    attempt: int
    error: str | None
    time: float
    given_up: bool = False


@dataclass(frozen=True)
class ChannelStats:
    """Counters for one channel since the dispatcher started."""

    sent: int = 0
    failed: int = 0
    given_up: int = 0
    skipped: int = 0
    dropped: int = 0
    pending: int = 0


@dataclass(frozen=True)
class DispatcherStats:
    """Counters per channel description, plus the deliveries waiting in all queues."""

    channels: dict[str, ChannelStats]
    queue_depth: int


@dataclass
class _Delivery:
    notification: Notification
    due: float
    attempt: int = 0


@dataclass
class _Lane:
    """One channel's queue: deliveries by submission order, and a heap of (due, seq)."""

    channel: Channel
    description: str
    pending: dict[int, _Delivery] = field(default_factory=dict)
    heap: list[tuple[float, int]] = field(default_factory=list)
    stats: ChannelStats = field(default_factory=ChannelStats)
    busy: bool = False
    wakeup: threading.Condition | None = None

    def push(self, seq: int, delivery: _Delivery) -> None:
        self.pending[seq] = delivery
        heapq.heappush(self.heap, (delivery.due, seq))

    def next_due(self) -> float | None:
        # Heap entries of dropped or rescheduled deliveries are stale; discard them lazily.
        while self.heap:
            due, seq = self.heap[0]
            delivery = self.pending.get(seq)
            if delivery is not None and delivery.due == due:
                return due
            heapq.heappop(self.heap)
        return None

    def pop_due(self, now: float) -> tuple[int, _Delivery] | None:
        due = self.next_due()
        if due is None or due > now:
            return None
        _, seq = heapq.heappop(self.heap)
        return seq, self.pending.pop(seq)

    def drop_oldest(self) -> _Delivery:
        # dicts keep insertion order, and a retried delivery keeps its seq: first is oldest.
        return self.pending.pop(next(iter(self.pending)))

    def count(self, **increments: int) -> None:
        values = {name: getattr(self.stats, name) + step for name, step in increments.items()}
        self.stats = replace(self.stats, **values)


class NotificationDispatcher:
    """Fans notifications out to channels; each (notification, channel) retries on its own.

    `submit` is cheap and never blocks. Tests drive `deliver_due(now)` with their own clock;
    production calls `start()`, which runs one worker thread per channel so a hanging channel
    delays only itself.
    """

    def __init__(
        self,
        channels: Sequence[Channel],
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
        *,
        queue_size: int = 10_000,
        on_result: Callable[[DeliveryRecord], None] | None = None,
    ) -> None:
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._queue_size = queue_size
        self._on_result = on_result
        self._lock = threading.Lock()
        self._lanes = [_Lane(channel, channel.describe()) for channel in channels]
        self._check_unique()
        self._seq = 0
        self._stop_deadline: float | None = None  # time.monotonic() after which workers quit
        self._threads: list[threading.Thread] = []

    def _check_unique(self) -> None:
        seen: set[str] = set()
        for lane in self._lanes:
            if lane.description in seen:
                raise ValueError(f"notification channel {lane.description} is listed twice")
            seen.add(lane.description)

    def submit(self, notification: Notification) -> None:
        """Queue `notification` for every channel that accepts its priority; never blocks."""
        now = self._clock()
        with self._lock:
            self._seq += 1
            for lane in self._lanes:
                if not accepts(lane.channel, notification):
                    lane.count(skipped=1)
                    continue
                if len(lane.pending) >= self._queue_size:
                    self._drop_oldest(lane)
                lane.push(self._seq, _Delivery(notification, due=now))
                if lane.wakeup is not None:
                    lane.wakeup.notify()

    def _drop_oldest(self, lane: _Lane) -> None:
        dropped = lane.drop_oldest()
        lane.count(dropped=1)
        note = dropped.notification
        logger.error(
            "notification queue for %s is full (%d): dropped the oldest, %s %s of %s",
            lane.description,
            self._queue_size,
            note.event,
            note.incident_key,
            note.host,
        )

    def next_due(self) -> float | None:
        """When the earliest waiting delivery is due, or None if nothing waits."""
        with self._lock:
            dues = [due for lane in self._lanes if (due := lane.next_due()) is not None]
        return min(dues, default=None)

    def deliver_due(self, now: float) -> int:
        """Attempt every delivery due at `now`, in this thread; the number of attempts."""
        attempts = 0
        for lane in self._lanes:
            while (item := self._take(lane, now)) is not None:
                self._attempt(lane, *item, now=now)
                attempts += 1
        return attempts

    def _take(self, lane: _Lane, now: float) -> tuple[int, _Delivery] | None:
        with self._lock:
            item = lane.pop_due(now)
            lane.busy = item is not None
            return item

    def _attempt(
        self, lane: _Lane, seq: int, delivery: _Delivery, now: float | None = None
    ) -> None:
        delivery.attempt += 1
        error: str | None = None
        try:
            lane.channel.send(delivery.notification)
        except DeliveryError as exc:
            error = exc.reason
        except Exception as exc:  # a channel bug must not kill the worker
            logger.exception("notification channel %s crashed", lane.description)
            error = f"{type(exc).__name__} in channel"
        with self._lock:
            lane.busy = False
            record = self._settle(lane, seq, delivery, error, self._clock() if now is None else now)
        self._report(record)

    def _settle(
        self, lane: _Lane, seq: int, delivery: _Delivery, error: str | None, now: float
    ) -> DeliveryRecord:
        note = delivery.notification
        record = DeliveryRecord(
            note.incident_key,
            note.incident_id,
            note.event,
            lane.description,
            ok=error is None,
            attempt=delivery.attempt,
            error=error,
            time=now,
        )
        what = (note.event, note.incident_key, lane.description, delivery.attempt)
        if error is None:
            lane.count(sent=1)
            logger.info("notification %s %s delivered to %s (attempt %d)", *what)
            return record
        if delivery.attempt >= self._retry.max_attempts:
            lane.count(failed=1, given_up=1)
            logger.error(
                "notification %s %s to %s failed (attempt %d): %s; giving up", *what, error
            )
            return replace(record, given_up=True)
        lane.count(failed=1)
        delivery.due = now + self._retry.delay_after(delivery.attempt)
        lane.push(seq, delivery)
        logger.warning(
            "notification %s %s to %s failed (attempt %d): %s; next retry at %s",
            *what,
            error,
            format_time(delivery.due),
        )
        return record

    def _report(self, record: DeliveryRecord) -> None:
        if self._on_result is None:
            return
        try:
            self._on_result(record)
        except Exception:  # history is best effort; delivery goes on
            logger.exception("on_result callback failed for %s", record.channel)

    def stats(self) -> DispatcherStats:
        """Counters per channel description and the total number of waiting deliveries."""
        with self._lock:
            channels = {
                lane.description: replace(lane.stats, pending=len(lane.pending))
                for lane in self._lanes
            }
        return DispatcherStats(channels, sum(s.pending for s in channels.values()))

    def start(self) -> None:
        """Run one daemon worker per channel until stop()."""
        with self._lock:
            if self._threads:
                raise RuntimeError("notification dispatcher already started")
            self._stop_deadline = None
            for lane in self._lanes:
                lane.wakeup = threading.Condition(self._lock)
                thread = threading.Thread(
                    target=self._work, args=(lane,), name=f"notify {lane.description}", daemon=True
                )
                self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def _work(self, lane: _Lane) -> None:
        while (item := self._wait_for_due(lane)) is not None:
            self._attempt(lane, *item)

    def _wait_for_due(self, lane: _Lane) -> tuple[int, _Delivery] | None:
        assert lane.wakeup is not None
        with self._lock:
            while True:
                if self._stop_deadline is not None and time.monotonic() >= self._stop_deadline:
                    return None
                now = self._clock()
                item = lane.pop_due(now)
                if item is not None:
                    lane.busy = True
                    return item
                if self._stop_deadline is not None:
                    return None
                due = lane.next_due()
                wait = _MAX_WAIT_SECONDS if due is None else min(due - now, _MAX_WAIT_SECONDS)
                lane.wakeup.wait(max(wait, 0.0))

    def stop(self, timeout: float = 5.0) -> bool:
        """Deliver what is due within `timeout` seconds, then end the workers.

        False if a worker is still inside a hanging channel: it is left behind as a daemon
        thread and exits when that send returns. Deliveries not made are logged as abandoned.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            # A later stop() never extends an earlier one's deadline.
            self._stop_deadline = min(deadline, self._stop_deadline or deadline)
            for lane in self._lanes:
                if lane.wakeup is not None:
                    lane.wakeup.notify_all()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        finished = not any(thread.is_alive() for thread in self._threads)
        self._log_abandoned()
        if finished:
            self._threads = []
        return finished

    def _log_abandoned(self) -> None:
        with self._lock:
            waiting = {lane.description: len(lane.pending) for lane in self._lanes}
            busy = [lane.description for lane in self._lanes if lane.busy]
        for description, count in waiting.items():
            if count:
                logger.warning(
                    "%d notification(s) to %s not delivered at shutdown", count, description
                )
        for description in busy:
            logger.error("notification channel %s still sending at shutdown", description)

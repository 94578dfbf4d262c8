"""Delivery workers: claim due outbox rows per channel, send, record the outcome.

One thread per channel, so a slow or hanging channel delays only itself; a message is leased
while it is in flight, so it is never sent twice at once. Failures are retried with
exponential backoff from the database, so retries survive restarts; stopping leaves what was
not sent in the outbox for the next start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from collector.notify.attachments import decode_attachments
from collector.notify.channels import Channel, DeliveryError
from collector.notify.message import Notification
from collector.notify.storm import compose_storm
from collector.store.outbox import OutboxRow, OutboxStore
from rules.priority import Priority

log = logging.getLogger(__name__)

CLAIM_BATCH = 5
POLL_SECONDS = 1.0
SETTLE_RETRY_SECONDS = 0.1


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff from first_delay up to max_delay; give up give_up_after seconds
    after the message was decided."""

    first_delay: float = 2.0
    factor: float = 2.0
    max_delay: float = 300.0
    give_up_after: float = 24 * 3600.0

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.max_delay, self.first_delay * self.factor ** (attempt - 1)))

    def retry_at(self, row: OutboxRow, now: float) -> float | None:
        """When to try `row` again, or None to give up."""
        due = now + self.delay_after(row.attempts)
        return due if due - row.created_at <= self.give_up_after else None


def notification_of(row: OutboxRow) -> Notification:
    """The message stored in an outbox row."""
    p = row.payload
    return Notification(
        incident_key=p.get("incident_key", ""),
        incident_id=row.incident_id,
        event=p["event"],
        priority=Priority(p["priority"]),
        host=p.get("host", ""),
        rule=p.get("rule", ""),
        summary=p.get("summary", ""),
        title=p["title"],
        body=p["body"],
        labels=dict(p.get("labels") or {}),
        value=p.get("value"),
        time=float(p.get("time", 0.0)),
        number=p.get("number", ""),
        idempotency_key=row.idempotency_key,
        message_id=p.get("message_id", ""),
        in_reply_to=p.get("in_reply_to"),
        attachments=decode_attachments(p),
    )


class DeliveryWorkers:
    """Sends outbox rows to their channels until stopped."""

    def __init__(
        self,
        store: OutboxStore,
        channels: Sequence[Channel],
        owner: str,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
        send_timeout: float = 30.0,
        storm_threshold: int = 3,
    ) -> None:
        self._store = store
        self._channels = {channel.describe(): channel for channel in channels}
        if len(self._channels) != len(channels):
            raise ValueError("a notification channel is listed twice")
        self._owner = owner
        self._clock = clock
        self._retry = retry or RetryPolicy()
        self._send_timeout = send_timeout
        self._storm_threshold = storm_threshold
        self._wakeup = threading.Condition()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._started = False

    @property
    def channels(self) -> list[str]:
        """The channel descriptions (the outbox's channel keys)."""
        return list(self._channels)

    def start(self) -> None:
        """Take back this owner's old leases, then run one thread per channel."""
        released = self._store.release(self._owner)
        if released:
            log.info("resuming %d message(s) that were in flight at the last stop", released)
        self._started = True
        for name in list(self._channels):
            thread = threading.Thread(
                target=self._run, args=(name,), name=f"deliver {name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def add_channel(self, channel: Channel) -> None:
        """Send through `channel` from now on (a person added or changed through the API); one
        of the same description is replaced, and a new one gets its thread once started."""
        name = channel.describe()
        known = name in self._channels
        self._channels[name] = channel
        if known or not self._started or self._stopping:
            return
        thread = threading.Thread(
            target=self._run, args=(name,), name=f"deliver {name}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next poll."""
        with self._wakeup:
            self._wakeup.notify_all()

    def deliver_due(self) -> int:
        """One pass over every channel in this thread (tests, `--once` tools)."""
        return sum(self._pass(name) for name in list(self._channels))

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the message in flight (bounded); the rest waits in the outbox."""
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        busy = [t.name for t in self._threads if t.is_alive()]
        if busy:
            log.warning("still sending at shutdown (will resume after restart): %s", busy)
        for channel in self._channels.values():
            close = getattr(channel, "close", None)
            if callable(close):
                close()

    def _run(self, name: str) -> None:
        while not self._stopping:
            try:
                sent = self._pass(name)
            except Exception:
                log.exception("delivery to %s failed; retrying in %g s", name, POLL_SECONDS)
                sent = 0
            if sent == 0:
                with self._wakeup:
                    if not self._stopping:
                        self._wakeup.wait(POLL_SECONDS)

    def _lease(self, name: str) -> float:
        """How long a claimed batch of `name` is ours: long enough for every send in it (a
        phone call outlasts an e-mail), so a message in flight is never handed out twice."""
        longest = getattr(self._channels[name], "max_send_seconds", None) or 0.0
        return CLAIM_BATCH * max(self._send_timeout, longest) + 30.0

    def _pass(self, name: str) -> int:
        rows = self._store.claim(name, self._owner, self._clock(), self._lease(name), CLAIM_BATCH)
        done: set[int] = set()
        for row in rows:
            if self._stopping:
                break  # the lease is released at the next start; nothing is lost
            if row.id in done:
                continue
            storm = self._storm_of(name, row, rows, done)
            if len(storm) >= max(self._storm_threshold, 2):
                done.update(r.id for r in storm)
                self._send_storm(name, storm)
                continue
            for single in storm or [row]:  # too few to group: each on its own
                done.add(single.id)
                self._send(name, single)
        return len(rows)

    def _storm_of(
        self, name: str, row: OutboxRow, batch: list[OutboxRow], done: set[int]
    ) -> list[OutboxRow]:
        """`row` and the waiting messages of other incidents in its storm group (one each)."""
        if not row.group_key or not self._storm_threshold:
            return []
        storm: list[OutboxRow] = []
        for other in batch:
            taken = {r.incident_id for r in storm}
            candidate = other.id not in done and other.group_key == row.group_key
            if candidate and other.incident_id not in taken and not _behind(other, batch, done):
                storm.append(other)
        incidents = {r.incident_id for r in storm}
        lease = self._lease(name)
        return storm + self._store.claim_group(row, self._owner, self._clock(), lease, incidents)

    def _send_storm(self, name: str, rows: list[OutboxRow]) -> None:
        """Many hosts' messages of one rule as one message; each row is recorded with it."""
        error: str | None = None
        try:
            self._channels[name].send(compose_storm([notification_of(r) for r in rows]))
        except DeliveryError as exc:
            error = exc.reason
        except Exception as exc:  # a channel bug must not kill the worker
            log.exception("notification channel %s crashed", name)
            error = f"{type(exc).__name__} in channel"
        now = self._clock()
        note = f" (one message for {len(rows)} hosts)"
        for row in rows:
            retry_at = self._retry.retry_at(row, now) if error else None
            self._settle(row, now, error, retry_at, note)
        log.info("%s of %s on %d hosts sent to %s as one message", rows[0].event,
                 rows[0].payload.get("rule", ""), len(rows), name)  # fmt: skip

    def _send(self, name: str, row: OutboxRow) -> None:
        error: str | None = None
        try:
            self._channels[name].send(notification_of(row))
        except DeliveryError as exc:
            error = exc.reason
        except Exception as exc:  # a channel bug must not kill the worker
            log.exception("notification channel %s crashed", name)
            error = f"{type(exc).__name__} in channel"
        now = self._clock()
        retry_at = self._retry.retry_at(row, now) if error else None
        status = self._settle(row, now, error, retry_at)
        if status is None:
            return
        what = (row.event, row.payload.get("number", ""), name, row.attempts)
        if status == "sent":
            log.info("%s of %s delivered to %s (attempt %d)", *what)
        elif status == "pending":
            log.warning("%s of %s to %s failed (attempt %d): %s; retrying", *what, error)
        else:
            log.error("%s of %s to %s failed (attempt %d): %s; giving up", *what, error)

    def _settle(
        self, row: OutboxRow, now: float, error: str | None, retry_at: float | None, note: str = ""
    ) -> str | None:
        """Record the attempt, retrying while the database is away: a message that went out
        but is not recorded as sent would go out again when its lease expires. None if the
        worker stops first (the lease is released at the next start: sent once more at most).
        """
        delay = SETTLE_RETRY_SECONDS
        while True:
            try:
                return self._store.settle(row, self._owner, now, error, retry_at, note)
            except Exception as exc:
                first_line = str(exc).partition("\n")[0][:200]
                reason = f"{type(exc).__name__}: {first_line}"
                if self._stopping:
                    log.error("could not record message %d before stopping: %s", row.id, reason)
                    return None
                log.warning("could not record message %d (%s); retrying", row.id, reason)
            with self._wakeup:
                if not self._stopping:
                    self._wakeup.wait(delay)
            delay = min(2 * delay, POLL_SECONDS)


def _behind(row: OutboxRow, batch: list[OutboxRow], done: set[int]) -> bool:
    """Whether an older message of the same incident in this batch is not sent yet."""
    return any(
        r.incident_id == row.incident_id and r.id < row.id and r.id not in done for r in batch
    )

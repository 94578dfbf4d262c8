"""Reports kept while the collector is unreachable, bounded in bytes, oldest dropped first.

A spool never stops the agent: a spool directory that cannot be written (read-only, full, gone)
makes reports wait in memory instead, with one warning, and every report dropped for want of
room is counted and logged once per episode, not once per report.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)

SUFFIX = ".json.gz"
PARTIAL_SUFFIX = ".tmp"

Writer = Callable[[Path, bytes], None]


def write_file(path: Path, body: bytes) -> None:
    """Write `body` to `path` and flush it to the kernel (the real writer; tests inject others)."""
    with path.open("wb") as file:
        file.write(body)


class Spool(Protocol):
    """A FIFO of encoded report bodies that never grows past its byte budget."""

    @property
    def count(self) -> int:
        """Bodies waiting to be sent."""
        ...

    @property
    def dropped_total(self) -> int:
        """Bodies discarded since start because the budget was exceeded."""
        ...

    def push(self, body: bytes) -> None:
        """Keep a body, dropping the oldest ones if the budget would be exceeded; never raises."""
        ...

    def oldest(self) -> bytes | None:
        """The oldest body, or None when empty."""
        ...

    def pop_oldest(self) -> None:
        """Forget the oldest body (after it was delivered or rejected)."""
        ...


class DropLog:
    """Warns at the first dropped report of an episode; the episode ends when the spool empties."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._warned = False

    def dropped(self, max_bytes: int) -> None:
        """Note one dropped report."""
        if not self._warned:
            self._warned = True
            logger.warning(
                "%s is full (budget %d bytes, max_spool_bytes): dropping the oldest reports; "
                "each is counted in watchkeeper_agent_spool_dropped_reports_total",
                self._where,
                max_bytes,
            )

    def emptied(self) -> None:
        """The spool is empty again: the next drop starts a new episode (and a new warning)."""
        self._warned = False


class MemorySpool:
    """Keeps bodies in memory: lost on restart, used when no spool directory is configured."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bodies: deque[bytes] = deque()
        self._bytes = 0
        self._drops = DropLog("the in-memory spool")
        self.dropped_total = 0

    @property
    def count(self) -> int:
        return len(self._bodies)

    def push(self, body: bytes) -> None:
        self._bodies.append(body)
        self._bytes += len(body)
        while self._bytes > self._max_bytes and self._bodies:
            self._bytes -= len(self._bodies.popleft())
            self.dropped_total += 1
            self._drops.dropped(self._max_bytes)

    def oldest(self) -> bytes | None:
        return self._bodies[0] if self._bodies else None

    def pop_oldest(self) -> None:
        if self._bodies:
            self._bytes -= len(self._bodies.popleft())
        if not self._bodies:
            self._drops.emptied()


class SpoolFiles:
    """One file per body in a directory, listed once at start; raises OSError when it cannot write.

    File names start with a nanosecond timestamp, so name order is age order.
    """

    def __init__(self, directory: Path, writer: Writer = write_file) -> None:
        self._directory = directory
        self._writer = writer
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for partial in directory.glob(f"*{PARTIAL_SUFFIX}"):  # left by a crash mid-write
            partial.unlink(missing_ok=True)
        # Found out now rather than at the first outage: a directory we cannot write to could not
        # forget the reports it already holds either, and would resend them forever.
        self._write(directory / f"write-test{PARTIAL_SUFFIX}", b"")
        (directory / f"write-test{PARTIAL_SUFFIX}").unlink()
        self._files: deque[tuple[Path, int]] = deque(
            (path, path.stat().st_size) for path in sorted(directory.glob(f"*{SUFFIX}"))
        )
        self.bytes = sum(size for _, size in self._files)
        self._counter = 0
        self._unlink_failed = False

    @property
    def count(self) -> int:
        """Files waiting."""
        return len(self._files)

    def append(self, body: bytes) -> None:
        """Store one body, or raise OSError leaving no file behind."""
        self._counter += 1
        path = self._directory / f"{time.time_ns():020d}-{self._counter:06d}{SUFFIX}"
        partial = path.with_suffix(PARTIAL_SUFFIX)
        self._write(partial, body)
        os.replace(partial, path)  # a crash never leaves a half-written report to resend
        self._files.append((path, len(body)))
        self.bytes += len(body)

    def oldest(self) -> bytes | None:
        """The oldest body; an unreadable file is skipped."""
        while self._files:
            try:
                return self._files[0][0].read_bytes()
            except OSError as exc:  # removed behind our back: skip it
                logger.warning("spooled report unreadable, skipped: %s", exc)
                self.remove_oldest()
        return None

    def remove_oldest(self) -> None:
        """Forget the oldest file (and delete it, if the directory still lets us)."""
        path, size = self._files.popleft()
        self.bytes -= size
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            if not self._unlink_failed:  # once: every later removal would fail the same way
                self._unlink_failed = True
                logger.warning(
                    "cannot delete sent reports from %s (%s): they will be sent again "
                    "after an agent restart",
                    self._directory,
                    reason(exc),
                )

    def _write(self, partial: Path, body: bytes) -> None:
        try:
            self._writer(partial, body)
        except OSError:
            # An ENOSPC mid-write leaves an empty or short file: never keep it.
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise


class DirectorySpool:
    """Keeps reports in `directory` so they survive a restart; in memory when it cannot.

    A directory that cannot be created or written at start (read-only, a file in its place)
    makes this a memory spool, with one warning. A write that fails later (disk full) keeps
    that report, and the ones after it, in memory until the collector has taken them all, so
    age order holds: every file is older than every report in memory. The memory part has the
    same byte budget as the directory.
    """

    def __init__(self, directory: Path, max_bytes: int, writer: Writer = write_file) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        self._memory = MemorySpool(max_bytes)
        self._drops = DropLog(f"spool_dir {directory}")
        self._dropped_files = 0
        self._files: SpoolFiles | None = None
        try:
            self._files = SpoolFiles(directory, writer)
        except OSError as exc:
            logger.warning(
                "spool_dir %s cannot be used (%s): reports wait in memory while the collector "
                "is unreachable, and are lost if the agent restarts",
                directory,
                reason(exc),
            )
        self._write_failed = False

    @property
    def count(self) -> int:
        return (self._files.count if self._files else 0) + self._memory.count

    @property
    def dropped_total(self) -> int:
        return self._dropped_files + self._memory.dropped_total

    @property
    def on_disk(self) -> bool:
        """Whether the directory is in use (False: it could not be used at start)."""
        return self._files is not None

    def push(self, body: bytes) -> None:
        files = self._files
        if files is None or self._memory.count:
            self._memory.push(body)
            return
        try:
            files.append(body)
        except OSError as exc:
            self._write_failure(exc)
            self._memory.push(body)
            return
        while files.bytes > self._max_bytes and files.count:
            files.remove_oldest()
            self._dropped_files += 1
            self._drops.dropped(self._max_bytes)

    def oldest(self) -> bytes | None:
        if self._files is not None and self._files.count:
            body = self._files.oldest()
            if body is not None:
                return body
        return self._memory.oldest()

    def pop_oldest(self) -> None:
        if self._files is not None and self._files.count:
            self._files.remove_oldest()
        else:
            self._memory.pop_oldest()
        if self.count == 0:
            self._drops.emptied()
            self._write_failed = False

    def _write_failure(self, exc: OSError) -> None:
        if self._write_failed:
            return
        self._write_failed = True
        logger.warning(
            "cannot write to spool_dir %s (%s): reports wait in memory until the collector "
            "has taken them (lost if the agent restarts meanwhile)",
            self._directory,
            reason(exc),
        )


def reason(exc: OSError) -> str:
    """An OSError in a few words ("No space left on device"), without the path repeated."""
    return exc.strerror or str(exc) or type(exc).__name__

"""Reports kept while the collector is unreachable, bounded in bytes, oldest dropped first."""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from pathlib import Path
from typing import Protocol

logger = logging.getLogger(__name__)

SUFFIX = ".json.gz"


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
        """Keep a body, dropping the oldest ones if the budget would be exceeded."""
        ...

    def oldest(self) -> bytes | None:
        """The oldest body, or None when empty."""
        ...

    def pop_oldest(self) -> None:
        """Forget the oldest body (after it was delivered or rejected)."""
        ...


class MemorySpool:
    """Keeps bodies in memory: lost on restart, used when no spool directory is configured."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._bodies: deque[bytes] = deque()
        self._bytes = 0
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

    def oldest(self) -> bytes | None:
        return self._bodies[0] if self._bodies else None

    def pop_oldest(self) -> None:
        if self._bodies:
            self._bytes -= len(self._bodies.popleft())


class DirectorySpool:
    """Keeps one file per body in a directory, so spooled reports survive an agent restart.

    File names start with a nanosecond timestamp, so name order is age order; the directory is
    listed once at start and tracked in memory afterwards.
    """

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for partial in directory.glob("*.tmp"):  # left by a crash mid-write
            partial.unlink(missing_ok=True)
        self._files: deque[tuple[Path, int]] = deque(
            (path, path.stat().st_size) for path in sorted(directory.glob(f"*{SUFFIX}"))
        )
        self._bytes = sum(size for _, size in self._files)
        self._counter = 0
        self.dropped_total = 0

    @property
    def count(self) -> int:
        return len(self._files)

    def push(self, body: bytes) -> None:
        self._counter += 1
        path = self._directory / f"{time.time_ns():020d}-{self._counter:06d}{SUFFIX}"
        partial = path.with_suffix(".tmp")
        partial.write_bytes(body)
        os.replace(partial, path)  # a crash never leaves a half-written report to resend
        self._files.append((path, len(body)))
        self._bytes += len(body)
        while self._bytes > self._max_bytes and self._files:
            self._remove_oldest()
            self.dropped_total += 1

    def oldest(self) -> bytes | None:
        while self._files:
            try:
                return self._files[0][0].read_bytes()
            except OSError as exc:  # removed behind our back: skip it
                logger.warning("spooled report unreadable, skipped: %s", exc)
                self._remove_oldest()
        return None

    def pop_oldest(self) -> None:
        if self._files:
            self._remove_oldest()

    def _remove_oldest(self) -> None:
        path, size = self._files.popleft()
        self._bytes -= size
        path.unlink(missing_ok=True)

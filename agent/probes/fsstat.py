"""statvfs of every mount under a deadline: a hung mount (a dead NFS server) never blocks a cycle.

One daemon worker thread stats the mounts of a cycle in turn, so a cycle costs one hand-off,
not a thread per mount. If the worker does not finish in time, the mount it is stuck on is
marked hung and skipped, the worker is left behind, and a fresh one stats the mounts after it.
A hung mount is not tried again until its stuck call returns (the left-behind worker clears it).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Statvfs = Callable[[str], os.statvfs_result]


class MountHungError(OSError):
    """statvfs on this mount did not return in time, now or in an earlier cycle."""


@dataclass
class _Job:
    """One cycle's mounts, the outcome of each, and the mount the worker is on."""

    mounts: Sequence[str]
    results: dict[str, os.statvfs_result | OSError] = field(default_factory=dict)
    current: str | None = None
    done: threading.Event = field(default_factory=threading.Event)


class FilesystemStats:
    """statvfs for many mount points, each cycle bounded by `timeout` per hung mount."""

    def __init__(
        self,
        timeout: float,
        statvfs: Statvfs = os.statvfs,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._timeout = timeout
        self._statvfs = statvfs
        self._timer = timer
        self._lock = threading.Lock()
        self._hung: dict[str, float] = {}  # mount point -> when it was found hung
        self._jobs: queue.SimpleQueue[_Job] | None = None

    def stat_all(self, mounts: Sequence[str]) -> dict[str, os.statvfs_result | OSError]:
        """Each mount's statvfs result, its OSError, or MountHungError."""
        results: dict[str, os.statvfs_result | OSError] = {}
        todo = list(mounts)
        while todo:
            todo = [m for m in todo if not self._skip_hung(m, results)]
            if not todo:
                break
            job = self._submit(todo)
            finished = job.done.wait(self._timeout)
            with self._lock:
                if not finished:
                    self._abandon(job)
                results.update(job.results)
            if finished:
                break
            todo = [m for m in todo if m not in results]
        return results

    def _skip_hung(self, mount: str, results: dict[str, os.statvfs_result | OSError]) -> bool:
        with self._lock:
            since = self._hung.get(mount)
        if since is None:
            return False
        waited = self._timer() - since
        results[mount] = MountHungError(
            f"statvfs hung for {waited:.0f} s (dead NFS/CIFS server?); skipped until it returns"
        )
        return True

    def _abandon(self, job: _Job) -> None:
        """Called with the lock held: mark the stuck mount, let a new worker take the rest."""
        stuck = job.current
        if stuck is not None:
            self._hung[stuck] = self._timer()
            job.results[stuck] = MountHungError(
                f"statvfs did not return within {self._timeout:g} s (dead NFS/CIFS server?); "
                "skipped until it returns"
            )
        self._jobs = None

    def _submit(self, mounts: Sequence[str]) -> _Job:
        job = _Job(mounts)
        with self._lock:
            if self._jobs is None:
                self._jobs = queue.SimpleQueue()
                worker = threading.Thread(
                    target=self._work, args=(self._jobs,), name="statvfs", daemon=True
                )
                worker.start()
            self._jobs.put(job)
        return job

    def _work(self, jobs: queue.SimpleQueue[_Job]) -> None:
        while True:
            job = jobs.get()
            for mount in job.mounts:
                with self._lock:
                    job.current = mount
                outcome = self._stat(mount)
                with self._lock:
                    self._hung.pop(mount, None)  # it returned: try it again next cycle
                    if self._jobs is not jobs:  # abandoned while stuck: a new worker took over
                        return
                    job.results[mount] = outcome
            job.done.set()

    def _stat(self, mount: str) -> os.statvfs_result | OSError:
        try:
            return self._statvfs(mount)
        except OSError as exc:
            return exc

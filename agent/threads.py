"""Calls run in daemon threads and awaited with a timeout: a call that hangs is left behind.

Daemon threads, not a ThreadPoolExecutor: a pool's workers are joined at interpreter exit, so
one statvfs stuck on a dead NFS server or one wedged library call would keep the agent from
stopping on SIGTERM.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def start_in_thread(call: Callable[[], T], name: str) -> Future[T]:
    """Run `call` in a new daemon thread; its outcome (value or exception) lands in the future."""
    future: Future[T] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(call())
        except BaseException as exc:  # handed to whoever waits, never lost in the thread
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future

"""One asyncio loop thread and one pysnmp engine for every polled device of the agent.

Each device's probe runs in a runner thread of its own and hands its poll to this loop, so all
devices are polled at once over one engine and one UDP socket, instead of a new event loop and
engine per device per cycle. pysnmp is imported when the loop starts, not before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class SharedEngine:
    """The loop thread (started on first use) and the engine living on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._engine: Any = None
        self._user_locks: dict[str, asyncio.Lock] = {}

    @property
    def engine(self) -> Any:
        """The pysnmp SnmpEngine; only for coroutines running on this loop."""
        if self._engine is None:
            from pysnmp.hlapi.v3arch import asyncio as hlapi

            self._engine = hlapi.SnmpEngine()
        return self._engine

    def user_lock(self, user: str) -> asyncio.Lock:
        """Serialises the polls of one SNMPv3 user name.

        pysnmp keeps one USM entry per user name, so two devices with the same user name and
        different pass phrases would overwrite each other's keys mid-poll.
        """
        return self._user_locks.setdefault(user, asyncio.Lock())

    def run(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float) -> T:
        """Run a coroutine on the loop and wait for it; TimeoutError after `timeout` seconds."""
        future = asyncio.run_coroutine_threadsafe(make(), self._started())
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"SNMP poll not finished within {timeout:g} s") from None

    def close(self, timeout: float = 5.0) -> None:
        """Close the engine's socket and end the loop thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._serve, args=(loop,), name="snmp-engine", daemon=True
                )
                self._loop = loop
                self._thread.start()
            return self._loop

    def _serve(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            if self._engine is not None:
                self._engine.close_dispatcher()
                self._engine = None
            pending = asyncio.all_tasks(loop)
            for task in pending:  # pysnmp's timer task: cancel it rather than leak it
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
            self._user_locks.clear()

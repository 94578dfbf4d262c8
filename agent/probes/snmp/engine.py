"""One asyncio loop thread and one pysnmp engine for every polled device of the agent.

Each device's probe runs in a runner thread of its own and hands its poll to this loop, so all
devices are polled at once over one engine and one UDP socket, instead of a new event loop and
engine per device per cycle. pysnmp is imported when the loop starts, not before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class _UserSlot:
    """Which credentials an SNMPv3 user name is configured with now, and how many polls use it."""

    changed: asyncio.Condition
    credentials: str = ""
    active: int = 0


class SharedEngine:
    """The loop thread (started on first use) and the engine living on it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._engine: Any = None
        self._users: dict[str, _UserSlot] = {}

    @property
    def engine(self) -> Any:
        """The pysnmp SnmpEngine; only for coroutines running on this loop."""
        if self._engine is None:
            from pysnmp.hlapi.v3arch import asyncio as hlapi

            self._engine = hlapi.SnmpEngine()
        return self._engine

    @contextlib.asynccontextmanager
    async def v3_user(self, user: str, credentials: str) -> AsyncIterator[None]:
        """Hold SNMPv3 user `user` with these credentials (a digest) for one poll.

        pysnmp keeps one USM entry per user name, so two devices with the same user name and
        different pass phrases would overwrite each other's keys mid-poll: polls with the same
        credentials run together, a poll with other ones waits until they are done.
        """
        slot = self._users.setdefault(user, _UserSlot(asyncio.Condition()))
        async with slot.changed:
            await slot.changed.wait_for(lambda: not slot.active or slot.credentials == credentials)
            slot.credentials = credentials
            slot.active += 1
        try:
            yield
        finally:
            async with slot.changed:
                slot.active -= 1
                slot.changed.notify_all()

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
            self._users.clear()

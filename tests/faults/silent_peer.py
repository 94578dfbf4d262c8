"""A peer that is "up" but never answers: it accepts connections on a given port and says nothing.

A sender talking to it is stuck mid-send (connected, lease held, nothing delivered) until its
timeout; closing it resets every connection, so the real peer can take the port over.
"""

from __future__ import annotations

import socket
import struct
import threading
import time


class SilentPeer:
    """Accepts TCP connections on 127.0.0.1:`port` in a thread and never reads or writes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self._accepted: list[socket.socket] = []
        self._changed = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._closing:
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._changed:
                self._accepted.append(connection)
                self._changed.notify_all()

    def wait_for_connection(self, timeout: float) -> None:
        """Return once a client has connected; TimeoutError if none did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self._accepted:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"nobody connected to port {self.port} in {timeout:g} s")
                self._changed.wait(left)

    def close(self) -> None:
        """Stop listening and drop every connection (with a reset, not a polite close)."""
        self._closing = True
        self._thread.join(5)
        self._listener.close()
        with self._changed:
            for connection in self._accepted:
                # SO_LINGER 0: RST instead of FIN, so the port has no TIME_WAIT left behind.
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                connection.close()
            self._accepted.clear()

    def __enter__(self) -> SilentPeer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

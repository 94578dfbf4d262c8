"""A real HTTP server on 127.0.0.1 that records every request and can be told to fail."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class SinkRequest:
    """One request as received (header names lower-cased); `status` is what the sink answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class HttpSink:
    """ThreadingHTTPServer on 127.0.0.1:<free port> in a thread; answers 200 unless told.

    `delay` seconds pass between a request's arrival (when it is recorded) and the answer.
    `port` binds a given port (e.g. one a collector was told about while the sink was down).
    """

    def __init__(self, delay: float = 0.0, port: int = 0) -> None:
        self.delay = delay
        self._requests: list[SinkRequest] = []
        self._failures: list[int] = []
        self._arrived = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> HttpSink:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def url(self, path: str = "/hook", scheme: str = "http") -> str:
        """`scheme`://127.0.0.1:port`path`, e.g. json://127.0.0.1:PORT/hook for Apprise."""
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer `status` to the next `count` requests."""
        with self._arrived:
            self._failures.extend([status] * count)

    @property
    def requests(self) -> list[SinkRequest]:
        """Every request so far, oldest first, failed ones included."""
        with self._arrived:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[SinkRequest]:
        """The first `count` requests; TimeoutError saying how many came if they do not."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"HTTP sink got {len(self._requests)} of {count} requests "
                        f"within {timeout:g} s"
                    )
                self._arrived.wait(left)
            return list(self._requests[:count])

    def _record(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._arrived:
            status = self._failures.pop(0) if self._failures else 200
            self._requests.append(SinkRequest(method, path, headers, body, status))
            self._arrived.notify_all()
            return status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = sink._record(self.command, self.path, headers, body)
                if sink.delay > 0:
                    time.sleep(sink.delay)  # a slow endpoint: recorded now, answered later
                payload = b'{"ok": true}' if status < 400 else b'{"error": "told to fail"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_GET = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: tests assert on requests, not on access logs

        return Handler

"""A real HTTP server on 127.0.0.1 standing in for the collector: records and scripts answers."""

from __future__ import annotations

import gzip
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from agent.report import Report, decode_report


@dataclass(frozen=True)
class Received:
    """One request as it arrived (header names lower-cased)."""

    path: str
    headers: dict[str, str]
    body: bytes

    def report(self) -> Report:
        """The gzip body decoded and validated as a report."""
        return decode_report(gzip.decompress(self.body))


class CollectorStub:
    """Answers 204 unless `answers` holds scripted (status, body) pairs, used in order."""

    def __init__(self, port: int = 0, delay_seconds: float = 0.0) -> None:
        self.received: list[Received] = []
        self.answers: deque[tuple[int, str] | tuple[int, str, dict[str, str]]] = deque()
        self._delay = delay_seconds
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def sequences(self) -> list[int]:
        """Sequence numbers of the reports received, in arrival order."""
        return [r.report().sequence for r in self.received]

    def stop(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if stub._delay:
                    time.sleep(stub._delay)
                headers = {k.lower(): v for k, v in self.headers.items()}
                stub.received.append(Received(self.path, headers, body))
                status, text, *extra = stub.answers.popleft() if stub.answers else (204, "")
                payload = text.encode()
                try:
                    self.send_response(status)
                    for name, value in (extra[0] if extra else {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up waiting (timeout tests): expected
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

"""A tiny HTTP CONNECT proxy on 127.0.0.1 for tests: relays bytes, records the tunnels asked for."""

from __future__ import annotations

import contextlib
import socket
import threading


class ConnectProxy:
    """Accepts CONNECT host:port, answers 200 and relays both ways; `tunnels` lists targets."""

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        """Stop accepting (open tunnels end when their peers close)."""
        self._server.close()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        target = head.split(b" ")[1].decode()
        self.tunnels.append(target)
        host, _, port = target.rpartition(":")
        upstream = socket.create_connection((host, int(port)), 5)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_relay, args=(source, sink), daemon=True).start()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

"""The agent's one kept HTTP connection: reused while the collector keeps it, opened afresh when
the collector closed it while idle, through an HTTP proxy from the environment, no_proxy."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from agent.connection import CollectorConnection, ConnectError, proxy_for, read_answer
from tests.agent.collector_stub import CollectorStub
from tests.peers import free_port

ANSWER = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


class IdleClosingServer:
    """Answers each connection's requests with 204, keep-alive, and closes it after `per` of
    them without a word (as a collector's idle timeout does); counts connections."""

    def __init__(self, per: int) -> None:
        self.connections = 0
        self._per = per
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            with client:
                for _ in range(self._per):
                    if not self._answer_one(client):
                        break

    @staticmethod
    def _answer_one(client: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = client.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(
            next(
                (
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                b"0",
            )
        )
        while len(rest) < length:
            rest += client.recv(65536)
        client.sendall(ANSWER)
        return True

    def close(self) -> None:
        self._socket.close()


@pytest.fixture
def idle_closing() -> Iterator[IdleClosingServer]:
    server = IdleClosingServer(per=2)
    yield server
    server.close()


def test_the_connection_is_kept_and_reopened_when_the_collector_closed_it(
    idle_closing: IdleClosingServer,
) -> None:
    connection = CollectorConnection(f"http://127.0.0.1:{idle_closing.port}/r", 2.0, environ={})
    statuses = [connection.post(b"x", {}).status for _ in range(5)]
    connection.close()
    assert statuses == [204] * 5, "a stale kept connection is retried once, on a fresh one"
    assert idle_closing.connections == 3, "two posts per connection, as the server allows"


def test_nobody_listening_is_a_connect_error() -> None:
    connection = CollectorConnection(f"http://127.0.0.1:{free_port()}/r", 2.0, environ={})
    with pytest.raises(ConnectError) as caught:
        connection.post(b"x", {})
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


def test_an_http_proxy_from_the_environment_gets_the_absolute_url() -> None:
    proxy = CollectorStub()
    try:
        environ = {"HTTP_PROXY": f"127.0.0.1:{proxy.port}"}
        connection = CollectorConnection(
            "http://collector.example:9810/api/v1/reports", 2.0, environ=environ
        )
        assert connection.post(b"x", {"Content-Type": "application/json"}).status == 204
    finally:
        proxy.stop()
    assert [r.path for r in proxy.received] == ["http://collector.example:9810/api/v1/reports"]


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"https_proxy": "http://proxy:3128"}, "http://proxy:3128"),
        ({"HTTPS_PROXY": "proxy:3128"}, "http://proxy:3128"),
        ({"https_proxy": "http://proxy:3128", "no_proxy": "example.net"}, None),
        ({"https_proxy": "http://proxy:3128", "no_proxy": ".example.net"}, None),
        ({"https_proxy": "http://proxy:3128", "NO_PROXY": "*"}, None),
        ({"https_proxy": "http://proxy:3128", "no_proxy": "other.net"}, "http://proxy:3128"),
        ({"http_proxy": "http://proxy:3128"}, None),
    ],
    ids=["none", "lower", "upper-no-scheme", "no-proxy", "no-proxy-dot", "no-proxy-star",
         "no-proxy-other", "other-scheme"],
)  # fmt: skip
def test_proxy_for(environ: dict[str, str], expected: str | None) -> None:
    assert proxy_for("https://collector.example.net:9810/api/v1/reports", environ) == expected


@pytest.mark.parametrize(
    ("raw", "text", "keep"),
    [
        (b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}", "{}", True),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", "", True),
        (
            b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            "abcde",
            True,
        ),
        (b"HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy", "busy", False),
        (b"HTTP/1.0 200 OK\r\n\r\nuntil the end", "until the end", False),
    ],
    ids=["length", "continue", "chunked", "close", "http10-to-eof"],
)  # fmt: skip
def test_answers_are_read_whole(raw: bytes, text: str, keep: bool) -> None:
    answer, kept = read_answer(io.BytesIO(raw))
    assert (answer.text, kept) == (text, keep)


def test_garbage_is_not_an_answer() -> None:
    with pytest.raises(ValueError, match="not an HTTP answer"):
        read_answer(io.BytesIO(b"SSH-2.0-OpenSSH_9.2\r\n"))
    with pytest.raises(ConnectionResetError, match="closed without an answer"):
        read_answer(io.BytesIO(b""))


def test_sending_over_http_loads_no_http_library_nor_ssl() -> None:
    """Memory: requests/urllib3 ~9 MiB, ssl ~4 MiB, hashlib ~3.7 MiB; none is needed here."""
    code = (
        "import sys\n"
        "from agent.transport import ReportSender\n"
        "from agent.spool import DirectorySpool\n"
        "from agent.identity import load_identity\n"
        "from agent.report import SCHEMA_V1, Report\n"
        "import tempfile, pathlib\n"
        "d = pathlib.Path(tempfile.mkdtemp())\n"
        "load_identity(d / 'state', '').next_sequence()\n"
        "sender = ReportSender('http://127.0.0.1:9', 't', DirectorySpool(d / 'spool', 1 << 20))\n"
        "sender.send(Report(SCHEMA_V1, 'web1', 1.0, 1, 't', 10.0))\n"
        "loaded = {'requests', 'urllib3', 'http', 'ssl', 'hashlib', 'email'} & set(sys.modules)\n"
        "print(', '.join(sorted(loaded)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout.strip()) == (0, ""), done.stderr

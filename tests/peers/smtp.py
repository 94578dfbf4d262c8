"""A real SMTP server on 127.0.0.1 (aiosmtpd in this process) that keeps every message it gets."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.peers import free_port, require_tool


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the server received it: envelope plus parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    login: str | None
    tls: bool = False

    @property
    def subject(self) -> str:
        """The decoded Subject header."""
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        """The text/plain part (or the only part), decoded."""
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self._server.delay > 0:
            await asyncio.sleep(self._server.delay)  # a slow server: kept when it answers 250
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        login = session.auth_data.login.decode() if session.auth_data else None
        tls = server.transport.get_extra_info("ssl_object") is not None
        self._server._received(
            ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message, login, tls)
        )
        return "250 OK"


class _CountingController(Controller):
    """A Controller that counts the SMTP sessions it creates (one per client connection)."""

    def __init__(self, on_connection: Callable[[], None], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_connection = on_connection

    def factory(self) -> SMTP:
        self._on_connection()
        server: SMTP = super().factory()  # type: ignore[no-untyped-call]
        return server


class SmtpServer:
    """aiosmtpd Controller on 127.0.0.1:<free port>; `credentials` turns on AUTH.

    `tls` (see `self_signed_tls`) makes it require STARTTLS, or speak TLS from the first byte
    with `implicit_tls`. After `idle_timeout` seconds of client silence it says "421" and hangs
    up, as real servers do. `delay` seconds pass between the end of a message's DATA and the
    "250" (the message is kept then): a slow server. `connections` counts client connections
    (the Controller's own readiness probe excluded); `restart()` stops the server, dropping
    every client, and starts it again on the same port.
    """

    def __init__(
        self,
        credentials: dict[str, str] | None = None,
        *,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        idle_timeout: float = 300.0,
        delay: float = 0.0,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.delay = delay
        self._credentials = credentials
        self._tls = tls
        self._implicit_tls = implicit_tls
        self._idle_timeout = idle_timeout
        self._messages: list[ReceivedMail] = []
        self._arrived = threading.Condition()
        self._connections = 0
        self._controller = self._new_controller()

    def _new_controller(self) -> Controller:
        options: dict[str, Any] = {"timeout": self._idle_timeout}
        if self._credentials is not None:
            options |= {"authenticator": self._authenticate, "auth_require_tls": False}
        if self._tls is not None and self._implicit_tls:
            options["ssl_context"] = self._tls
        elif self._tls is not None:
            options |= {"tls_context": self._tls, "require_starttls": True}
        return _CountingController(
            self._connected, _Handler(self), hostname=self.host, port=self.port, **options
        )

    def __enter__(self) -> SmtpServer:
        self._start()
        return self

    def __exit__(self, *_: object) -> None:
        self._controller.stop()

    def _start(self) -> None:
        # start() returns once the server has answered its own probe connection: not a client.
        self._controller.start()
        with self._arrived:
            self._connections -= 1

    def restart(self) -> None:
        """Stop (closing every client connection) and start again on the same port."""
        self._controller.stop()
        self._controller = self._new_controller()
        self._start()

    @property
    def connections(self) -> int:
        """Client connections accepted so far, across restarts."""
        with self._arrived:
            return self._connections

    def _connected(self) -> None:
        with self._arrived:
            self._connections += 1

    def url(self, to: str = "ops@example.test", sender: str = "watchkeeper@example.test") -> str:
        """An Apprise mailto:// URL for this server, with the login if AUTH is on.

        With TLS it is mailtos:// with the mode and verify=no (the certificate is self-signed).
        """
        userinfo = ""
        if self._credentials:
            user, password = next(iter(self._credentials.items()))
            userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}@"
        query = f"from={sender}&to={to}"
        if self._tls is None:
            return f"mailto://{userinfo}{self.host}:{self.port}?{query}"
        mode = "ssl" if self._implicit_tls else "starttls"
        return f"mailtos://{userinfo}{self.host}:{self.port}?{query}&mode={mode}&verify=no"

    @property
    def messages(self) -> list[ReceivedMail]:
        """Every message received so far, oldest first."""
        with self._arrived:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        """The first `count` messages; TimeoutError saying how many came if they do not."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"SMTP server got {len(self._messages)} of {count} messages "
                        f"within {timeout:g} s"
                    )
                self._arrived.wait(left)
            return list(self._messages[:count])

    def _received(self, mail: ReceivedMail) -> None:
        with self._arrived:
            self._messages.append(mail)
            self._arrived.notify_all()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and self._credentials is not None:
            login, password = auth_data.login.decode(), auth_data.password.decode()
            if self._credentials.get(login) == password:
                return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


class SilentSmtpServer:
    """A TCP listener on 127.0.0.1 that accepts connections and never says a word."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port = int(self._socket.getsockname()[1])

    def __enter__(self) -> SilentSmtpServer:
        return self

    def __exit__(self, *_: object) -> None:
        # Closing the listener resets queued connections, so hung clients fail at once.
        self._socket.close()

    def url(self, to: str = "ops@example.test", sender: str = "watchkeeper@example.test") -> str:
        """An Apprise mailto:// URL pointing at the silence."""
        return f"mailto://127.0.0.1:{self.port}?from={sender}&to={to}"


def self_signed_tls(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (openssl)."""
    openssl = require_tool("openssl", "openssl")
    key, cert = directory / "smtp.key", directory / "smtp.crt"
    request = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [*request, *subject, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context

"""Talking to a Redfish service: JSON GETs over HTTPS with bounded waits, errors in plain words.

`HttpSession` is the real one (requests, already the agent's HTTP client); `MockupSession`
serves a DMTF mockup directory and is what tests and dry runs inject instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import requests

Resource = dict[str, Any]


class RedfishError(Exception):
    """One resource could not be read (HTTP error, not JSON); the message has no secrets."""


class RedfishUnreachableError(RedfishError):
    """The BMC did not answer, refused the login, or its certificate is not trusted."""


class RedfishSession(Protocol):
    """What the probe needs from a Redfish service; tests pass their own."""

    def get(self, path: str) -> Resource:
        """The JSON resource at `path` ("/redfish/v1/Systems"); raise RedfishError."""
        ...

    def close(self) -> None: ...


class HttpSession:
    """One keep-alive HTTP session to a BMC, with basic auth (no Redfish session to leak).

    Basic auth rather than a SessionService login: a monitor that dies or times out between
    login and logout would leave a session behind each time, and BMCs allow only a handful.
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: Callable[[], str],
        *,
        verify: bool | str,
        request_timeout: float,
        password_source: str = "`password_file`",
    ) -> None:
        self._base = base_url.rstrip("/")
        self._password_source = password_source  # advice names what was configured
        self._username = username
        self._password = password
        self._verify = verify
        self._timeout = request_timeout
        self._http: requests.Session | None = None

    def _session(self) -> requests.Session:
        if self._http is None:
            http = requests.Session()
            http.headers.update({"Accept": "application/json", "OData-Version": "4.0"})
            http.verify = self._verify
            http.trust_env = False  # a proxy from the environment has no business with a BMC
            if self._username:
                http.auth = (self._username, self._password())
            self._http = http
        return self._http

    def get(self, path: str) -> Resource:
        try:
            response = self._session().get(self._base + path, timeout=self._timeout)
        except requests.exceptions.SSLError as exc:
            raise RedfishUnreachableError(_tls_advice(exc, self._verify)) from exc
        except requests.exceptions.Timeout as exc:
            raise RedfishUnreachableError(
                f"no answer within {self._timeout:g} s to GET {path} (request_timeout)"
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise RedfishUnreachableError(f"cannot connect: {_root_cause(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            raise RedfishError(f"GET {path}: {_root_cause(exc)}") from exc
        if response.status_code in (401, 403):
            self.close()  # log in afresh next time: the password file may have been rotated
            raise RedfishUnreachableError(
                f"login refused (HTTP {response.status_code}) for user {self._username!r}: "
                f"check `username` and the password in {self._password_source}"
            )
        if not 200 <= response.status_code < 300:
            raise RedfishError(f"GET {path}: HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError as exc:
            raise RedfishError(f"GET {path}: the answer is not JSON") from exc
        if not isinstance(document, dict):
            raise RedfishError(f"GET {path}: expected a JSON object")
        return document

    def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.close()


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or (exc.args and isinstance(exc.args[0], BaseException)):
        exc = exc.__cause__ or exc.args[0]
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None)
    return str(reason or exc or type(exc).__name__)


def _tls_advice(exc: BaseException, verify: bool | str) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        where = f"the CA in {verify}" if isinstance(verify, str) else "the system's trusted CAs"
        return (
            f"TLS certificate not trusted by {where}: set `ca_file` to the CA that signed the "
            "BMC's certificate (or, in a lab only, verify_tls: false)"
        )
    return f"TLS handshake failed: {_root_cause(exc)}"


class MockupSession:
    """A DMTF mockup directory (`<path>/index.json` per resource) as a Redfish service."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def get(self, path: str) -> Resource:
        relative = path.removeprefix("/redfish/v1").strip("/")  # a query is no file: 404
        file = self._root / relative / "index.json"
        try:
            document: Resource = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise RedfishError(f"GET {path}: HTTP 404 (no {file})") from exc
        return document

    def close(self) -> None:
        return None

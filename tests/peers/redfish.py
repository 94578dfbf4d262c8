"""Redfish peers: sushy-tools' emulators on a free 127.0.0.1 port, and a BMC that never answers.

    root = mockup_copy(tmp_path)                     # DMTF public-rackmount1 + our Storage
    edit_resource(root, "Chassis/1U/Power", set_power_supply_health("Critical"))
    with running_sushy_static(root) as url:          # http://127.0.0.1:PORT
        ... RedfishProbe against url ...

sushy-tools is a Python package (the `test` extra), so its programs sit beside the venv's
python rather than on PATH. `running_sushy_emulator` runs the full emulator (fake driver) with
an htpasswd-style file of bcrypt hashes: the one sushy-tools peer that checks credentials.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import OWN_FIXTURES
from tests.peers import free_port, peer_unavailable, stop_process, wait_until

MOCKUP = OWN_FIXTURES / "redfish" / "public-rackmount1"
STORAGE_OVERLAY = OWN_FIXTURES / "redfish" / "storage-overlay"
SYSTEM = "Systems/437XR1138R2"
Resource = dict[str, Any]


def require_sushy(program: str) -> str:
    """Path of a sushy-tools program; skip (fail in CI) with how to install it."""
    path = Path(sys.executable).parent / program
    found = str(path) if path.exists() else shutil.which(program)
    if found is None:
        peer_unavailable(f"{program} not installed (pip install sushy-tools, in the `test` extra)")
    return found


def mockup_copy(directory: Path, storage: bool = True) -> Path:
    """A writable copy of the mockup, with our Storage resource linked from the system.

    The mockup's system log points `@odata.nextLink` at a page it does not contain (and no
    static server can serve a query string); the copy drops that link.
    """
    root = directory / "mockup"
    shutil.copytree(MOCKUP, root)
    edit_resource(root, f"{SYSTEM}/LogServices/Log1/Entries", lambda r: r.pop("@odata.nextLink"))
    if storage:
        shutil.copytree(STORAGE_OVERLAY, root, dirs_exist_ok=True)
        link = {"@odata.id": f"/redfish/v1/{SYSTEM}/Storage"}
        edit_resource(root, SYSTEM, lambda r: r.update(Storage=link))
    return root


def edit_resource(root: Path, path: str, change: Callable[[Resource], object]) -> None:
    """Change one resource of a mockup directory in place."""
    file = root / path / "index.json"
    resource = json.loads(file.read_text())
    change(resource)
    file.write_text(json.dumps(resource, indent=1))


def set_status(resource: Resource, health: str, state: str = "Enabled") -> None:
    """Status.Health and State of one resource (or array member)."""
    resource["Status"] = {"State": state, "Health": health}


def _wait_for(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}: {log.read_text()[-500:]}")
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=1):
            return True

    try:
        wait_until(answers, 15, url)
    except (RuntimeError, TimeoutError) as exc:
        stop_process(process)
        peer_unavailable(f"sushy-tools emulator did not start on {url}: {exc}")


@contextmanager
def running_sushy_static(
    mockup: Path, certificate: tuple[Path, Path] | None = None
) -> Iterator[str]:
    """`sushy-static` serving `mockup` on 127.0.0.1; yields its base URL."""
    binary = require_sushy("sushy-static")
    port = free_port()
    argv = [binary, "-i", "127.0.0.1", "-p", str(port), "-m", str(mockup)]
    scheme = "http"
    if certificate is not None:
        argv += ["-c", str(certificate[0]), "-k", str(certificate[1])]
        scheme = "https"
    log = mockup.parent / "sushy-static.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=out)
    url = f"{scheme}://127.0.0.1:{port}"
    _wait_for(process, url, log)
    try:
        yield url
    finally:
        stop_process(process)


def write_htpasswd(path: Path, username: str, password: str) -> None:
    """An Apache-style user file with a bcrypt hash, as sushy-emulator reads it."""
    import bcrypt  # a sushy-tools dependency

    digest = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"{username}:{digest}\n")


@contextmanager
def running_sushy_emulator(directory: Path, username: str, password: str) -> Iterator[str]:
    """`sushy-emulator` (fake driver) requiring basic auth as `username`; yields its URL."""
    binary = require_sushy("sushy-emulator")
    users = directory / "htpasswd"
    write_htpasswd(users, username, password)
    config = directory / "emulator.conf"
    config.write_text(
        "SUSHY_EMULATOR_LISTEN_IP = '127.0.0.1'\n"
        "SUSHY_EMULATOR_FAKE_DRIVER = True\n"
        f"SUSHY_EMULATOR_AUTH_FILE = {str(users)!r}\n"
        f"SUSHY_EMULATOR_STATE_DIR = {str(directory / 'state')!r}\n"
    )
    port = free_port()
    log = directory / "sushy-emulator.log"
    with log.open("wb") as out:
        argv = [binary, "--config", str(config), "--port", str(port)]
        process = subprocess.Popen(argv, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    _wait_for(process, url, log)
    try:
        yield url
    finally:
        stop_process(process)


@contextmanager
def silent_bmc() -> Iterator[str]:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word; yields its URL."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, name="silent BMC", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        server.close()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself (it is its own CA), and its key."""
    from tests.peers.certs import self_signed  # imports cryptography: only the TLS tests need it

    issued = self_signed(directory, datetime.now(UTC) + timedelta(days=1), "test BMC")
    ssl.create_default_context(cafile=str(issued.cert))  # fails here, not in the test, if bad
    return issued.cert, issued.key

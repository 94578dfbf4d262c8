"""Starting and stopping the real peers tests talk to (snmpd, ipmi_sim, SMTP, HTTP sinks...).

Every peer binds 127.0.0.1 only, is bounded in time, and is stopped by the PID we started.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any, NoReturn

import pytest

REQUIRE_PEERS = os.environ.get("WATCHKEEPER_REQUIRE_PEERS") == "1"


def require_tool(name: str, package: str) -> str:
    """Path of a peer program; skip with the reason locally, fail in CI where it must exist."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        peer_unavailable(f"{name} not installed (Debian package {package}; .ci/run installs it)")
    return path


def promtool_problems(exposition: str) -> str:
    """promtool's complaints about a /metrics page ("" when it passes, lint included: promtool
    prints lint findings on stdout and exits 3, and they count as failures)."""
    checked = subprocess.run(
        [require_tool("promtool", "prometheus"), "check", "metrics"],
        input=exposition,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return "" if checked.returncode == 0 else (checked.stdout + checked.stderr).strip()


def peer_unavailable(message: str) -> NoReturn:
    """Skip the test saying what is missing; fail it in CI, where every peer is installed."""
    if REQUIRE_PEERS:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> None:
    """Poll `check` until true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(step)
    raise TimeoutError(f"{what} not ready within {timeout:g} s")


def stop_process(process: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """Stop a peer we started: SIGTERM, and SIGKILL when it has not gone within `timeout`."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)

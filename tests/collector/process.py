"""A real `watchkeeper collector` process on a loopback port, for tests that need the whole
server (uvicorn options, TLS, signals) and not only the app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.peers import free_port, wait_until

WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")
ADMIN_PASSWORD = "process admin password"


@dataclass
class CollectorProcess:
    """The process, its port and its log file."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    scheme: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def reload(self) -> None:
        """SIGHUP: load the TLS certificate again."""
        self.process.send_signal(signal.SIGHUP)


@contextmanager
def collector_process(
    folder: Path, settings: str, verify: str | bool = True, client: tuple[str, str] | None = None
) -> Iterator[CollectorProcess]:
    """Run a collector with these extra YAML `settings` until the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = folder / "collector.yaml"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        f"database: sqlite:///{folder / 'wk.db'}\n"
        "builtin_rules: false\n" + settings
    )
    log = folder / "collector.log"
    environ = {**os.environ, "WATCHKEEPER_ADMIN_PASSWORD": ADMIN_PASSWORD}
    process = subprocess.Popen(
        [WATCHKEEPER, "collector", "--config", str(config)],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=environ,
    )
    running = CollectorProcess(process, port, log, "https" if "tls:" in settings else "http")

    def healthy() -> bool:
        try:
            return requests.get(
                f"{running.url}/-/healthy", timeout=2, verify=verify, cert=client
            ).ok
        except requests.exceptions.SSLError:
            return False

    try:
        wait_until(healthy, 30, f"collector (log: {log})")
        yield running
    finally:
        process.terminate()
        process.wait(15)
